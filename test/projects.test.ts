/**
 * Projects, prompt cards and chat end to end: gateway (token verification) → Lambda handlers →
 * core → the suite's dynalite and s3rver; the chat with the offline chat responder and with the
 * Bedrock chat model played by the local Bedrock server (whose received requests the tests read).
 */
import { ListObjectsCommand } from '@aws-sdk/client-s3';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient, s3Client } from '../src/aws/clients';
import { DynamoProjectStore } from '../src/aws/dynamo-project-store';
import { S3CardTextStore } from '../src/aws/s3-card-text';
import { StorageUnavailableError } from '../src/core/errors';
import type { Caller } from '../src/core/ports';
import { CARD_TEXT_MAX_BYTES, CHAT_INPUT_MAX, type CardRecord, type ChatRecord } from '../src/core/projects';
import { cardBlock, ProjectsService } from '../src/core/projects-service';
import { ROUTES } from '../src/core/routes';
import { LocalBedrockServer } from '../src/local/bedrock-server';
import { ADMIN_USER, DEMO_USER } from '../src/local/services';
import { OfflineChatResponder, rulesOf } from '../src/offline/chat-responder';
import { ConfigError, loadConfig, type Config } from '../src/platform/config';
import { checkRouteNeeds } from '../src/platform/platform';
import { claimsOf, quietTelemetry, startTestGateway, testConfig, testState, tokenFor, type TestGateway } from './support/local';
import { readEvents } from './support/sse';
import { OTHER_USER } from './support/users';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NOBODYS = '00000000-0000-4000-8000-000000000000';

let gw: TestGateway;
let other: string;
let admin: string;
beforeAll(async () => {
  gw = await startTestGateway();
  [other, admin] = await Promise.all([tokenFor(OTHER_USER), tokenFor(ADMIN_USER)]);
});
afterAll(() => gw.stop());

type Json = Record<string, unknown>;

async function ok(res: Promise<{ status: number; body: Json }>): Promise<Json> {
  const r = await res;
  expect([r.status, r.body.error]).toEqual([200, undefined]);
  return r.body.result as Json;
}

const newProject = (g: TestGateway = gw, body: Json = { name: 'Owl stories' }) => ok(g.call('POST', '/projects', { body }));
const addCard = (projectId: string, body: Json, g: TestGateway = gw) => ok(g.call('POST', `/projects/${projectId}/prompt-cards`, { body }));

function config(): Config {
  return testConfig();
}

/** The chat history table's items of a session, straight from the table. */
async function historyItems(sessionId: string): Promise<Json[]> {
  const c = config();
  const out = await dynamoDocumentClient(c).send(new QueryCommand({ TableName: c.projects?.chatHistoryTable, KeyConditionExpression: 'session_id = :s', ExpressionAttributeValues: { ':s': sessionId }, ConsistentRead: true }));
  return out.Items ?? [];
}

/** The keys under a project's prefix in the prompts bucket. */
async function cardObjects(projectId: string): Promise<string[]> {
  const c = config();
  const out = await s3Client(c).send(new ListObjectsCommand({ Bucket: c.promptsBucket, Prefix: `${projectId}/` }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

describe('projects: CRUD', () => {
  it('creates, reads, updates (partially) and deletes a project of the caller', async () => {
    const created = await newProject(gw, { name: '  Bedtime owls ', description: 'Stories about owls', settings: { audience: 'grade 3', panels: 6, rhymes: true } });
    expect(created).toEqual({
      project_id: expect.stringMatching(UUID),
      owner_id: gw.sub,
      name: 'Bedtime owls',
      description: 'Stories about owls',
      settings: { audience: 'grade 3', panels: 6, rhymes: true },
      status: 'active',
      created_at: expect.any(String),
      updated_at: created.created_at,
    });
    const id = String(created.project_id);
    expect(await ok(gw.call('GET', `/projects/${id}`))).toEqual(created);

    const updated = await ok(gw.call('PUT', `/projects/${id}`, { body: { status: 'archived', settings: { panels: 4 } } }));
    expect(updated).toMatchObject({ project_id: id, name: 'Bedtime owls', description: 'Stories about owls', status: 'archived', settings: { panels: 4 } });
    expect(Date.parse(String(updated.updated_at))).toBeGreaterThanOrEqual(Date.parse(String(created.updated_at)));
    expect(await ok(gw.call('GET', `/projects/${id}`))).toEqual(updated);

    expect(await ok(gw.call('DELETE', `/projects/${id}`))).toEqual({ project_id: id, deleted_cards: 0, deleted_card_objects: 0, deleted_chat_messages: 0 });
    const gone = await gw.call('GET', `/projects/${id}`);
    expect([gone.status, gone.body.error]).toEqual([404, `Project ${id} not found`]);
  });

  it('lists the caller\'s projects newest first, a page at a time, and only theirs', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 3; i++) mine.push(String((await newProject(gw, { name: `paged ${i}` })).project_id));
    const theirs = String((await ok(gw.call('POST', '/projects', { token: other, body: { name: 'not yours' } }))).project_id);
    const seen: Json[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Json = await ok(gw.call('GET', `/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`));
      const projects = page.projects as Json[];
      expect(projects.length).toBeLessThanOrEqual(2);
      seen.push(...projects);
      cursor = page.next_cursor as string | null;
      pages += 1;
    } while (cursor && pages < 1000);
    const ids = seen.map((p) => String(p.project_id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(theirs);
    expect(seen.every((p) => p.owner_id === gw.sub)).toBe(true);
    const created = seen.map((p) => String(p.created_at));
    expect(created).toEqual([...created].sort().reverse());
    // Ours, newest first.
    expect(ids.filter((i) => mine.includes(i))).toEqual([...mine].reverse());
    expect(pages).toBeGreaterThanOrEqual(2);
  });

  it.each([
    ['no name', {}, 'name must be a string'],
    ['a name of 201 characters', { name: 'n'.repeat(201) }, 'name must be at most 200 characters'],
    ['a description of 2001 characters', { name: 'x', description: 'd'.repeat(2001) }, 'description must be at most 2000 characters'],
    ['51 settings', { name: 'x', settings: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }, 'settings must have at most 50 entries'],
    ['a nested setting', { name: 'x', settings: { deep: { er: 1 } } }, 'settings values must be strings (at most 1000 characters), numbers or booleans'],
    ['a long setting', { name: 'x', settings: { k: 'v'.repeat(1001) } }, 'settings values must be at most 1000 characters'],
    ['a bad settings key', { name: 'x', settings: { 'a b': 1 } }, 'settings keys must be 1-64 letters, digits, "_", "." or "-"'],
    ['a settings key of 65 characters', { name: 'x', settings: { ['k'.repeat(65)]: 1 } }, 'settings keys must be 1-64 letters, digits, "_", "." or "-"'],
    ['an unknown status', { name: 'x', status: 'deleted' }, 'status must be either "active" or "archived"'],
  ])('400 for %s', async (_what, body, message) => {
    const res = await gw.call('POST', '/projects', { body });
    expect([res.status, res.body.error]).toEqual([400, message]);
  });

  it('400 for a malformed id, an empty update or a cursor that is not ours; 404 for a project nobody has', async () => {
    for (const [method, path, body, message] of [
      ['GET', '/projects/not-a-uuid', undefined, 'project_id in the path must be a UUID (lower-case, as the API made it)'],
      ['GET', '/projects/ABCDEF00-0000-4000-8000-000000000000', undefined, 'project_id in the path must be a UUID (lower-case, as the API made it)'],
      ['GET', '/projects?limit=0', undefined, 'limit must be an integer between 1 and 100'],
      ['GET', '/projects?cursor=bm90LWEtY3Vyc29y', undefined, 'cursor is not valid; pass the next_cursor of a previous page'],
    ] as const) {
      const res = await gw.call(method, path, { body });
      expect([path, res.status, res.body.error]).toEqual([path, 400, message]);
    }
    const id = String((await newProject()).project_id);
    const empty = await gw.call('PUT', `/projects/${id}`, { body: { unknown: 1 } });
    expect([empty.status, empty.body.error]).toEqual([400, 'Give at least one of: name, description, settings, status']);
    // Another user's cursor is refused.
    await ok(gw.call('POST', '/projects', { token: other, body: { name: 'a' } }));
    await ok(gw.call('POST', '/projects', { token: other, body: { name: 'b' } }));
    const theirs = await ok(gw.call('GET', '/projects?limit=1', { token: other }));
    const stolen = await gw.call('GET', `/projects?cursor=${String(theirs.next_cursor)}`);
    expect([stolen.status, stolen.body.error]).toEqual([400, 'cursor is not valid; pass the next_cursor of a previous page']);
    for (const [method, path] of [['GET', `/projects/${NOBODYS}`], ['PUT', `/projects/${NOBODYS}`], ['DELETE', `/projects/${NOBODYS}`], ['GET', `/projects/${NOBODYS}/prompt-cards`], ['GET', `/projects/${NOBODYS}/chat/${NOBODYS}`]] as const) {
      const res = await gw.call(method, path, { body: method === 'PUT' ? { name: 'x' } : undefined });
      expect([method, path, res.status, res.body.error]).toEqual([method, path, 404, `Project ${NOBODYS} not found`]);
    }
  });
});

describe('prompt cards', () => {
  it('CRUD: text in S3 at <project_id>/<prompt_id>.txt, metadata in DynamoDB, listed in step order', async () => {
    const pid = String((await newProject()).project_id);
    const a = await addCard(pid, { title: 'Voice', text: 'Write in a warm voice.\nShort sentences.', tags: ['style', 'style', 'voice'], step_order: 5 });
    expect(a).toEqual({
      project_id: pid,
      prompt_id: expect.stringMatching(UUID),
      title: 'Voice',
      tags: ['style', 'voice'],
      is_active: true,
      step_order: 5,
      text_bytes: Buffer.byteLength('Write in a warm voice.\nShort sentences.'),
      created_at: expect.any(String),
      updated_at: expect.any(String),
      text: 'Write in a warm voice.\nShort sentences.',
      s3_uri: `s3://${config().promptsBucket}/${pid}/${String(a.prompt_id)}.txt`,
    });
    const b = await addCard(pid, { title: 'Audience', text: 'Readers are seven.', step_order: 1, is_active: false });
    // Without step_order: one after the last card's.
    const c = await addCard(pid, { title: 'Ending', text: 'End with a question.' });
    expect(c.step_order).toBe(6);
    expect(await cardObjects(pid)).toEqual([a, b, c].map((x) => `${pid}/${String(x.prompt_id)}.txt`).sort());

    const listed = await ok(gw.call('GET', `/projects/${pid}/prompt-cards`));
    expect((listed.prompt_cards as Json[]).map((x) => [x.title, x.step_order, 'text' in x])).toEqual([['Audience', 1, false], ['Voice', 5, false], ['Ending', 6, false]]);

    expect(await ok(gw.call('GET', `/projects/${pid}/prompt-cards/${String(a.prompt_id)}`))).toEqual(a);
    const changed = await ok(gw.call('PUT', `/projects/${pid}/prompt-cards/${String(a.prompt_id)}`, { body: { text: 'Write like a sea shanty.', step_order: 0 } }));
    expect(changed).toMatchObject({ title: 'Voice', step_order: 0, text: 'Write like a sea shanty.', text_bytes: 24, tags: ['style', 'voice'] });
    expect(await ok(gw.call('GET', `/projects/${pid}/prompt-cards/${String(a.prompt_id)}`))).toMatchObject({ text: 'Write like a sea shanty.' });
    const onlyFlag = await ok(gw.call('PUT', `/projects/${pid}/prompt-cards/${String(b.prompt_id)}`, { body: { is_active: true } }));
    expect(onlyFlag).toMatchObject({ is_active: true, text: 'Readers are seven.' });

    expect(await ok(gw.call('DELETE', `/projects/${pid}/prompt-cards/${String(c.prompt_id)}`))).toEqual({ project_id: pid, prompt_id: c.prompt_id, deleted_card_objects: 1 });
    expect(await cardObjects(pid)).toEqual([a, b].map((x) => `${pid}/${String(x.prompt_id)}.txt`).sort());
    const gone = await gw.call('GET', `/projects/${pid}/prompt-cards/${String(c.prompt_id)}`);
    expect([gone.status, gone.body.error]).toEqual([404, `Prompt card ${String(c.prompt_id)} not found in project ${pid}`]);
    const again = await gw.call('DELETE', `/projects/${pid}/prompt-cards/${String(c.prompt_id)}`);
    expect(again.status).toBe(404);
  });

  it.each([
    ['no title', { text: 'x' }, 'title must be a string'],
    ['no text', { title: 't' }, 'text must be a string'],
    ['blank text', { title: 't', text: '   ' }, 'text must not be empty'],
    ['32 KB + 1 of text', { title: 't', text: 'x'.repeat(CARD_TEXT_MAX_BYTES + 1) }, `text must be at most ${CARD_TEXT_MAX_BYTES} bytes`],
    ['32 KB + 2 of text in bytes (multi-byte characters)', { title: 't', text: 'é'.repeat(CARD_TEXT_MAX_BYTES / 2 + 1) }, `text must be at most ${CARD_TEXT_MAX_BYTES} bytes`],
    ['21 tags', { title: 't', text: 'x', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags must have at most 20 entries'],
    ['a tag of 51 characters', { title: 't', text: 'x', tags: ['t'.repeat(51)] }, 'tags must be at most 50 characters'],
    ['step_order 10001', { title: 't', text: 'x', step_order: 10_001 }, 'step_order must be between 0 and 10000'],
    ['step_order 1.5', { title: 't', text: 'x', step_order: 1.5 }, 'step_order must be an integer'],
    ['is_active "yes"', { title: 't', text: 'x', is_active: 'yes' }, 'is_active must be true or false'],
  ])('400 for %s', async (_what, body, message) => {
    const pid = String((await newProject()).project_id);
    const res = await gw.call('POST', `/projects/${pid}/prompt-cards`, { body });
    expect([res.status, res.body.error]).toEqual([400, message]);
    expect(await cardObjects(pid)).toEqual([]);
  });

  it('400 for a malformed prompt id or an empty update; 404 for a card the project does not have', async () => {
    const pid = String((await newProject()).project_id);
    const bad = await gw.call('GET', `/projects/${pid}/prompt-cards/..%2F..%2Fetc`);
    expect([bad.status, bad.body.error]).toEqual([400, 'prompt_id in the path must be a UUID (lower-case, as the API made it)']);
    const card = await addCard(pid, { title: 't', text: 'x' });
    const empty = await gw.call('PUT', `/projects/${pid}/prompt-cards/${String(card.prompt_id)}`, { body: {} });
    expect([empty.status, empty.body.error]).toEqual([400, 'Give at least one of: title, text, tags, is_active, step_order']);
    // A card of another project is not this project's.
    const elsewhere = String((await newProject()).project_id);
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const res = await gw.call(method, `/projects/${elsewhere}/prompt-cards/${String(card.prompt_id)}`, { body: method === 'PUT' ? { title: 'x' } : undefined });
      expect([method, res.status]).toEqual([method, 404]);
    }
  });
});

describe('access: only the owner or an admin', () => {
  let pid: string;
  let cardId: string;
  let sessionId: string;
  beforeAll(async () => {
    pid = String((await newProject(gw, { name: 'private' })).project_id);
    cardId = String((await addCard(pid, { title: 'Rule', text: 'Be kind.' })).prompt_id);
    sessionId = String((await ok(gw.call('POST', `/projects/${pid}/chat`, { body: { input: 'Hello there, tell me a story' } }))).session_id);
  });

  it('another user gets a 403 for the project, its cards and its chats, and changes nothing', async () => {
    const calls: Array<[string, string, Json | undefined]> = [
      ['GET', `/projects/${pid}`, undefined],
      ['PUT', `/projects/${pid}`, { name: 'mine now' }],
      ['DELETE', `/projects/${pid}`, undefined],
      ['GET', `/projects/${pid}/prompt-cards`, undefined],
      ['POST', `/projects/${pid}/prompt-cards`, { title: 'sneaky', text: 'x' }],
      ['GET', `/projects/${pid}/prompt-cards/${cardId}`, undefined],
      ['PUT', `/projects/${pid}/prompt-cards/${cardId}`, { title: 'sneaky' }],
      ['DELETE', `/projects/${pid}/prompt-cards/${cardId}`, undefined],
      ['POST', `/projects/${pid}/chat`, { input: 'hi' }],
      ['POST', `/projects/${pid}/chat`, { input: 'hi', session_id: sessionId }],
      ['GET', `/projects/${pid}/chat/${sessionId}`, undefined],
    ];
    for (const [method, path, body] of calls) {
      const res = await gw.call(method, path, { token: other, body });
      expect([method, path, res.status, res.body.error]).toEqual([method, path, 403, 'This project belongs to another user']);
    }
    expect(await ok(gw.call('GET', `/projects/${pid}`))).toMatchObject({ name: 'private' });
    expect(await ok(gw.call('GET', `/projects/${pid}/prompt-cards/${cardId}`))).toMatchObject({ title: 'Rule' });
    expect(((await ok(gw.call('GET', `/projects/${pid}/chat/${sessionId}`))).messages as Json[]).length).toBe(1);
    // The other user's own project cannot reach this session either.
    const theirs = String((await ok(gw.call('POST', '/projects', { token: other, body: { name: 'theirs' } }))).project_id);
    const hijack = await gw.call('POST', `/projects/${theirs}/chat`, { token: other, body: { input: 'hi', session_id: sessionId } });
    expect([hijack.status, hijack.body.error]).toEqual([404, `Chat session ${sessionId} not found in project ${theirs}`]);
    const peek = await gw.call('GET', `/projects/${theirs}/chat/${sessionId}`, { token: other });
    expect(peek.status).toBe(404);
  });

  it('an admin may read (and use) any project', async () => {
    expect(await ok(gw.call('GET', `/projects/${pid}`, { token: admin }))).toMatchObject({ owner_id: gw.sub });
    expect(((await ok(gw.call('GET', `/projects/${pid}/prompt-cards`, { token: admin }))).prompt_cards as Json[]).length).toBe(1);
    expect(await ok(gw.call('GET', `/projects/${pid}/prompt-cards/${cardId}`, { token: admin }))).toMatchObject({ text: 'Be kind.' });
    expect(((await ok(gw.call('GET', `/projects/${pid}/chat/${sessionId}`, { token: admin }))).messages as Json[]).length).toBe(1);
    const chat = await ok(gw.call('POST', `/projects/${pid}/chat`, { token: admin, body: { input: 'An admin says hello' } }));
    expect(chat.cards_used).toEqual([{ prompt_id: cardId, title: 'Rule' }]);
    // The admin's own listing holds only the admin's projects.
    const listed = await ok(gw.call('GET', '/projects', { token: admin }));
    expect((listed.projects as Json[]).some((p) => p.project_id === pid)).toBe(false);
    expect(String(claimsOf(admin)['cognito:groups'])).toContain('admin');
  });

  it('no token: 401', async () => {
    const res = await gw.call('GET', `/projects/${pid}`, { token: null });
    expect([res.status, res.body]).toEqual([401, { message: 'Unauthorized' }]);
  });
});

describe('chat with the offline chat responder', () => {
  it('answers from the active cards in step order, stores the exchange with a TTL and returns the history', async () => {
    const pid = String((await newProject(gw, { name: 'chatty' })).project_id);
    await addCard(pid, { title: 'Second: the tone', text: 'Tone: spooky\nKeep every answer gentle.', step_order: 20 });
    await addCard(pid, { title: 'Never shown', text: 'Talk like a robot.', step_order: 1, is_active: false });
    await addCard(pid, { title: 'First: the world', text: 'Genre: fantasy\nThe stories happen in a lighthouse by the sea. Owls live there.', step_order: 10 });
    const before = Date.now();
    const first = await ok(gw.call('POST', `/projects/${pid}/chat`, { body: { input: 'A story about an owl named Ada who is afraid of the dark' } }));
    expect(first).toMatchObject({
      project_id: pid,
      session_id: expect.stringMatching(UUID),
      engine: 'offline-chat-responder',
      model: 'offline-chat-responder-v1',
      cards_used: [{ prompt_id: expect.any(String), title: 'First: the world' }, { prompt_id: expect.any(String), title: 'Second: the tone' }],
      history_messages: 0,
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
      processing_ms: expect.any(Number),
    });
    const answer = String(first.answer);
    expect(answer).toContain('Following your 2 active prompt cards in order: "First: the world" and "Second: the tone".');
    expect(answer).toContain('1. First: the world: The stories happen in a lighthouse by the sea.');
    expect(answer).toContain('2. Second: the tone: Keep every answer gentle.');
    expect(answer).toContain('Here is a spooky fantasy idea for grade 3, in three steps:');
    expect(answer).toMatch(/- Beginning: \S.+\n- Middle: \S.+\n- End: \S.+$/);
    expect(answer).not.toContain('robot');

    const sessionId = String(first.session_id);
    const items = await historyItems(sessionId);
    expect(items).toHaveLength(1);
    const item = items[0] as Json;
    expect(item).toMatchObject({ session_id: sessionId, project_id: pid, user_id: gw.sub, user_input: 'A story about an owl named Ada who is afraid of the dark', answer, engine: 'offline-chat-responder' });
    const ninetyDays = 90 * 86_400;
    expect(Number(item.expires_at)).toBeGreaterThanOrEqual(Math.floor(before / 1000) + ninetyDays);
    expect(Number(item.expires_at)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + ninetyDays);

    const second = await ok(gw.call('POST', `/projects/${pid}/chat`, { body: { input: 'Now make it about a fox', session_id: sessionId } }));
    expect(second).toMatchObject({ session_id: sessionId, history_messages: 1 });
    expect(String(second.answer)).toContain('Message 2 of our conversation; you asked: "Now make it about a fox"');

    const history = await ok(gw.call('GET', `/projects/${pid}/chat/${sessionId}`));
    expect(history).toMatchObject({ project_id: pid, session_id: sessionId, next_cursor: null });
    const messages = history.messages as Json[];
    expect(messages.map((m) => m.user_input)).toEqual(['A story about an owl named Ada who is afraid of the dark', 'Now make it about a fox']);
    expect(messages[0]).toEqual({
      timestamp: first.timestamp,
      created_at: first.created_at,
      user_id: gw.sub,
      user_input: 'A story about an owl named Ada who is afraid of the dark',
      answer,
      cards_used: first.cards_used,
      processing_ms: first.processing_ms,
      usage: first.usage,
      engine: 'offline-chat-responder',
      model: 'offline-chat-responder-v1',
      expires_at: item.expires_at,
    });
    // A page at a time, oldest first.
    const page1 = await ok(gw.call('GET', `/projects/${pid}/chat/${sessionId}?limit=1`));
    expect((page1.messages as Json[]).map((m) => m.user_input)).toEqual(['A story about an owl named Ada who is afraid of the dark']);
    const page2 = await ok(gw.call('GET', `/projects/${pid}/chat/${sessionId}?limit=1&cursor=${String(page1.next_cursor)}`));
    expect([(page2.messages as Json[]).map((m) => m.user_input), page2.next_cursor]).toEqual([['Now make it about a fox'], null]);
  });

  it('is deterministic, and answers plainly without active cards', async () => {
    const responder = new OfflineChatResponder();
    const call = { system: [cardBlock('Rules', 'Tone: funny\nAlways name a cat.')], messages: [], input: 'A trip to the moon', modelId: 'x', seed: 's1' };
    const a = await responder.chat(call);
    const pieces: string[] = [];
    const b = await responder.chat({ ...call, seed: 's2', onDelta: (t) => pieces.push(t) });
    expect(b.text).toBe(a.text);
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join('')).toBe(a.text);
    expect(rulesOf(call.system)).toEqual({ genre: 'adventure', tone: 'funny', readingLevel: 'grade 3' });
    const pid = String((await newProject()).project_id);
    const plain = await ok(gw.call('POST', `/projects/${pid}/chat`, { body: { input: 'Anything at all' } }));
    expect(plain).toMatchObject({ cards_used: [], history_messages: 0 });
    expect(String(plain.answer)).toMatch(/^No prompt cards are active in this project/);
  });

  it('streams the answer as delta events, then the result (SSE)', async () => {
    const pid = String((await newProject()).project_id);
    await addCard(pid, { title: 'Style', text: 'Use short words.' });
    const { status, contentType, events } = await readEvents(`${gw.url}/projects/${pid}/chat`, { input: 'A kite that wants to fly to the sun' });
    expect([status, contentType]).toEqual([200, expect.stringContaining('text/event-stream')]);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('progress');
    expect(names.at(-1)).toBe('result');
    expect(events.find((e) => e.event === 'progress' && e.data.stage === 'context')?.data).toEqual({ stage: 'context', detail: '1 active prompt cards, 0 earlier exchanges' });
    const deltas = events.filter((e) => e.event === 'delta');
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.every((d) => d.data.field === 'answer' && d.data.segment === 1)).toBe(true);
    const result = events.at(-1)?.data as { route: string; result: Json };
    expect(result.route).toBe('project_chat');
    expect(deltas.map((d) => d.data.text).join('')).toBe(result.result.answer);
  });

  it.each([
    ['no input', {}, 'input must be a string'],
    ['an input of 8001 characters', { input: 'x'.repeat(CHAT_INPUT_MAX + 1) }, `input must be at most ${CHAT_INPUT_MAX} characters`],
    ['a session id that is not a UUID', { input: 'hi', session_id: 'abc' }, 'session_id must be a UUID (lower-case, as the API made it)'],
  ])('400 for %s', async (_what, body, message) => {
    const pid = String((await newProject()).project_id);
    const res = await gw.call('POST', `/projects/${pid}/chat`, { body });
    expect([res.status, res.body.error]).toEqual([400, message]);
  });

  it('404 for a session the project does not have; 400 for a bad history cursor', async () => {
    const pid = String((await newProject()).project_id);
    const res = await gw.call('GET', `/projects/${pid}/chat/${NOBODYS}`);
    expect([res.status, res.body.error]).toEqual([404, `Chat session ${NOBODYS} not found in project ${pid}`]);
    const s = String((await ok(gw.call('POST', `/projects/${pid}/chat`, { body: { input: 'hi' } }))).session_id);
    const bad = await gw.call('GET', `/projects/${pid}/chat/${s}?cursor=xyz`);
    expect([bad.status, bad.body.error]).toEqual([400, 'cursor is not valid; pass the next_cursor of a previous page']);
  });
});

describe('chat with the Bedrock chat model (the local Bedrock server)', () => {
  let bedrock: LocalBedrockServer;
  let bgw: TestGateway;
  beforeAll(async () => {
    bedrock = new LocalBedrockServer();
    const url = await bedrock.listen();
    bgw = await startTestGateway({ config: testConfig({ STORY42_TEXT_PROVIDER: 'bedrock', STORY42_BEDROCK_ENDPOINT: url, STORY42_MODEL_BACKOFF_MS: '1', STORY42_MODEL_MAX_BACKOFF_MS: '2' }) });
  });
  afterAll(async () => {
    await bgw.stop();
    await bedrock.close();
  });
  beforeEach(() => bedrock.reset());

  it('a project with three cards (one inactive) chats with the two active ones in step order', async () => {
    const pid = String((await newProject(bgw, { name: 'three cards' })).project_id);
    const later = await addCard(pid, { title: 'Later', text: 'Answer in two sentences.', step_order: 7 }, bgw);
    await addCard(pid, { title: 'Off', text: 'Only speak French.', step_order: 0, is_active: false }, bgw);
    const earlier = await addCard(pid, { title: 'Earlier', text: 'You write for children.', step_order: 3 }, bgw);
    const res = await ok(bgw.call('POST', `/projects/${pid}/chat`, { body: { input: 'Tell me about otters.' } }));
    expect(bedrock.lastRequests).toHaveLength(1);
    expect(bedrock.lastRequests[0]).toEqual({
      op: 'converse-stream',
      modelId: 'us.amazon.nova-pro-v1:0',
      system: ['## Earlier\nYou write for children.', '## Later\nAnswer in two sentences.'],
      messages: [{ role: 'user', text: 'Tell me about otters.' }],
      tools: [],
    });
    expect(res).toMatchObject({
      engine: 'bedrock',
      model: 'bedrock/us.amazon.nova-pro-v1:0',
      cards_used: [{ prompt_id: earlier.prompt_id, title: 'Earlier' }, { prompt_id: later.prompt_id, title: 'Later' }],
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
    });
    expect(res.answer).toBe('I received 2 system blocks and 1 message. System 1: "## Earlier You write for children.". System 2: "## Later Answer in two sentences.". Your last message: "Tell me about otters.".');

    // The next message of the session carries the exchange before it.
    await ok(bgw.call('POST', `/projects/${pid}/chat`, { body: { input: 'And beavers?', session_id: res.session_id } }));
    expect(bedrock.lastRequests[1]?.messages).toEqual([
      { role: 'user', text: 'Tell me about otters.' },
      { role: 'assistant', text: res.answer },
      { role: 'user', text: 'And beavers?' },
    ]);
  });

  it('shows the model the session\'s newest 50 exchanges (oldest left out), then the input', async () => {
    const pid = String((await newProject(bgw)).project_id);
    const first = await ok(bgw.call('POST', `/projects/${pid}/chat`, { body: { input: 'exchange 0' } }));
    const sessionId = String(first.session_id);
    // 51 more exchanges, stored straight into the history table.
    const c = config();
    const store = new DynamoProjectStore(dynamoDocumentClient(c), { projects: c.projects?.table ?? '', cards: c.projects?.cardsTable ?? '', chatHistory: c.projects?.chatHistoryTable ?? '' });
    const base = Number(first.timestamp);
    for (let i = 1; i <= 51; i++) {
      const rec: ChatRecord = { sessionId, timestamp: base + i, projectId: pid, userId: bgw.sub, input: `exchange ${i}`, answer: `answer ${i}`, cardsUsed: [], processingMs: 1, engine: 'bedrock', model: 'bedrock/x', createdAt: new Date(base + i).toISOString(), expiresAt: 0 };
      await store.appendChat(rec);
    }
    const res = await ok(bgw.call('POST', `/projects/${pid}/chat`, { body: { input: 'the newest', session_id: sessionId } }));
    expect(res.history_messages).toBe(50);
    const received = bedrock.lastRequests.at(-1)?.messages ?? [];
    expect(received).toHaveLength(101);
    expect(received.slice(0, 2)).toEqual([{ role: 'user', text: 'exchange 2' }, { role: 'assistant', text: 'answer 2' }]);
    expect(received.slice(-3)).toEqual([{ role: 'user', text: 'exchange 51' }, { role: 'assistant', text: 'answer 51' }, { role: 'user', text: 'the newest' }]);
    expect(received.map((m) => m.role)).toEqual(Array.from({ length: 101 }, (_, i) => (i % 2 === 0 ? 'user' : 'assistant')));
  });

  it('streams the model\'s deltas; a throttled model is retried, one that stays throttled is a 429', async () => {
    const pid = String((await newProject(bgw)).project_id);
    bedrock.knobs.failures.push('ThrottlingException');
    const { events } = await readEvents(`${bgw.url}/projects/${pid}/chat`, { input: 'Hi there, model' });
    const deltas = events.filter((e) => e.event === 'delta');
    const result = events.at(-1)?.data as { result: Json };
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.data.text).join('')).toBe(result.result.answer);
    expect(bedrock.counters.converseStream).toBe(2);

    // Broken off after its first piece: the stream starts over, and says so before the new deltas.
    bedrock.reset();
    bedrock.knobs.streamFailures.push('ServiceUnavailableException');
    const retried = await readEvents(`${bgw.url}/projects/${pid}/chat`, { input: 'Once more, model' });
    const restart = retried.events.findIndex((e) => e.event === 'progress' && e.data.stage === 'restarted');
    expect(retried.events.slice(0, restart).filter((e) => e.event === 'delta')).toHaveLength(1);
    const final = retried.events.at(-1)?.data as { result: Json };
    expect(retried.events.slice(restart).filter((e) => e.event === 'delta').map((d) => d.data.text).join('')).toBe(final.result.answer);

    bedrock.reset();
    bedrock.knobs.failures.push(...Array.from({ length: 10 }, () => 'ThrottlingException' as const));
    const throttled = await bgw.call('POST', `/projects/${pid}/chat`, { body: { input: 'again' } });
    expect([throttled.status, throttled.body.error, throttled.headers.get('retry-after')]).toEqual([429, 'The Bedrock model is throttling requests; try again shortly', expect.any(String)]);
  });
});

describe('deleting a project', () => {
  it('removes its cards (rows and text) and its chats, and says how many', async () => {
    const pid = String((await newProject()).project_id);
    const cards = [await addCard(pid, { title: 'a', text: 'one' }), await addCard(pid, { title: 'b', text: 'two', is_active: false })];
    const s1 = String((await ok(gw.call('POST', `/projects/${pid}/chat`, { body: { input: 'first session' } }))).session_id);
    await ok(gw.call('POST', `/projects/${pid}/chat`, { body: { input: 'first session, again', session_id: s1 } }));
    const s2 = String((await ok(gw.call('POST', `/projects/${pid}/chat`, { body: { input: 'second session' } }))).session_id);
    // Another project's chats stay.
    const keep = String((await newProject()).project_id);
    const kept = String((await ok(gw.call('POST', `/projects/${keep}/chat`, { body: { input: 'keep me' } }))).session_id);
    expect(await cardObjects(pid)).toHaveLength(2);

    expect(await ok(gw.call('DELETE', `/projects/${pid}`))).toEqual({ project_id: pid, deleted_cards: 2, deleted_card_objects: 2, deleted_chat_messages: 3 });
    expect(await cardObjects(pid)).toEqual([]);
    expect(await historyItems(s1)).toEqual([]);
    expect(await historyItems(s2)).toEqual([]);
    expect(await historyItems(kept)).toHaveLength(1);
    const c = config();
    const row = await dynamoDocumentClient(c).send(new GetCommand({ TableName: c.projects?.cardsTable, Key: { project_id: pid, prompt_id: String(cards[0]?.prompt_id) }, ConsistentRead: true }));
    expect(row.Item).toBeUndefined();
    for (const path of [`/projects/${pid}`, `/projects/${pid}/prompt-cards`, `/projects/${pid}/chat/${s1}`]) expect((await gw.call('GET', path)).status).toBe(404);
  });
});

describe('a card is never half-written', () => {
  const caller = (): Caller => ({ sub: gw.sub, email: DEMO_USER.email, username: 'demo', groups: ['user'] });

  /** The service over the suite's stores, except that card rows go to a DynamoDB that is not there. */
  function serviceWithBrokenCardRows(): { service: ProjectsService; texts: S3CardTextStore } {
    const c = config();
    const tables = { projects: c.projects?.table ?? '', cards: c.projects?.cardsTable ?? '', chatHistory: c.projects?.chatHistoryTable ?? '' };
    const good = new DynamoProjectStore(dynamoDocumentClient(c), tables);
    const down = new DynamoProjectStore(dynamoDocumentClient(testConfig({ STORY42_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9', STORY42_STORAGE_TIMEOUT_MS: '300', STORY42_STORAGE_MAX_ATTEMPTS: '1' })), tables);
    const store = Object.assign(Object.create(good) as DynamoProjectStore, {
      createCard: (card: CardRecord) => down.createCard(card),
      updateCard: (...args: Parameters<DynamoProjectStore['updateCard']>) => down.updateCard(...args),
    });
    const texts = new S3CardTextStore(s3Client(c), c.promptsBucket ?? '');
    const service = new ProjectsService({ store, texts, chat: new OfflineChatResponder(), chatModelId: 'x', historyTtlDays: 90, telemetry: quietTelemetry(), clock: { now: () => Date.now() }, newId: () => crypto.randomUUID() });
    return { service, texts };
  }

  it('create: the text is stored first, and removed again when the row cannot be written (503)', async () => {
    const pid = String((await newProject()).project_id);
    const { service } = serviceWithBrokenCardRows();
    await expect(service.createCard(caller(), pid, { title: 'doomed', text: 'This text must not stay behind.' })).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(await cardObjects(pid)).toEqual([]);
    expect(((await ok(gw.call('GET', `/projects/${pid}/prompt-cards`))).prompt_cards as Json[])).toEqual([]);
  });

  it('update: when the row cannot be updated, the text goes back to what it was', async () => {
    const pid = String((await newProject()).project_id);
    const card = await addCard(pid, { title: 'kept', text: 'The original text.' });
    const { service, texts } = serviceWithBrokenCardRows();
    await expect(service.updateCard(caller(), pid, String(card.prompt_id), { text: 'A new text that must not win.' })).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(await texts.get(pid, String(card.prompt_id))).toBe('The original text.');
    expect(await ok(gw.call('GET', `/projects/${pid}/prompt-cards/${String(card.prompt_id)}`))).toMatchObject({ text: 'The original text.', text_bytes: 18 });
  });
});

describe('configuration', () => {
  const base = { STORY42_IMAGES_BUCKET: 'images', STORY42_SESSIONS_TABLE: 'sessions' };

  it('the project tables come all three or none; the chat model must be an allowed one', () => {
    expect(loadConfig(base).projects).toBeUndefined();
    expect(loadConfig(base).chat).toEqual({ modelId: 'us.amazon.nova-pro-v1:0', historyTtlDays: 90 });
    expect(() => loadConfig({ ...base, STORY42_PROJECTS_TABLE: 'p' })).toThrow('STORY42_PROJECTS_TABLE must be a DynamoDB table name');
    expect(() => loadConfig({ ...base, STORY42_PROJECTS_TABLE: 'projects' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, STORY42_PROJECTS_TABLE: 'projects' })).toThrow('must be set together');
    expect(() => loadConfig({ ...base, STORY42_CHAT_MODEL: 'bedrock/not-allowed' })).toThrow('STORY42_CHAT_MODEL must be one of the allowed models');
    expect(() => loadConfig({ ...base, STORY42_CHAT_HISTORY_TTL_DAYS: '0' })).toThrow('STORY42_CHAT_HISTORY_TTL_DAYS must be an integer between 1 and 3650');
    const full = loadConfig({ ...base, STORY42_PROJECTS_TABLE: 'prj1', STORY42_PROMPT_CARDS_TABLE: 'crd1', STORY42_CHAT_HISTORY_TABLE: 'hst1', STORY42_CHAT_MODEL: 'us.openai.gpt-oss-120b-1:0', STORY42_CHAT_HISTORY_TTL_DAYS: '7' });
    expect([full.projects, full.chat]).toEqual([{ table: 'prj1', cardsTable: 'crd1', chatHistoryTable: 'hst1' }, { modelId: 'us.openai.gpt-oss-120b-1:0', historyTtlDays: 7 }]);
    expect(testState().env).toMatchObject({ STORY42_PROJECTS_TABLE: 'story42-local-projects', STORY42_PROMPT_CARDS_TABLE: 'story42-local-prompt-cards', STORY42_CHAT_HISTORY_TABLE: 'story42-local-chat-history' });
  });

  it('is required where the project routes run: the data-ops and text-regen Lambdas, not image-regen', () => {
    const bare = loadConfig(base);
    const of = (lambda: string) => ROUTES.filter((r) => r.lambda === lambda);
    expect(() => checkRouteNeeds(bare, of('data-ops'))).toThrow(/STORY42_PROJECTS_TABLE, STORY42_PROMPT_CARDS_TABLE, STORY42_CHAT_HISTORY_TABLE and STORY42_PROMPTS_BUCKET must be set: this process serves create_project/);
    expect(() => checkRouteNeeds(bare, of('text-regen'))).toThrow(/this process serves project_chat$/);
    expect(() => checkRouteNeeds(bare, of('image-regen'))).not.toThrow();
    expect(() => checkRouteNeeds(config(), ROUTES)).not.toThrow();
  });
});
