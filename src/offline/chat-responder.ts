/**
 * The offline chat responder: the project chat's engine when no real model is in play
 * (`STORY42_TEXT_PROVIDER=offline`, the local default). Registered only by
 * `src/local/providers.ts`, never in a deployed bundle; every answer names it.
 *
 * It follows rules, deterministically (the same cards, conversation and input give the same
 * answer): it acknowledges the active prompt cards in the order it was given them — each
 * card's title and its first instruction — then answers the input with an idea in three steps
 * written by the offline story writer's sentence machinery (its outline), in the genre, tone
 * and reading level a card sets with a `Genre:`, `Tone:` or `Reading level:` line. The answer
 * streams in small pieces, as a model writes.
 */
import { countWords } from '../core/shape';
import type { ChatCall, ChatModel, ChatReply } from '../core/ports';
import { hashString } from './random';
import { OfflineStoryWriter } from './writer';

export const OFFLINE_CHAT_MODEL = 'offline-chat-responder-v1';
/** Characters per streamed piece. */
const PIECE_CHARS = 40;
/** Characters of a card's instruction the answer quotes. */
const INSTRUCTION_CHARS = 160;
/** Characters of the input the writer works from (its outline's own cap). */
const WRITER_INPUT_CHARS = 5000;

export interface CardRules {
  genre: string;
  tone: string;
  readingLevel: string;
}

interface CardNote {
  title: string;
  instruction: string;
}

const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();

/** Cut at a word boundary, with an ellipsis when cut. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const at = text.lastIndexOf(' ', max - 1);
  return `${text.slice(0, at > max / 2 ? at : max - 1)}…`;
}

/** A system block as the chat builds it (`## <title>` then the text); a block without a heading is all instruction. */
function noteOf(block: string, index: number): CardNote {
  const newline = block.indexOf('\n');
  const first = newline < 0 ? block : block.slice(0, newline);
  const heading = first.startsWith('## ') ? oneLine(first.slice(3)) : '';
  const body = heading ? (newline < 0 ? '' : block.slice(newline + 1)) : block;
  const lines = body.split('\n').map(oneLine).filter((l) => l !== '' && !RULE_LINE.test(l));
  const firstLine = lines[0] ?? '';
  const stop = firstLine.search(/[.!?](\s|$)/);
  const sentence = stop >= 0 ? firstLine.slice(0, stop + 1) : firstLine;
  return { title: heading || `Card ${index + 1}`, instruction: cut(sentence, INSTRUCTION_CHARS) };
}

const RULE_LINE = /^(genre|tone|reading[ _-]?level)\s*[:=]\s*(\S.{0,99})$/i;

/** The rules the cards set with `Genre:`, `Tone:` and `Reading level:` lines; a later card wins. */
export function rulesOf(system: readonly string[]): CardRules {
  const rules: CardRules = { genre: 'adventure', tone: 'warm', readingLevel: 'grade 3' };
  for (const block of system) {
    for (const raw of block.split('\n')) {
      const m = RULE_LINE.exec(oneLine(raw));
      if (!m) continue;
      const key = (m[1] as string).toLowerCase();
      const value = (m[2] as string).replace(/[.;]+$/, '').trim();
      if (key === 'genre') rules.genre = value;
      else if (key === 'tone') rules.tone = value;
      else rules.readingLevel = value;
    }
  }
  return rules;
}

const quoted = (titles: readonly string[]): string => {
  const q = titles.map((t) => `"${t}"`);
  return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} and ${q.at(-1)}`;
};

export class OfflineChatResponder implements ChatModel {
  readonly provider = 'offline-chat-responder';
  private readonly writer = new OfflineStoryWriter();

  async chat(call: ChatCall): Promise<ChatReply> {
    call.signal?.throwIfAborted();
    const text = this.answer(call);
    for (let i = 0; i < text.length; i += PIECE_CHARS) {
      call.signal?.throwIfAborted();
      call.onDelta?.(text.slice(i, i + PIECE_CHARS));
    }
    const shown = [...call.system, ...call.messages.map((m) => m.text), call.input].join('\n');
    return { text, model: OFFLINE_CHAT_MODEL, usage: { inputTokens: countWords(shown), outputTokens: countWords(text) } };
  }

  /** The whole answer, from the cards, the conversation and the input alone. */
  answer(call: Pick<ChatCall, 'system' | 'messages' | 'input'>): string {
    const notes = call.system.map(noteOf);
    const rules = rulesOf(call.system);
    const turn = call.messages.filter((m) => m.role === 'user').length + 1;
    const lines: string[] = [];
    if (notes.length === 0) {
      lines.push('No prompt cards are active in this project, so I am answering without instructions.');
    } else {
      lines.push(`Following your ${notes.length} active prompt card${notes.length === 1 ? '' : 's'} in order: ${quoted(notes.map((n) => n.title))}.`);
      notes.forEach((n, i) => lines.push(`${i + 1}. ${n.title}${n.instruction ? `: ${n.instruction}` : ''}`));
    }
    const input = oneLine(call.input);
    lines.push(`${turn === 1 ? 'You asked' : `Message ${turn} of our conversation; you asked`}: "${cut(input, 200)}"`);
    lines.push(`Here is a ${rules.tone} ${rules.genre} idea for ${rules.readingLevel}, in three steps:`);
    const seed = String(hashString(JSON.stringify([call.system, call.messages.length, input])));
    const outline = this.writer.write(
      {
        kind: 'outline',
        input: {
          genre: rules.genre,
          tone: rules.tone,
          reading_level: rules.readingLevel,
          story_type: 'visual',
          panels: 6,
          number_of_speakers: 3,
          user_input_description: cut(input, WRITER_INPUT_CHARS),
        },
      },
      seed,
    ) as { story_parts: Array<{ story_part: string; story_part_summary: string }> };
    for (const part of outline.story_parts) lines.push(`- ${part.story_part.charAt(0).toUpperCase()}${part.story_part.slice(1)}: ${part.story_part_summary}`);
    return lines.join('\n');
  }
}
