/**
 * The agent's sessions and artifacts in S3 (the suite's s3rver), owners in the sessions table
 * (the suite's dynalite): ids, ownership (403/404), path attacks (400 before any I/O), content
 * types, caps (413 size, 409 count), the conversation window, unreadable stored files, delete,
 * and storage failures (503 in bounded time).
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { dynamoDocumentClient, s3Client } from '../src/aws/clients';
import { DynamoSessionStore } from '../src/aws/dynamo-session-store';
import { S3AgentSessionStore, type AgentSessionLimits } from '../src/aws/s3-agent-sessions';
import {
  ARTIFACT_MAX_BYTES,
  ARTIFACT_MAX_COUNT,
  CONVERSATION_MAX_BYTES,
  CONVERSATION_MAX_MESSAGES,
  CONVERSATION_READ_MAX_BYTES,
  SESSION_ID_PATTERN,
  contentTypeFor,
  newSessionId,
  sessionIdTime,
  sessionOwnerKey,
  sessionPrefix,
  startsTurn,
  validateArtifactPath,
  windowConversation,
  type ConversationMessage,
} from '../src/core/artifacts';
import { HttpError, StorageUnavailableError } from '../src/core/errors';
import type { Telemetry } from '../src/core/ports';
import { freePort } from '../src/local/services';
import type { Config } from '../src/platform/config';
import { testConfig } from './support/local';
import { stalledServer } from './support/stalled-server';

// ---------------------------------------------------------------------------------------------
// Helpers

interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

function recordingTelemetry(): Pick<Telemetry, 'log' | 'count'> & { lines: LogLine[]; counts: Map<string, number> } {
  const lines: LogLine[] = [];
  const counts = new Map<string, number>();
  return {
    lines,
    counts,
    log: (level, message, fields) => void lines.push({ level, message, fields }),
    count: (metric, by = 1) => void counts.set(metric, (counts.get(metric) ?? 0) + by),
  };
}

/** A clock the test moves. */
function testClock(start = 1_750_000_000_000): { now(): number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function buildStore(config: Config, opts: { limits?: Partial<AgentSessionLimits>; clock?: { now(): number } } = {}) {
  const telemetry = recordingTelemetry();
  const sessions = new DynamoSessionStore(dynamoDocumentClient(config), config.sessionsTable, 0);
  const store = new S3AgentSessionStore(s3Client(config), config.imagesBucket, sessions, opts.clock ?? testClock(), 600, { telemetry, ...(opts.limits ? { limits: opts.limits } : {}) });
  return { store, telemetry, sessions };
}

let subCounter = 0;
/** A caller id unique to this run (so listings see only this test's sessions). */
const newSub = (tag: string): string => `u${process.pid}x${Date.now().toString(36)}x${++subCounter}-${tag}`;

/** The HTTP status a call fails with ('resolved' if it does not fail). */
async function statusOf(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
}

async function messageOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

async function keysUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000 }));
  return (out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])).sort();
}

const userText = (text: string): ConversationMessage => ({ role: 'user', content: [{ text }] });
const assistantText = (text: string): ConversationMessage => ({ role: 'assistant', content: [{ text }] });
const toolUse = (id: string): ConversationMessage => ({ role: 'assistant', content: [{ toolUse: { toolUseId: id, name: 'web_search', input: { query: 'bees' } } }] });
const toolResult = (id: string): ConversationMessage => ({ role: 'user', content: [{ toolResult: { toolUseId: id, status: 'success', content: [{ text: `result ${id}` }] } }] });

/** A turn: the request, two tool calls with their results, the answer (6 messages). */
const toolTurn = (n: number): ConversationMessage[] => [
  userText(`request ${n}`),
  toolUse(`${n}a`),
  toolResult(`${n}a`),
  toolUse(`${n}b`),
  toolResult(`${n}b`),
  assistantText(`answer ${n}`),
];

/** 50 messages: a 2-message turn, then 8 six-message turns. The last 40 start inside a turn, at a tool result. */
const fiftyMessages = (): ConversationMessage[] => [userText('hello'), assistantText('hi'), ...Array.from({ length: 8 }, (_, i) => toolTurn(i + 1)).flat()];

const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v), 'utf8');

const config = testConfig();
const s3 = s3Client(config);
const bucket = config.imagesBucket;

// ---------------------------------------------------------------------------------------------
// Pure rules

describe('session ids', () => {
  it('are time-ordered newest first in key order, carry their creation time, and have the exported pattern', () => {
    const older = newSessionId(1_750_000_000_000, () => 'zzzzzzzz');
    const newer = newSessionId(1_750_000_000_001, () => '00000000');
    expect(older).toMatch(SESSION_ID_PATTERN);
    expect(newer).toMatch(SESSION_ID_PATTERN);
    expect(newer < older).toBe(true);
    expect(sessionIdTime(older)).toBe(1_750_000_000_000);
    // Fixed width across magnitudes: an early and a far-future time still sort by time.
    const early = newSessionId(1, () => 'abcdefgh');
    const late = newSessionId(9_999_999_999_999, () => 'abcdefgh');
    expect([early.length, late.length]).toEqual([older.length, older.length]);
    expect(late < older && older < early).toBe(true);
  });

  it('reject a bad suffix or time, and default to a random suffix', () => {
    expect(() => newSessionId(1_750_000_000_000, () => 'short')).toThrow();
    expect(() => newSessionId(1_750_000_000_000, () => 'ABCDEFGH')).toThrow();
    expect(() => newSessionId(-1)).toThrow(RangeError);
    expect(() => newSessionId(10 ** 13)).toThrow(RangeError);
    const a = newSessionId(1_750_000_000_000);
    const b = newSessionId(1_750_000_000_000);
    expect(a).toMatch(SESSION_ID_PATTERN);
    expect(a).not.toBe(b);
  });
});

describe('artifact paths', () => {
  it.each(['story.md', 'panels/panel-1.png', 'a/b/c/d/e/f/g/h.txt', 'notes_v1.2-final.json', 'x'.repeat(64), `${'a'.repeat(64)}/${'b'.repeat(64)}/${'c'.repeat(64)}/ddddd`, 'Makefile', 'a..b'])('accepts %j', (p) => {
    expect(validateArtifactPath(p)).toBe(p);
  });

  it('the longest path allowed is 200 characters', () => {
    const p = `${'a'.repeat(64)}/${'b'.repeat(64)}/${'c'.repeat(64)}/${'d'.repeat(5)}`;
    expect(p.length).toBe(200);
    expect(validateArtifactPath(p)).toBe(p);
  });

  it.each([
    ['../x', '".." segments'],
    ['/etc/passwd', 'leading "/"'],
    ['a/../../b', '".." segments'],
    ['a\\b', '"\\"'],
    ['.hidden', 'start with "."'],
    ['a/.git/config', 'start with "."'],
    ['./a', '"." or ".."'],
    ['a//b', 'empty segments'],
    ['a/', 'empty segments'],
    ['', 'empty'],
    [`${'a'.repeat(64)}/${'b'.repeat(64)}/${'c'.repeat(64)}/${'d'.repeat(6)}`, '200 characters'],
    ['a/b/c/d/e/f/g/h/i', '8 segments'],
    ['a\u0000.md', 'control characters'],
    ['a\n.md', 'control characters'],
    ['%2e%2e/x', 'letters, digits'],
    ['my story.md', 'letters, digits'],
    ['été.md', 'letters, digits'],
    ['x'.repeat(65), '64 characters'],
    ['C:/x', 'letters, digits'],
  ])('rejects %j with a 400 naming the rule (%s)', (p, rule) => {
    let caught: unknown;
    try {
      validateArtifactPath(p);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HttpError);
    expect((caught as HttpError).status).toBe(400);
    expect((caught as HttpError).message).toContain(rule);
  });

  it.each([
    ['story.md', 'text/markdown'],
    ['notes.TXT', 'text/plain'],
    ['data/result.json', 'application/json'],
    ['page.html', 'text/html'],
    ['table.csv', 'text/csv'],
    ['panels/1.png', 'image/png'],
    ['a.jpg', 'image/jpeg'],
    ['a.JPEG', 'image/jpeg'],
    ['narration.mp3', 'audio/mpeg'],
    ['voice.wav', 'audio/wav'],
    ['diagram.svg', 'image/svg+xml'],
    ['archive.tar.gz', 'application/octet-stream'],
    ['Makefile', 'application/octet-stream'],
    ['dir.md/file', 'application/octet-stream'],
  ])('content type of %j is %s', (p, type) => {
    expect(contentTypeFor(p)).toBe(type);
  });
});

describe('the conversation window', () => {
  const window = { maxMessages: CONVERSATION_MAX_MESSAGES, maxBytes: CONVERSATION_MAX_BYTES };

  it('50 messages: keeps a suffix of at most 40, starting at a request (not at the tool result the last 40 would start with)', () => {
    const all = fiftyMessages();
    expect(all).toHaveLength(50);
    expect(all[10]?.content[0]).toHaveProperty('toolResult');
    const w = windowConversation(all, window);
    expect(w.messages.length).toBeLessThanOrEqual(40);
    expect(w.messages).toEqual(all.slice(14));
    expect(w.dropped).toBe(14);
    expect(w.truncated).toBe(false);
    expect(w.messages[0]).toEqual(userText('request 3'));
    expect(startsTurn(w.messages[0] as ConversationMessage)).toBe(true);
  });

  it('recognises Strands block instances too (type: toolResultBlock)', () => {
    const strandsResult: ConversationMessage = { role: 'user', content: [{ type: 'toolResultBlock', toolUseId: 't', status: 'success', content: [] }] };
    const msgs = [toolUse('t'), strandsResult, assistantText('a'), userText('next'), assistantText('b')];
    expect(windowConversation(msgs, { maxMessages: 4, maxBytes: 10_000 }).messages).toEqual(msgs.slice(3));
  });

  it('a large conversation: whole oldest turns are dropped until it fits the byte cap, as many as fit are kept', () => {
    const big = 'x'.repeat(20_000);
    const all = Array.from({ length: 20 }, (_, i) => [userText(`${i} ${big}`), assistantText(`${i} ${big}`)]).flat();
    const w = windowConversation(all, window);
    expect(jsonBytes(w.messages)).toBeLessThanOrEqual(CONVERSATION_MAX_BYTES);
    expect(w.messages).toEqual(all.slice(all.length - w.messages.length));
    expect(w.messages[0]?.role).toBe('user');
    expect(w.messages.length).toBe(12);
    // One more turn would not have fitted.
    expect(jsonBytes(all.slice(all.length - w.messages.length - 2))).toBeGreaterThan(CONVERSATION_MAX_BYTES);
  });

  it('a newest turn too large on its own: its request and final answer are kept with long strings cut, under the cap', () => {
    const huge = 'y'.repeat(300_000);
    const all = [userText('old'), assistantText('old answer'), userText(`make it ${huge}`), toolUse('t1'), toolResult('t1'), assistantText(`done ${huge}`)];
    const w = windowConversation(all, window);
    expect(w.truncated).toBe(true);
    expect(w.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(jsonBytes(w.messages)).toBeLessThanOrEqual(CONVERSATION_MAX_BYTES);
    expect(JSON.stringify(w.messages[0])).toContain('make it yyy');
    expect(JSON.stringify(w.messages[0])).toContain('[truncated ');
  });

  it('a conversation with no request at all is empty', () => {
    expect(windowConversation([toolResult('t'), assistantText('x')], window).messages).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The store against the local emulators

describe('sessions: create, get, list', () => {
  it('creates a session owned by the caller and reads it back', async () => {
    const clock = testClock(1_760_000_000_000);
    const { store, sessions } = buildStore(config, { clock });
    const sub = newSub('a');
    const meta = await store.create(sub, '  Bees and honey  ');
    expect(meta).toEqual({ session_id: expect.stringMatching(SESSION_ID_PATTERN), created_at: '2025-10-09T08:53:20.000Z', updated_at: '2025-10-09T08:53:20.000Z', title: 'Bees and honey', message_count: 0 });
    expect(sessionIdTime(meta.session_id)).toBe(1_760_000_000_000);
    expect(await store.get(sub, meta.session_id)).toEqual(meta);
    expect(await sessions.jobOwner(sessionOwnerKey(meta.session_id))).toBe(sub);
    // metadata.json is where the design says.
    expect(await keysUnder(s3, bucket, sessionPrefix(sub, meta.session_id))).toEqual([`${sessionPrefix(sub, meta.session_id)}metadata.json`]);
  });

  it('rejects a title over 200 characters or with control characters (400)', async () => {
    const { store } = buildStore(config);
    expect(await statusOf(store.create(newSub('t'), 't'.repeat(201)))).toBe(400);
    expect(await statusOf(store.create(newSub('t'), 'a\u0000b'))).toBe(400);
    expect((await store.create(newSub('t'), 't'.repeat(200))).title).toHaveLength(200);
  });

  it('lists the caller\'s sessions newest first, page by page with a cursor', async () => {
    const clock = testClock();
    const { store } = buildStore(config, { clock });
    const sub = newSub('list');
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      created.push((await store.create(sub, `session ${i}`)).session_id);
    }
    const newestFirst = [...created].reverse();
    const p1 = await store.list(sub, { limit: 2 });
    expect(p1.sessions.map((s) => s.session_id)).toEqual(newestFirst.slice(0, 2));
    expect(p1.sessions.map((s) => s.title)).toEqual(['session 4', 'session 3']);
    expect(p1.next_cursor).toBe(newestFirst[1]);
    const p2 = await store.list(sub, { limit: 2, cursor: p1.next_cursor });
    expect(p2.sessions.map((s) => s.session_id)).toEqual(newestFirst.slice(2, 4));
    const p3 = await store.list(sub, { limit: 2, cursor: p2.next_cursor });
    expect(p3.sessions.map((s) => s.session_id)).toEqual(newestFirst.slice(4));
    expect(p3.next_cursor).toBeNull();
    const all = await store.list(sub, { limit: 5 });
    expect([all.sessions.map((s) => s.session_id), all.next_cursor]).toEqual([newestFirst, null]);
    expect((await store.list(sub)).sessions).toHaveLength(5);
    // Another user sees none of them.
    expect(await store.list(newSub('other'))).toEqual({ sessions: [], next_cursor: null });
  });

  it('skips a session folder without metadata when listing', async () => {
    const { store } = buildStore(config);
    const sub = newSub('orphan');
    const real = await store.create(sub);
    const orphan = newSessionId(1_700_000_000_000, () => 'orphan00');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${sessionPrefix(sub, orphan)}logs/1.json`, Body: '{}' }));
    expect((await store.list(sub)).sessions.map((s) => s.session_id)).toEqual([real.session_id]);
  });

  it.each([[0], [51], [1.5], [-1]])('limit %p is a 400', async (limit) => {
    const { store } = buildStore(config);
    expect(await statusOf(store.list(newSub('l'), { limit }))).toBe(400);
  });

  it.each([['nope'], ['../s0000000000-aaaaaaaa'], ['s0000000000-aaaaaaaa/x'], ['']])('cursor %j is a 400', async (cursor) => {
    const { store } = buildStore(config);
    expect(await statusOf(store.list(newSub('c'), { cursor }))).toBe(400);
  });
});

describe('ownership', () => {
  it('another user\'s session is a 403 on every operation, and nothing of theirs is written', async () => {
    const { store } = buildStore(config);
    const owner = newSub('owner');
    const intruder = newSub('intruder');
    const { session_id: id } = await store.create(owner, 'mine');
    await store.writeArtifact(owner, id, 'story.md', Buffer.from('# Bees'));
    await store.saveConversation(owner, id, [userText('hi'), assistantText('hello')]);

    expect(await statusOf(store.get(intruder, id))).toBe(403);
    expect(await statusOf(store.delete(intruder, id))).toBe(403);
    expect(await statusOf(store.loadConversation(intruder, id))).toBe(403);
    expect(await statusOf(store.saveConversation(intruder, id, [userText('x')]))).toBe(403);
    expect(await statusOf(store.writeArtifact(intruder, id, 'story.md', Buffer.from('overwritten')))).toBe(403);
    expect(await statusOf(store.readArtifact(intruder, id, 'story.md'))).toBe(403);
    expect(await statusOf(store.listArtifacts(intruder, id))).toBe(403);
    expect(await statusOf(store.presignArtifact(intruder, id, 'story.md'))).toBe(403);
    expect(await store.appendLog(intruder, id, { tool: 'x' })).toBe(false);

    // The intruder's attempts left nothing under either prefix, and the owner's session is intact.
    expect(await keysUnder(s3, bucket, `users/${intruder}/`)).toEqual([]);
    expect(Buffer.from((await store.readArtifact(owner, id, 'story.md')).bytes).toString()).toBe('# Bees');
    expect(await store.loadConversation(owner, id)).toEqual([userText('hi'), assistantText('hello')]);
    expect((await store.get(owner, id)).title).toBe('mine');
  });

  it('a session nobody has is a 404 on every operation', async () => {
    const { store } = buildStore(config);
    const sub = newSub('nobody');
    const id = newSessionId(1_750_000_000_000);
    expect(await statusOf(store.get(sub, id))).toBe(404);
    expect(await statusOf(store.delete(sub, id))).toBe(404);
    expect(await statusOf(store.loadConversation(sub, id))).toBe(404);
    expect(await statusOf(store.saveConversation(sub, id, [userText('x')]))).toBe(404);
    expect(await statusOf(store.writeArtifact(sub, id, 'a.md', Buffer.from('x')))).toBe(404);
    expect(await statusOf(store.readArtifact(sub, id, 'a.md'))).toBe(404);
    expect(await statusOf(store.listArtifacts(sub, id))).toBe(404);
    expect(await statusOf(store.presignArtifact(sub, id, 'a.md'))).toBe(404);
    expect(await keysUnder(s3, bucket, `users/${sub}/`)).toEqual([]);
  });

  it.each([['not-an-id'], ['S0000000000-AAAAAAAA'], ['s00000000-aaaaaaaa'], ['../s0000000000-aaaaaaaa'], ['s0000000000-aaaaaaaa/'], ['']])('session id %j is a 400', async (id) => {
    const { store } = buildStore(config);
    const sub = newSub('bad');
    const calls = [
      () => store.get(sub, id),
      () => store.delete(sub, id),
      () => store.loadConversation(sub, id),
      () => store.saveConversation(sub, id, []),
      () => store.writeArtifact(sub, id, 'a.md', Buffer.from('x')),
      () => store.readArtifact(sub, id, 'a.md'),
      () => store.listArtifacts(sub, id),
      () => store.presignArtifact(sub, id, 'a.md'),
    ];
    for (const call of calls) expect(await statusOf(call())).toBe(400);
  });
});

describe('artifacts', () => {
  it('writes, reads, lists and presigns, with content types by extension', async () => {
    const { store } = buildStore(config);
    const sub = newSub('art');
    const { session_id: id } = await store.create(sub);
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const written = await store.writeArtifact(sub, id, 'panels/panel-1.png', png);
    expect(written).toEqual({ path: 'panels/panel-1.png', size: png.byteLength, content_type: 'image/png', s3_uri: `s3://${bucket}/${sessionPrefix(sub, id)}artifacts/panels/panel-1.png` });
    await store.writeArtifact(sub, id, 'story.md', Buffer.from('# Bees\n'));
    await store.writeArtifact(sub, id, 'sources.json', Buffer.from('[]'));
    await store.writeArtifact(sub, id, 'blob.bin', Buffer.from('raw'));
    expect((await store.writeArtifact(sub, id, 'notes.dat', Buffer.from('a,b'), 'text/csv')).content_type).toBe('text/csv');
    expect(await statusOf(store.writeArtifact(sub, id, 'bad.dat', Buffer.from('x'), 'not a type'))).toBe(400);

    const read = await store.readArtifact(sub, id, 'panels/panel-1.png');
    expect([Buffer.from(read.bytes).equals(Buffer.from(png)), read.content_type]).toEqual([true, 'image/png']);
    expect(await store.readArtifact(sub, id, 'story.md')).toEqual({ bytes: expect.any(Uint8Array), content_type: 'text/markdown' });
    expect((await store.readArtifact(sub, id, 'notes.dat')).content_type).toBe('text/csv');

    const listed = await store.listArtifacts(sub, id);
    expect(listed.map((a) => [a.path, a.size, a.content_type])).toEqual([
      ['blob.bin', 3, 'application/octet-stream'],
      ['notes.dat', 3, 'application/octet-stream'],
      ['panels/panel-1.png', png.byteLength, 'image/png'],
      ['sources.json', 2, 'application/json'],
      ['story.md', 7, 'text/markdown'],
    ]);
    expect(listed.every((a) => !Number.isNaN(Date.parse(a.last_modified)))).toBe(true);

    // Overwrite replaces the content.
    await store.writeArtifact(sub, id, 'story.md', Buffer.from('# Bees, v2\n'));
    expect(Buffer.from((await store.readArtifact(sub, id, 'story.md')).bytes).toString()).toBe('# Bees, v2\n');

    // A presigned URL serves the bytes with the stored type.
    const url = await store.presignArtifact(sub, id, 'panels/panel-1.png', 120);
    expect(url).toContain('X-Amz-Expires=120');
    const res = await fetch(url);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(png))).toBe(true);
    expect(await statusOf(store.presignArtifact(sub, id, 'story.md', 0))).toBe(400);
    expect(await statusOf(store.presignArtifact(sub, id, 'story.md', 8 * 24 * 3600))).toBe(400);

    // Missing artifacts of an existing session are 404s.
    expect(await statusOf(store.readArtifact(sub, id, 'missing.md'))).toBe(404);
    expect(await statusOf(store.presignArtifact(sub, id, 'missing.md'))).toBe(404);
  });

  it('a new session has no artifacts', async () => {
    const { store } = buildStore(config);
    const sub = newSub('empty');
    const { session_id: id } = await store.create(sub);
    expect(await store.listArtifacts(sub, id)).toEqual([]);
  });

  it('path attacks are 400s before any I/O (the store\'s S3 and DynamoDB are unreachable)', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { store } = buildStore(testConfig({ STORY42_S3_ENDPOINT: dead, STORY42_DYNAMODB_ENDPOINT: dead, STORY42_STORAGE_TIMEOUT_MS: '300', STORY42_STORAGE_MAX_ATTEMPTS: '1' }));
    const sub = newSub('attack');
    const id = newSessionId(1_750_000_000_000);
    const attacks = ['../x', '/etc/passwd', 'a/../../b', 'a\\b', '.hidden', 'a//b', 'a'.repeat(201), 'a/b/c/d/e/f/g/h/i', 'a\u0000b', '%2e%2e/x', '..', 'a/./b'];
    for (const path of attacks) {
      expect([path, await statusOf(store.writeArtifact(sub, id, path, Buffer.from('x')))]).toEqual([path, 400]);
      expect([path, await statusOf(store.readArtifact(sub, id, path))]).toEqual([path, 400]);
      expect([path, await statusOf(store.presignArtifact(sub, id, path))]).toEqual([path, 400]);
    }
    // Too large is also decided before any I/O: 413.
    expect(await statusOf(store.writeArtifact(sub, id, 'big.bin', new Uint8Array(ARTIFACT_MAX_BYTES + 1)))).toBe(413);
    // …while a valid request does reach storage (and finds it down).
    expect(await statusOf(store.readArtifact(sub, id, 'ok.md'))).toBe(503);
  });

  it('the size cap: at most ARTIFACT_MAX_BYTES (5 MB) by default; one byte more is a 413 and nothing is stored', async () => {
    const { store } = buildStore(config);
    const sub = newSub('size');
    const { session_id: id } = await store.create(sub);
    expect(ARTIFACT_MAX_BYTES).toBe(5 * 1024 * 1024);
    const over = await messageOf(store.writeArtifact(sub, id, 'big.bin', new Uint8Array(ARTIFACT_MAX_BYTES + 1)));
    expect(over).toBe(`artifact is ${ARTIFACT_MAX_BYTES + 1} bytes; at most ${ARTIFACT_MAX_BYTES} bytes are allowed`);
    expect(await statusOf(store.writeArtifact(sub, id, 'big.bin', new Uint8Array(ARTIFACT_MAX_BYTES + 1)))).toBe(413);
    expect(await store.listArtifacts(sub, id)).toEqual([]);
    expect((await store.writeArtifact(sub, id, 'max.bin', new Uint8Array(ARTIFACT_MAX_BYTES))).size).toBe(ARTIFACT_MAX_BYTES);
    expect((await store.readArtifact(sub, id, 'max.bin')).bytes.byteLength).toBe(ARTIFACT_MAX_BYTES);
  });

  it('an artifact over the cap that got into storage some other way is a 413 on read, not read into memory', async () => {
    const { store } = buildStore(config, { limits: { maxArtifactBytes: 1024 } });
    const sub = newSub('bigread');
    const { session_id: id } = await store.create(sub);
    expect((await store.writeArtifact(sub, id, 'ok.txt', new Uint8Array(1024))).size).toBe(1024);
    expect(await statusOf(store.writeArtifact(sub, id, 'no.txt', new Uint8Array(1025)))).toBe(413);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${sessionPrefix(sub, id)}artifacts/big.txt`, Body: new Uint8Array(4096) }));
    expect(await statusOf(store.readArtifact(sub, id, 'big.txt'))).toBe(413);
    expect((await store.readArtifact(sub, id, 'ok.txt')).bytes.byteLength).toBe(1024);
  });

  it('the count cap: a new path past it is a 409, an overwrite is still allowed', async () => {
    expect(ARTIFACT_MAX_COUNT).toBe(200);
    const { store } = buildStore(config, { limits: { maxArtifacts: 3 } });
    const sub = newSub('count');
    const { session_id: id } = await store.create(sub);
    for (const p of ['a.md', 'b.md', 'c.md']) await store.writeArtifact(sub, id, p, Buffer.from(p));
    expect(await statusOf(store.writeArtifact(sub, id, 'd.md', Buffer.from('d')))).toBe(409);
    expect((await store.writeArtifact(sub, id, 'b.md', Buffer.from('b2'))).size).toBe(2);
    expect((await store.listArtifacts(sub, id)).map((a) => a.path)).toEqual(['a.md', 'b.md', 'c.md']);
    // Logs and the conversation do not count as artifacts.
    await store.appendLog(sub, id, { tool: 'x' });
    await store.saveConversation(sub, id, [userText('hi')]);
    expect(await statusOf(store.writeArtifact(sub, id, 'e.md', Buffer.from('e')))).toBe(409);
  });
});

describe('the persisted conversation', () => {
  it('an empty session has an empty conversation', async () => {
    const { store } = buildStore(config);
    const sub = newSub('conv0');
    const { session_id: id } = await store.create(sub);
    expect(await store.loadConversation(sub, id)).toEqual([]);
  });

  it('50 messages saved: the last ≤ 40 are kept, starting with a request; metadata follows', async () => {
    const clock = testClock();
    const { store } = buildStore(config, { clock });
    const sub = newSub('conv');
    const { session_id: id, created_at } = await store.create(sub, 'bees');
    clock.advance(60_000);
    const all = fiftyMessages();
    const saved = await store.saveConversation(sub, id, all);
    expect(saved).toMatchObject({ message_count: 36, dropped: 14 });
    const loaded = await store.loadConversation(sub, id);
    expect(loaded).toEqual(all.slice(14));
    expect(loaded.length).toBeLessThanOrEqual(CONVERSATION_MAX_MESSAGES);
    expect(loaded[0]).toEqual(userText('request 3'));
    const meta = await store.get(sub, id);
    expect(meta).toEqual({ session_id: id, created_at, updated_at: new Date(clock.now()).toISOString(), title: 'bees', message_count: 36 });
    expect(meta.updated_at > created_at).toBe(true);
    // The save answers the metadata it wrote.
    expect(saved.session).toEqual(meta);
  });

  it('a conversation continued by a second store (another task after a restart) reads back the same', async () => {
    const a = buildStore(config);
    const b = buildStore(config);
    const sub = newSub('restart');
    const { session_id: id } = await a.store.create(sub);
    await a.store.saveConversation(sub, id, [userText('make a story'), assistantText('here it is')]);
    const later = [...(await b.store.loadConversation(sub, id)), userText('make panel 2 at night'), assistantText('done')];
    await b.store.saveConversation(sub, id, later);
    expect((await a.store.loadConversation(sub, id)).map((m) => m.content[0])).toEqual([{ text: 'make a story' }, { text: 'here it is' }, { text: 'make panel 2 at night' }, { text: 'done' }]);
  });

  it('a huge conversation is stored under the byte cap', async () => {
    const { store } = buildStore(config);
    const sub = newSub('huge');
    const { session_id: id } = await store.create(sub);
    const big = 'z'.repeat(50_000);
    const all = Array.from({ length: 15 }, (_, i) => [userText(`${i} ${big}`), toolUse(`t${i}`), toolResult(`t${i}`), assistantText(`${i} ${big}`)]).flat();
    const saved = await store.saveConversation(sub, id, all);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `${sessionPrefix(sub, id)}conversation.json` }));
    expect(head.ContentLength).toBeLessThanOrEqual(CONVERSATION_MAX_BYTES);
    const loaded = await store.loadConversation(sub, id);
    expect(loaded).toEqual(all.slice(all.length - saved.message_count));
    expect(loaded.length).toBe(8);
    expect(startsTurn(loaded[0] as ConversationMessage)).toBe(true);
  });

  it('rejects a conversation of the wrong shape (400) and keeps the stored one', async () => {
    const { store } = buildStore(config);
    const sub = newSub('shape');
    const { session_id: id } = await store.create(sub);
    await store.saveConversation(sub, id, [userText('kept')]);
    const bad = [{ role: 'system', content: [] }] as unknown as ConversationMessage[];
    expect(await statusOf(store.saveConversation(sub, id, bad))).toBe(400);
    expect(await store.loadConversation(sub, id)).toEqual([userText('kept')]);
  });

  it.each([
    ['not JSON', '{"role": "user", "content": ['],
    ['the wrong shape', JSON.stringify({ role: 'user', content: [] })],
    ['a bad role', JSON.stringify([{ role: 'system', content: [] }])],
    ['content not an array', JSON.stringify([{ role: 'user', content: 'hi' }])],
  ])('a stored conversation that is %s reads as empty, with a log (not a 500)', async (_what, body) => {
    const { store, telemetry } = buildStore(config);
    const sub = newSub('corrupt');
    const { session_id: id } = await store.create(sub);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${sessionPrefix(sub, id)}conversation.json`, Body: body }));
    expect(await store.loadConversation(sub, id)).toEqual([]);
    expect(telemetry.lines).toEqual([expect.objectContaining({ level: 'warn', message: 'agent session: stored conversation is unreadable; treated as empty', fields: expect.objectContaining({ session_id: id }) })]);
    expect(telemetry.counts.get('agent_session_unreadable')).toBe(1);
    // Saving again repairs it.
    await store.saveConversation(sub, id, [userText('again')]);
    expect(await store.loadConversation(sub, id)).toEqual([userText('again')]);
  });

  it('a stored conversation over the read limit is not read: empty, with a log', async () => {
    const { store, telemetry } = buildStore(config);
    const sub = newSub('oversize');
    const { session_id: id } = await store.create(sub);
    const body = JSON.stringify([userText('w'.repeat(CONVERSATION_READ_MAX_BYTES))]);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${sessionPrefix(sub, id)}conversation.json`, Body: body }));
    expect(await store.loadConversation(sub, id)).toEqual([]);
    expect(telemetry.lines[0]?.fields).toEqual({ session_id: id, reason: `${Buffer.byteLength(body)} bytes, over the ${CONVERSATION_READ_MAX_BYTES} byte read limit` });
    // The store still answers afterwards (the unread body did not hold a connection hostage).
    expect((await store.get(sub, id)).session_id).toBe(id);
  });

  it('unreadable metadata is logged and rebuilt from the id; the session stays usable', async () => {
    const { store, telemetry } = buildStore(config);
    const sub = newSub('meta');
    const { session_id: id, created_at } = await store.create(sub, 'title');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${sessionPrefix(sub, id)}metadata.json`, Body: '{"session_id": 42}' }));
    expect(await store.get(sub, id)).toEqual({ session_id: id, created_at, updated_at: created_at, title: '', message_count: 0 });
    expect(telemetry.lines[0]?.message).toBe('agent session: stored metadata is unreadable; treated as empty');
    expect((await store.list(sub)).sessions.map((s) => s.session_id)).toEqual([id]);
    expect((await store.delete(sub, id)).deleted_objects).toBe(1);
  });
});

describe('logs', () => {
  it('appends bounded log entries under logs/', async () => {
    const { store } = buildStore(config);
    const sub = newSub('logs');
    const { session_id: id } = await store.create(sub);
    expect(await store.appendLog(sub, id, { tool: 'web_search', query: 'bees' })).toBe(true);
    expect(await store.appendLog(sub, id, { tool: 'huge', output: 'q'.repeat(100_000) })).toBe(true);
    const keys = await keysUnder(s3, bucket, `${sessionPrefix(sub, id)}logs/`);
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => /\/logs\/\d{13}-\d{6}[0-9a-z]{4}\.json$/.test(k))).toBe(true);
    const bodies = await Promise.all(keys.map(async (Key) => (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body?.transformToString()) ?? ''));
    expect(bodies.map((b) => Buffer.byteLength(b)).every((n) => n <= 8 * 1024)).toBe(true);
    const parsed = bodies.map((b) => JSON.parse(b) as Record<string, unknown>);
    expect(parsed).toContainEqual({ at: expect.any(String), tool: 'web_search', query: 'bees' });
    expect(parsed.find((p) => p.tool === 'huge')?.output).toEqual(expect.stringContaining('[truncated'));
  });
});

describe('delete', () => {
  it('removes everything of the session, releases its id, and later calls are 404s', async () => {
    const { store, sessions } = buildStore(config);
    const sub = newSub('del');
    const { session_id: id } = await store.create(sub);
    const { session_id: keep } = await store.create(sub);
    await store.writeArtifact(sub, id, 'story.md', Buffer.from('# Story'));
    await store.writeArtifact(sub, id, 'panels/1.png', Buffer.from('png'));
    await store.saveConversation(sub, id, [userText('hi'), assistantText('hello')]);
    await store.appendLog(sub, id, { tool: 'a' });
    await store.appendLog(sub, id, { tool: 'b' });
    const prefix = sessionPrefix(sub, id);
    expect(await keysUnder(s3, bucket, prefix)).toHaveLength(6);

    expect(await store.delete(sub, id)).toEqual({ deleted_objects: 6 });
    expect(await keysUnder(s3, bucket, prefix)).toEqual([]);
    expect(await sessions.jobOwner(sessionOwnerKey(id))).toBeUndefined();
    expect(await statusOf(store.get(sub, id))).toBe(404);
    expect(await statusOf(store.delete(sub, id))).toBe(404);
    expect(await statusOf(store.readArtifact(sub, id, 'story.md'))).toBe(404);
    expect(await statusOf(store.loadConversation(sub, id))).toBe(404);
    expect((await store.list(sub)).sessions.map((s) => s.session_id)).toEqual([keep]);
    // The other session is untouched.
    expect((await store.get(sub, keep)).session_id).toBe(keep);
  });
});


describe('storage failures', () => {
  const expectUnavailable = async (p: Promise<unknown>, withinMs: number): Promise<void> => {
    const started = performance.now();
    let caught: unknown;
    try {
      await p;
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StorageUnavailableError);
    expect((caught as StorageUnavailableError).status).toBe(503);
    expect(performance.now() - started).toBeLessThan(withinMs);
  };

  it('S3 refusing connections: 503 StorageUnavailableError, quickly; appendLog does not throw', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { store, telemetry } = buildStore(testConfig({ STORY42_S3_ENDPOINT: dead, STORY42_STORAGE_TIMEOUT_MS: '300', STORY42_STORAGE_MAX_ATTEMPTS: '1' }));
    const sub = newSub('down');
    const id = newSessionId(1_750_000_000_000);
    await expectUnavailable(store.create(sub), 5_000);
    await expectUnavailable(store.get(sub, id), 5_000);
    await expectUnavailable(store.list(sub), 5_000);
    await expectUnavailable(store.writeArtifact(sub, id, 'a.md', Buffer.from('x')), 5_000);
    await expectUnavailable(store.loadConversation(sub, id), 5_000);
    expect(await store.appendLog(sub, id, { tool: 'x' })).toBe(false);
    expect(telemetry.counts.get('agent_session_log_failures')).toBe(1);
  });

  it('S3 stalled (accepts, never answers): 503 after the storage deadline, not a hang', async () => {
    const stalled = await stalledServer();
    try {
      const { store } = buildStore(testConfig({ STORY42_S3_ENDPOINT: stalled.url, STORY42_STORAGE_TIMEOUT_MS: '300', STORY42_STORAGE_MAX_ATTEMPTS: '1' }));
      const sub = newSub('stall');
      const id = newSessionId(1_750_000_000_000);
      await expectUnavailable(store.readArtifact(sub, id, 'story.md'), 5_000);
      await expectUnavailable(store.listArtifacts(sub, id), 5_000);
      await expectUnavailable(store.delete(sub, id), 5_000);
    } finally {
      await stalled.close();
    }
  });

  it('DynamoDB down: creating a session (the owner claim) is a 503', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { store } = buildStore(testConfig({ STORY42_DYNAMODB_ENDPOINT: dead, STORY42_STORAGE_TIMEOUT_MS: '300', STORY42_STORAGE_MAX_ATTEMPTS: '1' }));
    await expectUnavailable(store.create(newSub('ddb')), 5_000);
  });
});
