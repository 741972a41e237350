/**
 * The prompt files and their catalogue: every bundled prompt renders with sample values, every
 * placeholder of every file is known to its prompt and every known one is used; the template
 * rules (one pass, missing value / unknown placeholder = error); the text checks the admin API
 * and the upload script apply; and the prompts the models get keep their former shape.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { validatePromptsDir } from '../scripts/upload-prompts';
import {
  PROMPT_CATALOGUE,
  PROMPT_IDS,
  placeholdersOf,
  PromptRenderError,
  promptTextProblem,
  renderNamed,
  renderTemplate,
  splitPromptId,
  type PromptId,
} from '../src/core/prompt-catalogue';
import { PROMPT_MAX_BYTES } from '../src/core/prompt-store';
import { renderPrompt, storyTask, TASK_JSON_MARKER, type TextTask } from '../src/core/prompts';
import { BundledPrompts, findPromptsDir } from '../src/platform/bundled-prompts';
import { bundledPromptService } from '../src/platform/prompt-wiring';

const ROOT = path.resolve(__dirname, '..');
const bundled = new BundledPrompts(path.join(ROOT, 'prompts'));

describe('the bundled prompts', () => {
  it('are found from the code upward: the repository\'s prompts/ folder', () => {
    expect(findPromptsDir(path.join(ROOT, 'src', 'platform'))).toBe(path.join(ROOT, 'prompts'));
  });

  it('are exactly the catalogue: one file per prompt, no other file', () => {
    expect(bundled.list().map((p) => `${p.assistant}/${p.name}`).sort()).toEqual([...PROMPT_IDS].sort());
    expect(validatePromptsDir(path.join(ROOT, 'prompts'))).toEqual({ files: expect.any(Array), problems: [] });
  });

  it.each(PROMPT_IDS)('%s: every placeholder is known, every known one is used, and it renders with sample values', (id) => {
    const { assistant, name } = splitPromptId(id);
    const file = bundled.get(assistant, name);
    if (!file) throw new Error(`${id} is not bundled`);
    expect(file.version).toMatch(/^bundled:[0-9a-f]{12}$/);
    const known = Object.keys(PROMPT_CATALOGUE[id].placeholders);
    expect([...placeholdersOf(file.text)].sort()).toEqual([...known].sort());
    expect(promptTextProblem(assistant, name, file.text)).toBeUndefined();
    const values = Object.fromEntries(known.map((k) => [k, `<${k.toUpperCase()}>`]));
    const text = renderTemplate(file.text, values, known, id);
    for (const k of known) expect(text).toContain(`<${k.toUpperCase()}>`);
    expect(text).not.toMatch(/\{\{|\}\}/);
    expect(text).toBe(text.trimEnd());
    // Leaving any one value out is an error naming it.
    for (const k of known) {
      const { [k]: _left, ...rest } = values;
      expect(() => renderTemplate(file.text, rest, known, id)).toThrow(new PromptRenderError(`${id} needs a value for {{${k}}}`));
    }
  });

  it('every prompt renders through the prompt service with the values the code computes', async () => {
    const prompts = bundledPromptService();
    const samples: { [P in PromptId]: Parameters<typeof renderNamed<P>>[2] } = {
      'story-writer/system': { narrator: 'Narrator' },
      'story-writer/topics': { genre: 'fiction', topics: 'owls' },
      'story-writer/outline': { length: 'a story', genre: 'fantasy', reading_level: 'grade 2', tone: 'warm', idea: 'an owl', number_of_speakers: '2', narrator: 'Narrator' },
      'story-writer/story': { length: 'a story', genre: 'fantasy', reading_level: 'grade 2', tone: 'warm', outline_json: '[]', speakers: 'Narrator, Owl', sections: 'beginning: 1 sections', total_sections: '3', size_rule: 'Short.', narrator: 'Narrator' },
      'story-writer/segment': { segment_number: '2', genre: 'fantasy', reading_level: 'grade 2', tone: 'warm', user_request: 'funnier', original_speaker: 'Owl', original_text: 'Hoo.', surrounding_json: '[]', speakers: 'Narrator, Owl' },
      'story-writer/repair': { problem: 'too short' },
      'illustrator/panel': { art_style: 'ink', scene: 'An owl.' },
      'illustrator/edit': { request: 'at night' },
      'story-agent/system': { state: 'no current story' },
    };
    for (const id of PROMPT_IDS) {
      const out = await renderNamed(prompts, id, samples[id] as never);
      expect([id, out.use]).toEqual([id, { prompt: id, version: expect.stringMatching(/^bundled:/), source: 'fallback' }]);
      expect(out.text).not.toContain('{{');
    }
  });
});

describe('templates', () => {
  it('fill placeholders in one pass: a value is never read as a template, and "$" patterns are plain text', () => {
    expect(renderTemplate('Hello {{name}}, {{name}}!\n\n', { name: '{{other}} $& $1' }, ['name', 'other'])).toBe('Hello {{other}} $& $1, {{other}} $& $1!');
  });

  it('refuse a template with an unknown or malformed placeholder, naming it', () => {
    expect(() => renderTemplate('{{name}} {{nope}}', { name: 'x' }, ['name'], 'p')).toThrow('p uses unknown placeholder {{nope}}');
    expect(() => renderTemplate('{{ name }}', { name: 'x' }, ['name'], 'p')).toThrow('p uses unknown placeholder {{ name }}');
    expect(() => renderTemplate('{{name}}', {}, ['name'], 'p')).toThrow('p needs a value for {{name}}');
  });
});

describe('a prompt text, as the admin API and the upload script check it', () => {
  it('is refused when empty, too large, not valid UTF-8, with NUL, or with a placeholder its prompt does not know', () => {
    expect(promptTextProblem('story-writer', 'repair', '   ')).toBe('text must not be empty');
    expect(promptTextProblem('story-writer', 'repair', 'é'.repeat(PROMPT_MAX_BYTES / 2 + 1))).toMatch(/bytes; a prompt may have at most 65536/);
    expect(promptTextProblem('story-writer', 'repair', 'x'.repeat(PROMPT_MAX_BYTES))).toBeUndefined();
    expect(promptTextProblem('story-writer', 'repair', 'bad \ud800 surrogate')).toMatch(/UTF-8/);
    expect(promptTextProblem('story-writer', 'repair', 'nul \u0000 here')).toMatch(/NUL/);
    expect(promptTextProblem('story-writer', 'repair', 'Fix {{problem}} and {{story}}')).toBe('unknown placeholder {{story}} in story-writer/repair; its placeholders are {{problem}}');
    expect(promptTextProblem('story-writer', 'nope', 'x')).toBe('story-writer/nope is not a known prompt');
    // A known placeholder may be left out (the text is the editor's choice).
    expect(promptTextProblem('story-writer', 'repair', 'Try again.')).toBeUndefined();
  });

  it('the upload script finds every problem in a prompts folder before uploading anything', () => {
    const dir = mkdtempSync(path.join(ROOT, '.tmp', 'prompts-'));
    try {
      mkdirSync(path.join(dir, 'story-writer'));
      mkdirSync(path.join(dir, 'illustrator'));
      writeFileSync(path.join(dir, 'story-writer', 'repair.md'), 'Fix {{problem}} {{oops}}\n');
      writeFileSync(path.join(dir, 'story-writer', 'unknown.md'), 'x\n');
      writeFileSync(path.join(dir, 'story-writer', 'notes.txt'), 'x\n');
      writeFileSync(path.join(dir, 'illustrator', 'panel.md'), Buffer.from([0x49, 0xff, 0xfe, 0x0a]));
      writeFileSync(path.join(dir, 'illustrator', 'edit.md'), 'Edit: {{request}}\n');
      const { files, problems } = validatePromptsDir(dir);
      expect(files.map((f) => f.id)).toEqual(['illustrator/edit']);
      expect(problems).toEqual(
        expect.arrayContaining([
          'illustrator/panel.md: the file is not valid UTF-8',
          'story-writer/notes.txt: not a prompt file (<name>.md)',
          expect.stringMatching(/^story-writer\/repair\.md: unknown placeholder \{\{oops\}\}/),
          'story-writer/unknown.md: story-writer/unknown is not in the prompt catalogue',
          'story-writer/system.md: missing (every prompt of the catalogue is bundled)',
          'story-agent/system.md: missing (every prompt of the catalogue is bundled)',
        ]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the prompts the models read', () => {
  const prompts = bundledPromptService();

  it('keep their former words and shape: system prompt; user prompt, then the task as JSON on the last line', async () => {
    const task: TextTask = { kind: 'topics', input: { genre: 'fiction', topics: 'comets, kites' } };
    const out = await renderPrompt(task, prompts);
    expect(out.system).toBe(
      'You are Story42, a children\'s and young-adult story studio writer. You always answer with exactly one JSON object that matches the given JSON schema, with no prose around it. The narrator\'s lines use the speaker name "Narrator". Never write the word "Narrator" inside any text.',
    );
    expect(out.user).toBe(
      [
        'Suggest a fiction story topic built from these topics: comets, kites.',
        'Describe its subject category, scope and coverage, structure, source types, target audience and tone, one short paragraph each.',
        `${TASK_JSON_MARKER}${JSON.stringify(task)}`,
      ].join('\n'),
    );
    expect(out.resultName).toBe('topic_ideas');
    expect(out.uses.map((u) => u.prompt)).toEqual(['story-writer/system', 'story-writer/topics']);
  });

  it('a story prompt fills the shape\'s values (audio: words; visual: panels)', async () => {
    const outline = ['beginning', 'middle', 'end'].map((p) => ({ story_part: p, story_part_summary: `The ${p}.`, story_part_speakers: ['Narrator', 'Rin'] }));
    const base = { genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', number_of_speakers: 2, story_outline_description: outline };
    const audio = await renderPrompt(storyTask({ ...base, story_type: 'audio', audio_length: 2 } as never, ['Narrator', 'Rin']), prompts);
    const lines = audio.user.split('\n');
    expect(lines[0]).toBe('Write an audio story of about 2 minutes of narration. Genre: fantasy. Reading level: grade 3. Tone: warm.');
    expect(lines[4]).toMatch(/^Aim for about \d+ words of story text in total \(about 150 words per minute of narration\)\.$/);
    expect(lines.at(-1)?.startsWith(TASK_JSON_MARKER)).toBe(true);
    const visual = await renderPrompt(storyTask({ ...base, story_type: 'visual', panels: 6 } as never, ['Narrator', 'Rin']), prompts);
    expect(visual.user.split('\n').slice(0, 5)).toEqual([
      'Write a visual story told in 6 illustrated panels. Genre: fantasy. Reading level: grade 3. Tone: warm.',
      `Follow this outline: ${JSON.stringify(outline)}`,
      'Speakers (use only these names): Narrator, Rin.',
      'Exactly three story_parts in order beginning, middle, end, with beginning: 2 sections, middle: 2 sections, end: 2 sections (6 sections in total).',
      'Each section is one illustrated panel: a short scene.',
    ]);
  });
});
