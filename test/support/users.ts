import path from 'node:path';
import type { LocalUser } from '../../src/local/services';

export const OTHER_USER: LocalUser = { email: 'other@story42.local', password: 'Other-Story42!', groups: ['user'] };
export const STATE_FILE = path.resolve(__dirname, '../../.tmp/test-services.json');
