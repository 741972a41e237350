/**
 * The argument contract of every script: `-h`/`--help` prints the usage on stdout (exit 0); an
 * unknown option or a positional argument beyond `maxPositionals` prints it on stderr (exit 2).
 */
import { parseArgs } from 'node:util';

/** The positional arguments, or `undefined` when the script must stop (help shown, or misuse; `process.exitCode` is set). */
export function scriptArgs(usage: string, maxPositionals = 0, argv = process.argv.slice(2)): string[] | undefined {
  let parsed: ReturnType<typeof parseArgs<{ options: { help: { type: 'boolean'; short: 'h' } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    process.exitCode = 2;
    return undefined;
  }
  if (parsed.values.help) {
    process.stdout.write(usage);
    return undefined;
  }
  if (parsed.positionals.length > maxPositionals) {
    process.stderr.write(`unexpected argument "${parsed.positionals[maxPositionals]}"\n\n${usage}`);
    process.exitCode = 2;
    return undefined;
  }
  return parsed.positionals;
}
