import path from 'node:path';
import type { LocalUser } from '../../src/local/services';

export const OTHER_USER: LocalUser = { email: 'other@story42.local', password: 'Other-Story42!', groups: ['user'] };
/** Where the global setup tells the workers about its servers: one file per jest run, so runs side by side never mix. */
export const stateFile = (): string => process.env.STORY42_TEST_STATE ?? path.resolve(__dirname, `../../.tmp/test-services-${process.pid}.json`);
