/**
 * The Lambda bundles as they were before production-lean bundles, rebuilt for comparison by
 * `npm run bench`: every provider and both offline engines in one CommonJS file per Lambda.
 */
import { LAMBDA_NAMES, type LambdaName } from '../src/core/routes';
import { lambdaHandler } from '../src/lambda/adapter';
import { createLocalPlatform } from '../src/local/providers';
import { loadConfig } from '../src/platform/config';
import type { Platform } from '../src/platform/platform';

let platform: Platform | undefined;
const lambda = (process.env.BENCH_LAMBDA ?? 'data-ops') as LambdaName;
if (!LAMBDA_NAMES.includes(lambda)) throw new Error(`BENCH_LAMBDA must be one of ${LAMBDA_NAMES.join(', ')}`);
export const handler = lambdaHandler(lambda, () => (platform ??= createLocalPlatform(loadConfig(process.env), { service: `story42-${lambda}` })));
