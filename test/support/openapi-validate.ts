/**
 * Validates a document with @seriousme/openapi-schema-validator (an ES module, which jest's
 * CommonJS runtime cannot load) in a plain Node process.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const SCRIPT = `
import { Validator } from '@seriousme/openapi-schema-validator';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
process.stdout.write(JSON.stringify({ valid: result.valid, errors: result.errors ?? null, version: validator.version }));
`;

export function validateOpenApi(doc: unknown): { valid: boolean; errors: unknown; version: string } {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: path.resolve(__dirname, '../..'), input: JSON.stringify(doc), encoding: 'utf8' });
  return JSON.parse(out) as { valid: boolean; errors: unknown; version: string };
}
