/**
 * The bundled prompts: the repository's `prompts/<assistant>/<name>.md`, shipped in every image
 * (`npm run build:images` copies the folder next to each bundle). The folder is
 * `STORY42_PROMPTS_DIR` when set, else the first `prompts/` found from this module's location
 * upward (src/platform/ in the repository; the image folder in a bundle). Each file is read once
 * and kept in memory; its version is `bundled:` + the first 12 hex digits of its SHA-256.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodePromptBytes } from '../core/prompt-catalogue';
import { PROMPT_MAX_BYTES, PROMPT_NAME_PATTERN } from '../core/prompt-store';
import type { BundledPrompt, BundledPromptReader } from '../core/prompt-service';

/** Set by the image bundles' banner (scripts/build-images.ts): the bundle's folder. */
declare const __story42BundleDir: string | undefined;

function moduleDir(): string {
  return typeof __story42BundleDir === 'string' ? __story42BundleDir : __dirname;
}

/** The first `prompts/` folder from `start` upward, or undefined. */
export function findPromptsDir(start: string = moduleDir()): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'prompts');
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function bundledVersion(bytes: Uint8Array): string {
  return `bundled:${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;
}

export class BundledPrompts implements BundledPromptReader {
  private readonly files = new Map<string, BundledPrompt | null>();

  /** `dir`: the prompts folder (absent: none was found; every `get` is then undefined). */
  constructor(readonly dir: string | undefined) {}

  static fromEnvironment(configured: string | undefined): BundledPrompts {
    return new BundledPrompts(configured ? path.resolve(configured) : findPromptsDir());
  }

  get(assistant: string, name: string): BundledPrompt | undefined {
    if (!PROMPT_NAME_PATTERN.test(assistant) || !PROMPT_NAME_PATTERN.test(name)) return undefined;
    const id = `${assistant}/${name}`;
    const known = this.files.get(id);
    if (known !== undefined) return known ?? undefined;
    const loaded = this.load(assistant, name);
    this.files.set(id, loaded ?? null);
    return loaded;
  }

  private load(assistant: string, name: string): BundledPrompt | undefined {
    if (!this.dir) return undefined;
    const file = path.join(this.dir, assistant, `${name}.md`);
    if (!existsSync(file)) return undefined;
    const bytes = readFileSync(file);
    if (bytes.length > PROMPT_MAX_BYTES) throw new Error(`bundled prompt ${assistant}/${name} is ${bytes.length} bytes; at most ${PROMPT_MAX_BYTES}`);
    const decoded = decodePromptBytes(bytes);
    if ('problem' in decoded) throw new Error(`bundled prompt ${assistant}/${name}: ${decoded.problem}`);
    return { text: decoded.text, version: bundledVersion(bytes) };
  }

  list(): Array<{ assistant: string; name: string }> {
    if (!this.dir) return [];
    const out: Array<{ assistant: string; name: string }> = [];
    for (const assistant of readdirSync(this.dir).sort()) {
      if (!PROMPT_NAME_PATTERN.test(assistant) || !statSync(path.join(this.dir, assistant)).isDirectory()) continue;
      for (const file of readdirSync(path.join(this.dir, assistant)).sort()) {
        const name = file.endsWith('.md') ? file.slice(0, -3) : '';
        if (PROMPT_NAME_PATTERN.test(name)) out.push({ assistant, name });
      }
    }
    return out;
  }
}
