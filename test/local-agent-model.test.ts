/**
 * The offline agent model (`src/local/agent-model.ts`): which tool the story agent's "model"
 * calls next for the common requests, what it answers at the end, and the same answers on the
 * wire through the local Bedrock server (Converse and ConverseStream, via the real AWS SDK).
 */
import http2 from 'node:http2';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, type Message, type Tool, type ToolInputSchema } from '@aws-sdk/client-bedrock-runtime';
import { z } from 'zod';
import { AGENT_TOOL, agentSystemPrompt, agentToolDescriptions, agentToolInputs, type AgentToolName } from '../src/core/agent-prompt';
import { localCredentials } from '../src/aws/clients';
import { agentReply, toolUseIds, type AgentModelMessage, type AgentReply, type AgentToolCall } from '../src/local/agent-model';
import { LocalBedrockServer } from '../src/local/bedrock-server';
import { bundledPromptService } from '../src/platform/prompt-wiring';

const ALL_TOOLS: string[] = Object.values(AGENT_TOOL);
/** The agent's system prompt as the agent sends it (the bundled `story-agent/system`). */
let SYSTEM_PROMPT = '';
beforeAll(async () => {
  SYSTEM_PROMPT = (await agentSystemPrompt(bundledPromptService(), 'no current story')).text;
});
const BEES = 'Write a 6-panel non-fiction story about how bees make honey for grade 3, with pictures, and read it aloud.';
const SEARCH_OK = {
  status: 'ok',
  engine: 'offline-search-index',
  cached: false,
  results: [
    { title: 'Honey bee - Wikipedia', url: 'https://en.wikipedia.org/wiki/Honey_bee', snippet: 'Worker bees collect nectar from flowers and store it in wax cells.' },
    { title: 'How bees make honey', url: 'https://example.org/bees', snippet: 'Bees fan their wings to dry the nectar until it becomes honey.' },
  ],
};
const STORY = { job_id: 'job-bees-1', title: 'Buzz and the Golden Drop', sections: 6, panels_illustrating: 6, speaker_names: ['Narrator', 'Sana'] };

type Result = { status?: 'success' | 'error'; json?: Record<string, unknown>; text?: string };

const user = (text: string): AgentModelMessage => ({ role: 'user', content: [{ text }] });

function reply(messages: AgentModelMessage[], tools: string[] = ALL_TOOLS): AgentReply {
  return agentReply({ system: [{ text: SYSTEM_PROMPT }], messages, tools }, toolUseIds(messages));
}

function callsOf(r: AgentReply): AgentToolCall[] {
  if (r.kind !== 'tool') throw new Error(`expected tool calls, got text: ${r.text}`);
  return r.calls;
}

function textOf(r: AgentReply): string {
  if (r.kind !== 'text') throw new Error(`expected text, got calls: ${r.calls.map((c) => c.name).join(', ')}`);
  return r.text;
}

/** The assistant's tool calls and the user's tool results, appended as the agent framework does. */
function answer(messages: AgentModelMessage[], calls: AgentToolCall[], results: (call: AgentToolCall) => Result): void {
  messages.push({ role: 'assistant', content: calls.map((c) => ({ toolUse: { toolUseId: c.toolUseId, name: c.name, input: c.input } })) });
  messages.push({
    role: 'user',
    content: calls.map((c) => {
      const r = results(c);
      return { toolResult: { toolUseId: c.toolUseId, ...(r.status ? { status: r.status } : {}), content: [r.json ? { json: r.json } : { text: r.text ?? '' }] } };
    }),
  });
}

const happy = (call: AgentToolCall): Result => {
  switch (call.name) {
    case AGENT_TOOL.webSearch:
      return { status: 'success', json: SEARCH_OK };
    case AGENT_TOOL.writeStory:
      return { status: 'success', json: STORY };
    case AGENT_TOOL.narrateStory:
      return { status: 'success', json: { job_id: STORY.job_id, sections: 6, total_seconds: 95.4 } };
    case AGENT_TOOL.redrawPanel:
      return { status: 'success', json: { panel: call.input.panel, s3_uri: `s3://bucket/panel-${String(call.input.panel)}.png` } };
    case AGENT_TOOL.rewriteSegment:
      return { status: 'success', json: { segment_number: call.input.segment_number, speaker: 'Sana', text: 'Sana laughed so hard her antennae wobbled.' } };
    case AGENT_TOOL.illustrateStory:
      return { status: 'success', json: { job_id: STORY.job_id, panels: 6, warning: null } };
    case AGENT_TOOL.outlineStory:
      return { status: 'success', json: { speaker_names: ['Narrator', 'Ada'], story_parts: [{ story_part: 'beginning', story_part_summary: 'Ada finds a map.', story_part_speakers: ['Narrator', 'Ada'] }] } };
    default:
      return { status: 'success', json: {} };
  }
};

/** Plays a whole turn: the model's calls, answered by `results`, until it answers in text (at most 10 rounds). */
function playTurn(messages: AgentModelMessage[], results: (call: AgentToolCall) => Result = happy, tools: string[] = ALL_TOOLS): { steps: AgentToolCall[][]; text: string } {
  const steps: AgentToolCall[][] = [];
  for (let round = 0; round < 10; round++) {
    const r = reply(messages, tools);
    if (r.kind === 'text') {
      messages.push({ role: 'assistant', content: [{ text: r.text }] });
      return { steps, text: r.text };
    }
    steps.push(r.calls);
    answer(messages, r.calls, results);
  }
  throw new Error('the model never answered in text');
}

describe('agentReply: a new story', () => {
  it('researches, writes with an outline and the facts, narrates, then sums up with the title and sources', () => {
    const messages = [user(BEES)];
    const first = callsOf(reply(messages));
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ name: 'web_search', toolUseId: 'tooluse_1' });
    expect(String(first[0]?.input.query)).toContain('bees make honey');

    answer(messages, first, happy);
    const second = callsOf(reply(messages));
    expect(second.map((c) => c.name)).toEqual(['write_story']);
    const input = second[0]?.input ?? {};
    expect(input).toMatchObject({ genre: 'non-fiction', reading_level: 'grade 3', tone: 'informative', story_type: 'visual', panels: 6, illustrate: true, number_of_speakers: 2 });
    expect(input.audio_length).toBeUndefined();
    expect(String(input.idea)).toContain('how bees make honey');
    expect(String(input.idea)).toContain('Facts: Worker bees collect nectar');
    expect(String(input.idea)).toContain('Bees fan their wings');
    const outline = input.outline as Array<{ story_part: string; story_part_summary: string; story_part_speakers: string[] }>;
    expect(outline.map((p) => p.story_part)).toEqual(['beginning', 'middle', 'end']);
    for (const part of outline) {
      expect(part.story_part_summary.length).toBeGreaterThan(10);
      expect(part.story_part_speakers).toContain('Narrator');
    }

    answer(messages, second, happy);
    const third = callsOf(reply(messages));
    expect(third.map((c) => [c.name, c.input])).toEqual([['narrate_story', {}]]);

    answer(messages, third, happy);
    const text = textOf(reply(messages));
    expect(text).toContain('“Buzz and the Golden Drop”');
    expect(text).toContain('6 sections');
    expect(text).toContain('95 seconds');
    expect(text).toContain('Honey bee - Wikipedia (https://en.wikipedia.org/wiki/Honey_bee)');
    expect(text).toContain('https://example.org/bees');
    expect(text).not.toMatch(/unavailable/i);
  });

  it('when search is unavailable it writes without facts and says so, with the reason', () => {
    const reason = 'DuckDuckGo is rate-limiting us; try again in a minute';
    const { steps, text } = playTurn([user(BEES)], (call) => (call.name === 'web_search' ? { json: { status: 'unavailable', reason, engine: 'duckduckgo' } } : happy(call)));
    expect(steps.map((s) => s.map((c) => c.name))).toEqual([['web_search'], ['write_story'], ['narrate_story']]);
    const write = steps[1]?.[0]?.input ?? {};
    expect(write.idea).toBe(BEES);
    expect(String(write.idea)).not.toContain('Facts:');
    expect(text).toMatch(/search is unavailable/i);
    expect(text).toContain(reason);
    expect(text).toContain('Buzz and the Golden Drop');
  });

  it('reads the brief from the words: fiction, tone, art style, panels clamped, an audio story with its length', () => {
    const visual = callsOf(reply([user('Tell me a spooky 20-panel fantasy story about a dragon who collects teacups, in watercolor, for 2nd graders')]))[0];
    expect(visual?.name).toBe('write_story'); // fiction: no research
    expect(visual?.input).toMatchObject({ genre: 'fiction', tone: 'spooky', panels: 12, illustrate: true, art_style: 'watercolor', reading_level: 'grade 2', story_type: 'visual' });

    const audio = callsOf(reply([user('Make an audio story about a lighthouse keeper and her cat, 5 minutes long')]))[0];
    expect(audio?.input).toMatchObject({ genre: 'fiction', tone: 'playful', story_type: 'audio', audio_length: 5, illustrate: false, reading_level: 'grade 3', art_style: 'storybook watercolor' });
    expect(audio?.input.panels).toBeUndefined();
    // An audio story is narrated once written.
    const messages = [user('Make an audio story about a lighthouse keeper and her cat, 5 minutes long')];
    expect(playTurn(messages).steps.map((s) => s.map((c) => c.name))).toEqual([['write_story'], ['narrate_story']]);

    const defaults = callsOf(reply([user('Write a story about a brave little kite')]))[0];
    expect(defaults?.input).toMatchObject({ genre: 'fiction', tone: 'playful', story_type: 'visual', panels: 6, illustrate: false, reading_level: 'grade 3' });
  });

  it('researches fiction only when asked, and skips the steps whose tools are not offered', () => {
    expect(callsOf(reply([user('Research owls, then write a fantasy story about an owl librarian')]))[0]?.name).toBe('web_search');
    const noSearch = ALL_TOOLS.filter((t) => t !== 'web_search' && t !== 'narrate_story');
    const { steps, text } = playTurn([user(BEES)], happy, noSearch);
    expect(steps.map((s) => s.map((c) => c.name))).toEqual([['write_story']]);
    expect(String(steps[0]?.[0]?.input.idea)).not.toContain('Facts:');
    expect(text).toContain('Buzz and the Golden Drop');
    expect(text).not.toContain('Sources');
  });

  it('only the current turn counts: a new request starts its plan afresh', () => {
    const messages = [user(BEES)];
    playTurn(messages);
    messages.push(user('Now write a non-fiction story about how volcanoes work'));
    const first = callsOf(reply(messages));
    expect(first.map((c) => c.name)).toEqual(['web_search']);
    expect(String(first[0]?.input.query)).toContain('volcanoes work');
  });
});

describe('agentReply: changes to the current story', () => {
  it('"make panel 2 at night" redraws panel 2 only, then says so', () => {
    const messages = [user('make panel 2 at night')];
    const calls = callsOf(reply(messages));
    expect(calls.map((c) => [c.name, c.input])).toEqual([['redraw_panel', { panel: 2, request: 'make panel 2 at night' }]]);
    answer(messages, calls, happy);
    const text = textOf(reply(messages));
    expect(text).toContain('panel 2');
    expect(text).toContain('s3://bucket/panel-2.png');
    expect(text).not.toContain('panel 4');
  });

  it('pictures named by other words and ordinals, several at once as parallel calls', () => {
    expect(callsOf(reply([user('Redraw picture 3 with more snow')]))[0]?.input).toEqual({ panel: 3, request: 'Redraw picture 3 with more snow' });
    expect(callsOf(reply([user('change the second image so the sky is pink')]))[0]?.input.panel).toBe(2);
    const both = callsOf(reply([user('make panel 2 at night and panel 4 in the rain')]));
    expect(both.map((c) => [c.name, c.input.panel])).toEqual([
      ['redraw_panel', 2],
      ['redraw_panel', 4],
    ]);
    expect(new Set(both.map((c) => c.toolUseId)).size).toBe(2);
  });

  it('"rewrite segment 4 …" rewrites that segment and quotes the new text', () => {
    const messages = [user('rewrite segment 4 so the bee tells a joke')];
    const calls = callsOf(reply(messages));
    expect(calls.map((c) => [c.name, c.input])).toEqual([['rewrite_segment', { segment_number: 4, request: 'rewrite segment 4 so the bee tells a joke' }]]);
    answer(messages, calls, happy);
    expect(textOf(reply(messages))).toContain('segment 4: “Sana laughed so hard her antennae wobbled.”');
    expect(callsOf(reply([user('Change segment 2 so Sana is braver')]))[0]?.input.segment_number).toBe(2);
  });

  it('narrate, illustrate, both, and an outline alone', () => {
    expect(callsOf(reply([user('narrate it')])).map((c) => [c.name, c.input])).toEqual([['narrate_story', {}]]);
    expect(callsOf(reply([user('please read it aloud')])).map((c) => c.name)).toEqual(['narrate_story']);
    expect(callsOf(reply([user('illustrate it')])).map((c) => [c.name, c.input])).toEqual([['illustrate_story', {}]]);
    expect(callsOf(reply([user('draw the pictures in crayon')])).map((c) => [c.name, c.input])).toEqual([['illustrate_story', { art_style: 'crayon' }]]);

    const both = playTurn([user('illustrate it and narrate it')]);
    expect(both.steps.map((s) => s.map((c) => c.name))).toEqual([['illustrate_story'], ['narrate_story']]);
    expect(both.text).toContain('6 pictures');
    expect(both.text).toContain('95 seconds');

    const outline = playTurn([user('Outline a story about a girl who builds a robot')]);
    expect(outline.steps.map((s) => s.map((c) => c.name))).toEqual([['outline_story']]);
    expect(outline.steps[0]?.[0]?.input).toMatchObject({ genre: 'fiction', idea: 'Outline a story about a girl who builds a robot' });
    expect(outline.text).toContain('beginning: Ada finds a map.');
    // Writing from an outline the user gives is a whole story.
    expect(callsOf(reply([user('Write a story about a robot using this outline: she builds it, it breaks, she fixes it')]))[0]?.name).toBe('write_story');
  });

  it('anything else is a short text saying what the agent can do; a plan whose tool is not offered says so', () => {
    const hello = textOf(reply([user('hello there')]));
    expect(hello).toMatch(/I can write a new story/);
    expect(hello).toContain('redraw one panel');
    const noRedraw = textOf(reply([user('make panel 2 at night')], ALL_TOOLS.filter((t) => t !== 'redraw_panel')));
    expect(noRedraw).toContain('redraw_panel is not one of my tools');
    expect(noRedraw).not.toContain('redraw one panel');
    expect(textOf(reply([]))).toMatch(/I can/);
    expect(textOf(reply([{ role: 'assistant', content: [{ text: 'hi' }] }]))).toMatch(/I can/);
  });
});

describe('agentReply: failures', () => {
  it('an error result stops the plan and the text quotes the error', () => {
    const messages = [user(BEES)];
    const { steps, text } = playTurn(messages, (call) => (call.name === 'write_story' ? { status: 'error', text: 'Error: The story model is throttling; try again shortly' } : happy(call)));
    expect(steps.map((s) => s.map((c) => c.name))).toEqual([['web_search'], ['write_story']]);
    expect(text).toContain('write_story failed');
    expect(text).toContain('The story model is throttling; try again shortly');
  });

  it('an error without a status (Bedrock drops it for most models) is still an error, and a long error is capped', () => {
    const noStatus = playTurn([user('make panel 2 at night')], () => ({ text: 'Error: Panel 2 has no picture yet (pictures: none).' }));
    expect(noStatus.text).toContain('redraw_panel failed');
    expect(noStatus.text).toContain('Panel 2 has no picture yet');
    const long = playTurn([user('narrate it')], () => ({ status: 'error', text: `Error: ${'x'.repeat(50_000)}` }));
    expect(long.text.length).toBeLessThan(500);
    expect(long.text).toContain('narrate_story failed');
  });
});

describe('agentReply: ids, bounds, determinism, schemas', () => {
  it('tool use ids are unique across the whole conversation, foreign ids included', () => {
    const messages: AgentModelMessage[] = [user('look up something'), { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_2', name: 'web_search', input: { query: 'x' } } }] }];
    messages.push({ role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_2', content: [{ json: SEARCH_OK }] } }] }, { role: 'assistant', content: [{ text: 'done' }] });
    for (const text of [BEES, 'make panel 2 at night and panel 4 in the rain', 'rewrite segment 3 and segment 5 to be funnier']) {
      messages.push(user(text));
      playTurn(messages);
    }
    const ids = messages.flatMap((m) =>
      m.content.flatMap((b) => {
        const use = b.toolUse as { toolUseId?: string } | undefined;
        return use?.toolUseId ? [use.toolUseId] : [];
      }),
    );
    expect(ids.length).toBe(1 + 3 + 2 + 2);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('tooluse_3');
  });

  it('the same conversation gets the same answer', () => {
    const a = [user(BEES)];
    answer(a, callsOf(reply(a)), happy);
    const b = structuredClone(a);
    expect(reply(b)).toEqual(reply(a));
  });

  it('work is bounded: a 1 MB message and a 1 MB tool result are answered quickly', () => {
    const huge = `Write a non-fiction story about how ${'bees and flowers '.repeat(62_000)}`;
    expect(huge.length).toBeGreaterThan(1_000_000);
    const started = performance.now();
    const messages = [user(huge)];
    const search = callsOf(reply(messages));
    expect(String(search[0]?.input.query).length).toBeLessThanOrEqual(300);
    answer(messages, search, () => ({ text: `{"status":"ok","results":[${'{"title":"t","url":"https://e.org","snippet":"s"},'.repeat(20_000)}{}]}` }));
    const write = callsOf(reply(messages))[0];
    expect(write?.name).toBe('write_story');
    expect(String(write?.input.idea).length).toBeLessThanOrEqual(5000);
    // Thousands of earlier messages: only the last 200 are read.
    const many: AgentModelMessage[] = Array.from({ length: 20_000 }, (_, i) => (i % 2 ? { role: 'assistant', content: [{ text: 'ok' }] } : user('hello')));
    many.push(user('narrate it'));
    expect(callsOf(reply(many))[0]?.name).toBe('narrate_story');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('every tool call it makes parses with the tool\'s zod schema', () => {
    const requests = [
      BEES,
      'Make an audio story about a lighthouse keeper and her cat, 5 minutes long, with 9 speakers',
      'Tell me a spooky 20-panel fantasy story about a dragon, for 2nd graders',
      `Write a story about ${'a very long idea '.repeat(2000)}`,
      'Outline a non-fiction story about the moon for ages 6-8',
      'make panel 2 at night and panel 4 in the rain',
      'rewrite segment 3 and segment 5 to be funnier',
      'illustrate it in pixel art and narrate it',
      'research how volcanoes work',
      'give me ideas for a story about space',
      `make panel 1 ${'darker '.repeat(1000)}`,
    ];
    const seen = new Set<string>();
    for (const text of requests) {
      const { steps } = playTurn([user(text)]);
      expect(steps.length).toBeGreaterThan(0);
      for (const call of steps.flat()) {
        const schema: z.ZodType = agentToolInputs[call.name as AgentToolName];
        expect(schema).toBeDefined();
        const parsed = schema.safeParse(call.input);
        if (!parsed.success) throw new Error(`${call.name} ${JSON.stringify(call.input).slice(0, 300)}: ${parsed.error.message}`);
        seen.add(call.name);
      }
    }
    expect([...seen].sort()).toEqual(['illustrate_story', 'narrate_story', 'outline_story', 'redraw_panel', 'rewrite_segment', 'topic_ideas', 'web_search', 'write_story']);
  });
});

describe('the local Bedrock server plays the agent model on the wire', () => {
  const bedrock = new LocalBedrockServer();
  let endpoint: string;
  // As `bedrockRuntimeClient` makes it for a local endpoint: the local key pair, one attempt, the SDK's HTTP/2 handler.
  const client = () => new BedrockRuntimeClient({ region: 'us-east-1', endpoint, credentials: localCredentials(endpoint), maxAttempts: 1 });
  const toolConfig = {
    tools: (Object.values(AGENT_TOOL) as AgentToolName[]).map(
      (name): Tool => ({ toolSpec: { name, description: agentToolDescriptions[name], inputSchema: { json: JSON.parse(JSON.stringify(z.toJSONSchema(agentToolInputs[name], { io: 'input' }))) as ToolInputSchema.JsonMember['json'] } } }),
    ),
  };
  const system = [{ text: '' }];
  beforeAll(() => {
    system[0] = { text: SYSTEM_PROMPT };
  });
  const modelId = 'us.amazon.nova-pro-v1:0';
  const sdkMessages = (messages: AgentModelMessage[]) => JSON.parse(JSON.stringify(messages)) as Message[];

  beforeAll(async () => {
    endpoint = await bedrock.listen();
  });
  afterAll(() => bedrock.close());
  beforeEach(() => bedrock.reset());

  interface Streamed {
    starts: Array<{ index: number; toolUseId?: string; name?: string }>;
    inputs: Map<number, string>;
    texts: string[];
    stopReason?: string;
    outputTokens?: number;
  }

  async function stream(messages: AgentModelMessage[]): Promise<Streamed> {
    const out = await client().send(new ConverseStreamCommand({ modelId, system, messages: sdkMessages(messages), toolConfig }));
    const seen: Streamed = { starts: [], inputs: new Map(), texts: [] };
    for await (const event of out.stream ?? []) {
      if (event.contentBlockStart) seen.starts.push({ index: event.contentBlockStart.contentBlockIndex ?? -1, toolUseId: event.contentBlockStart.start?.toolUse?.toolUseId, name: event.contentBlockStart.start?.toolUse?.name });
      const delta = event.contentBlockDelta;
      if (delta?.delta?.toolUse) seen.inputs.set(delta.contentBlockIndex ?? -1, `${seen.inputs.get(delta.contentBlockIndex ?? -1) ?? ''}${delta.delta.toolUse.input ?? ''}`);
      if (delta?.delta?.text !== undefined) seen.texts.push(delta.delta.text);
      if (event.messageStop) seen.stopReason = event.messageStop.stopReason;
      if (event.metadata) seen.outputTokens = event.metadata.usage?.outputTokens;
    }
    return seen;
  }

  it('ConverseStream streams the tool call agentReply makes: same id, name and input, stopReason tool_use', async () => {
    const messages = [user(BEES)];
    answer(messages, callsOf(reply(messages)), happy);
    const expected = callsOf(reply(messages));
    expect(expected.map((c) => c.name)).toEqual(['write_story']);
    const got = await stream(messages);
    expect(got.starts).toEqual([{ index: 0, toolUseId: expected[0]?.toolUseId, name: 'write_story' }]);
    expect(JSON.parse(got.inputs.get(0) ?? '')).toEqual(expected[0]?.input);
    expect(got.stopReason).toBe('tool_use');
    expect(got.outputTokens).toBeGreaterThan(0);
    expect(bedrock.counters).toMatchObject({ converseStream: 1, agentCalls: 1, errors: 0 });
    expect(bedrock.agentReplies).toEqual([{ kind: 'tool', tools: ['write_story'] }]);
  });

  it('several tool calls stream as several blocks', async () => {
    const messages = [user('make panel 2 at night and panel 4 in the rain')];
    const expected = callsOf(reply(messages));
    const got = await stream(messages);
    expect(got.starts.map((s) => [s.index, s.name, s.toolUseId])).toEqual(expected.map((c, i) => [i, c.name, c.toolUseId]));
    expect([0, 1].map((i) => JSON.parse(got.inputs.get(i) ?? '') as unknown)).toEqual(expected.map((c) => c.input));
    expect(got.stopReason).toBe('tool_use');
  });

  it('a text answer streams as text deltas with stopReason end_turn', async () => {
    const messages = [user(BEES)];
    playTurn(messages);
    messages.pop(); // the final text: ask for it on the wire instead
    const expected = textOf(reply(messages));
    const got = await stream(messages);
    expect(got.starts.every((s) => s.name === undefined)).toBe(true);
    expect(got.texts.length).toBeGreaterThan(1);
    expect(got.texts.join('')).toBe(expected);
    expect(got.stopReason).toBe('end_turn');
    expect(bedrock.agentReplies).toEqual([{ kind: 'text', tools: [] }]);
  });

  it('Converse answers with the toolUse block (tool_use) or one text block (end_turn)', async () => {
    const messages = [user(BEES)];
    const expected = callsOf(reply(messages));
    const out = await client().send(new ConverseCommand({ modelId, system, messages: sdkMessages(messages), toolConfig }));
    expect(out.stopReason).toBe('tool_use');
    expect(out.output?.message?.content).toEqual([{ toolUse: { toolUseId: expected[0]?.toolUseId, name: 'web_search', input: expected[0]?.input } }]);

    const text = await client().send(new ConverseCommand({ modelId, system, messages: sdkMessages([user('hello there')]), toolConfig }));
    expect(text.stopReason).toBe('end_turn');
    expect(text.output?.message?.content).toEqual([{ text: textOf(reply([user('hello there')])) }]);
    expect(bedrock.counters).toMatchObject({ converse: 2, agentCalls: 2 });
    expect(bedrock.agentReplies).toEqual([
      { kind: 'tool', tools: ['web_search'] },
      { kind: 'text', tools: [] },
    ]);
  });

  it('honours the failure knobs for agent answers', async () => {
    bedrock.knobs.failures = ['ThrottlingException'];
    await expect(client().send(new ConverseCommand({ modelId, system, messages: sdkMessages([user('narrate it')]), toolConfig }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    bedrock.knobs.streamFailures = ['ServiceUnavailableException'];
    await expect(stream([user('narrate it')])).rejects.toMatchObject({ name: 'ServiceUnavailableException' });
    expect(bedrock.counters).toMatchObject({ errors: 2, agentCalls: 1 });
  });

  it('refuses malformed conversations as Bedrock does (ValidationException)', async () => {
    const post = (body: unknown) =>
      new Promise<{ status: number; type: string }>((resolve, reject) => {
        const session = http2.connect(endpoint);
        session.on('error', reject);
        const req = session.request({ ':method': 'POST', ':path': `/model/${modelId}/converse`, 'content-type': 'application/json' });
        req.on('response', (headers) => {
          req.resume();
          req.on('end', () => {
            session.close();
            resolve({ status: Number(headers[':status']), type: String(headers['x-amzn-errortype'] ?? '') });
          });
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    const tools = toolConfig.tools;
    const bad = [
      { messages: [{ role: 'user', content: [{ toolUse: { toolUseId: 'tooluse_1', input: {} } }] }], toolConfig: { tools } },
      { messages: [{ role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_1' } }] }], toolConfig: { tools } },
      { messages: [{ role: 'user', content: [{ text: 'hi', toolUse: { toolUseId: 'a', name: 'b', input: {} } }] }], toolConfig: { tools } },
      { messages: [{ role: 'system', content: [{ text: 'hi' }] }], toolConfig: { tools } },
    ];
    for (const body of bad) expect(await post(body)).toEqual({ status: 400, type: expect.stringContaining('ValidationException') });
    expect(bedrock.counters.agentCalls).toBe(0);
    // A cache point in the system prompt and the tools is fine.
    expect(await post({ messages: [{ role: 'user', content: [{ text: 'hello' }] }], system: [{ text: 'x' }, { cachePoint: { type: 'default' } }], toolConfig: { tools: [...tools, { cachePoint: { type: 'default' } }] } })).toEqual({ status: 200, type: '' });
    expect(bedrock.counters.agentCalls).toBe(1);
  });
});
