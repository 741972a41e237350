/**
 * The local AWS: real servers that speak the AWS wire protocols — s3rver (S3), dynalite
 * (DynamoDB) and cognito-local (Cognito, as a child process) — plus the bootstrap that
 * creates the bucket, the sessions table with its GSIs, the user pool, app client, groups
 * and demo user. Used by `npm start` and by the test suite alike.
 *
 * Every server listens on 127.0.0.1 only. The run is recorded in the data directory's pid file
 * (run-file.ts): a start after a run that was killed ends what that run left behind, and
 * cognito-local exits by itself when this process does. s3rver and dynalite run in this process;
 * `suspend`/`resume` stop and restart one of them (fault tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  DescribeUserPoolClientCommand,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { LOCAL_CREDENTIALS } from '../aws/clients';
import { CHAT_HISTORY_SCHEMA, PROJECTS_SCHEMA, PROMPT_CARDS_SCHEMA, type TableSchema } from '../aws/projects-schema';
import { SEARCH_CACHE_SCHEMA } from '../aws/search-cache';
import { SESSIONS_SCHEMA } from '../aws/sessions-schema';
import { loadPromptsConfig } from '../platform/config';
import { bundledPromptsFor } from '../platform/prompt-wiring';
import { startIdOf } from './processes';
import { preparePromptsBucket } from './prompts-bucket';
import { portFree } from './http-util';
import { createRunFile, dataDirArg, reclaimStaleRun, removeRunFile, updateRunFile } from './run-file';

const LOCAL_REGION = 'us-east-1';

export interface LocalUser {
  email: string;
  password: string;
  groups: string[];
}

export const DEMO_USER: LocalUser = { email: 'demo@story42.local', password: 'Demo-Story42!', groups: ['user'] };
export const ADMIN_USER: LocalUser = { email: 'admin@story42.local', password: 'Admin-Story42!', groups: ['admin', 'user'] };

export interface LocalPorts {
  s3: number;
  dynamodb: number;
  cognito: number;
}

/** The storage servers that can be stopped and started again while the platform runs. */
export type StorageService = 's3' | 'dynamodb';

export interface LocalServices {
  ports: LocalPorts;
  bucket: string;
  table: string;
  userPoolId: string;
  clientId: string;
  /** Environment for `loadConfig` pointing every store at the local servers. */
  env: Record<string, string>;
  /** Closes that server and its open connections: requests to its port are refused until `resume`. */
  suspend(name: StorageService): Promise<void>;
  /** Starts it again on the same port with the same data (bucket, table and items). */
  resume(name: StorageService): Promise<void>;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly variable: string,
  ) {
    super(`Port ${port} is already in use. Set ${variable} to a free port (e.g. ${variable}=${port + 100}) and try again.`);
    this.name = 'PortInUseError';
  }
}

/** Fails with a clear message when a port is taken. */
export async function assertPortFree(port: number, variable: string, host = '127.0.0.1'): Promise<void> {
  if (!(await portFree(port, host))) throw new PortInUseError(port, variable);
}

/** A free port chosen by the OS (tests, the bench and the deploy rehearsal import it from here too). */
export { freePort } from './http-util';

async function waitForPort(port: number, child: ChildProcess, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before it was ready`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${what} did not open port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What our cognito-local child runs: marks it as ours in its command line (with the data directory). */
export const COGNITO_BIN = require.resolve('cognito-local/lib/bin/start.js');
/** Makes a child exit when its parent's stdin pipe closes (the parent exited, even by kill -9). */
const EXIT_WITH_PARENT = path.join(__dirname, 'exit-with-parent.cjs');

function startCognito(port: number, dir: string, dataDir: string): ChildProcess {
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, ['--require', EXIT_WITH_PARENT, COGNITO_BIN, dataDirArg(dataDir)], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', DEBUG: '', NODE_NO_WARNINGS: '1' },
    // stdin stays an open pipe the child watches: it closes when this process exits, however it exits.
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  child.stdin?.on('error', () => undefined);
  return child;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** Creates a table unless it exists, and waits until it and its indexes are ACTIVE. */
async function ensureTable(ddb: DynamoDBClient, input: CreateTableCommandInput & { TableName: string }): Promise<void> {
  const table = input.TableName;
  try {
    await ddb.send(new DescribeTableCommand({ TableName: table }));
    return;
  } catch (err) {
    if (!(err instanceof Error && err.name === 'ResourceNotFoundException')) throw err;
  }
  await ddb.send(new CreateTableCommand({ BillingMode: 'PAY_PER_REQUEST', ...input }));
  for (let i = 0; i < 100; i++) {
    const out = await ddb.send(new DescribeTableCommand({ TableName: table }));
    if (out.Table?.TableStatus === 'ACTIVE' && (out.Table.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`table ${table} did not become ACTIVE`);
}

export function ensureSessionsTable(ddb: DynamoDBClient, table: string): Promise<void> {
  return ensureTable(ddb, {
    TableName: table,
    AttributeDefinitions: SESSIONS_SCHEMA.attributes.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [
      { AttributeName: SESSIONS_SCHEMA.hashKey, KeyType: 'HASH' },
      { AttributeName: SESSIONS_SCHEMA.rangeKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: SESSIONS_SCHEMA.indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.hashKey, KeyType: 'HASH' },
        { AttributeName: i.rangeKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  });
}

/**
 * The web search cache table (partition key `query`). Its TTL attribute (`expires_at`) is
 * not enabled here: dynalite has no UpdateTimeToLive (nor TTL deletion) — the cache ignores
 * expired items itself, which it must do on AWS too (TTL deletion is lazy there).
 */
export function ensureSearchCacheTable(ddb: DynamoDBClient, table: string): Promise<void> {
  return ensureTable(ddb, {
    TableName: table,
    AttributeDefinitions: SEARCH_CACHE_SCHEMA.attributes.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [{ AttributeName: SEARCH_CACHE_SCHEMA.hashKey, KeyType: 'HASH' }],
  });
}

/** A table from one of the schemas in `projects-schema.ts` (keys, attributes, indexes with their projection). */
function ensureSchemaTable(ddb: DynamoDBClient, table: string, schema: TableSchema): Promise<void> {
  return ensureTable(ddb, {
    TableName: table,
    AttributeDefinitions: schema.attributes.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [{ AttributeName: schema.hashKey, KeyType: 'HASH' }, ...(schema.rangeKey ? [{ AttributeName: schema.rangeKey, KeyType: 'RANGE' as const }] : [])],
    ...(schema.indexes.length > 0
      ? {
          GlobalSecondaryIndexes: schema.indexes.map((i) => ({
            IndexName: i.name,
            KeySchema: [
              { AttributeName: i.hashKey, KeyType: 'HASH' as const },
              { AttributeName: i.rangeKey, KeyType: 'RANGE' as const },
            ],
            Projection: { ProjectionType: i.projectionType },
          })),
        }
      : {}),
  });
}

/** The names of the project tables, as the local platform makes them. */
export const LOCAL_PROJECT_TABLES = { projects: 'story42-local-projects', cards: 'story42-local-prompt-cards', chatHistory: 'story42-local-chat-history' } as const;

/**
 * The projects, prompt-cards and chat-history tables. The chat history's TTL attribute
 * (`expires_at`) is not enabled here: dynalite has no UpdateTimeToLive.
 */
export async function ensureProjectTables(ddb: DynamoDBClient, tables: { projects: string; cards: string; chatHistory: string } = LOCAL_PROJECT_TABLES): Promise<void> {
  await ensureSchemaTable(ddb, tables.projects, PROJECTS_SCHEMA);
  await ensureSchemaTable(ddb, tables.cards, PROMPT_CARDS_SCHEMA);
  await ensureSchemaTable(ddb, tables.chatHistory, CHAT_HISTORY_SCHEMA);
}

export function cognitoClient(port: number): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({ endpoint: `http://127.0.0.1:${port}`, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

export async function createUser(cognito: CognitoIdentityProviderClient, userPoolId: string, user: LocalUser): Promise<void> {
  await cognito.send(
    new AdminCreateUserCommand({
      UserPoolId: userPoolId,
      Username: user.email,
      MessageAction: 'SUPPRESS',
      UserAttributes: [
        { Name: 'email', Value: user.email },
        { Name: 'email_verified', Value: 'true' },
      ],
    }),
  );
  await cognito.send(new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: user.email, Password: user.password, Permanent: true }));
  for (const group of user.groups) {
    await cognito.send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: user.email, GroupName: group }));
  }
}

const poolFileSchema = z.object({ userPoolId: z.string(), clientId: z.string() });

/** The user pool and app client, created once per data directory and reused after. */
async function ensureUserPool(cognito: CognitoIdentityProviderClient, stateFile: string, users: LocalUser[]): Promise<z.infer<typeof poolFileSchema>> {
  if (existsSync(stateFile)) {
    const saved = poolFileSchema.safeParse(JSON.parse(readFileSync(stateFile, 'utf8')));
    if (saved.success) {
      try {
        await cognito.send(new DescribeUserPoolClientCommand({ UserPoolId: saved.data.userPoolId, ClientId: saved.data.clientId }));
        return saved.data;
      } catch {
        // The cognito data was removed: create a fresh pool below.
      }
    }
  }
  const pool = await cognito.send(
    new CreateUserPoolCommand({
      PoolName: 'story42-local',
      UsernameAttributes: ['email'],
      AutoVerifiedAttributes: ['email'],
      Policies: { PasswordPolicy: { MinimumLength: 12, RequireLowercase: true, RequireUppercase: true, RequireNumbers: false, RequireSymbols: true } },
    }),
  );
  const userPoolId = pool.UserPool?.Id;
  if (!userPoolId) throw new Error('cognito-local returned no user pool id');
  const client = await cognito.send(
    new CreateUserPoolClientCommand({ UserPoolId: userPoolId, ClientName: 'story42-web', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] }),
  );
  const clientId = client.UserPoolClient?.ClientId;
  if (!clientId) throw new Error('cognito-local returned no app client id');
  for (const group of ['admin', 'user']) await cognito.send(new CreateGroupCommand({ UserPoolId: userPoolId, GroupName: group }));
  for (const user of users) await createUser(cognito, userPoolId, user);
  const state = { userPoolId, clientId };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  return state;
}

/** Logs a user in with USER_PASSWORD_AUTH and returns the ID token. */
export async function idTokenFor(cognitoPort: number, clientId: string, user: Pick<LocalUser, 'email' | 'password'>): Promise<string> {
  const out = await cognitoClient(cognitoPort).send(
    new InitiateAuthCommand({ ClientId: clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: user.email, PASSWORD: user.password } }),
  );
  const token = out.AuthenticationResult?.IdToken;
  if (!token) throw new Error('Cognito returned no ID token');
  return token;
}

export interface StartOptions {
  dataDir: string;
  ports: LocalPorts;
  bucket?: string;
  table?: string;
  users?: LocalUser[];
  /** Where a note about cleaning up after a previous run goes (default: stderr). */
  log?: (line: string) => void;
}

interface Closable {
  close(): Promise<void>;
}

/** s3rver and dynalite are CommonJS libraries without types of their own. */
interface S3rverInstance {
  run(): Promise<unknown>;
  close(): Promise<void>;
  httpServer?: http.Server;
}

async function startS3(port: number, directory: string): Promise<Closable> {
  await assertPortFree(port, 'STORY42_S3_PORT');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as new (o: Record<string, unknown>) => S3rverInstance;
  const s3rver = new S3rver({ port, address: '127.0.0.1', directory, silent: true });
  await s3rver.run();
  return {
    close: async () => {
      const closing = s3rver.close();
      s3rver.httpServer?.closeAllConnections();
      await closing;
    },
  };
}

async function startDynamo(port: number, dir: string): Promise<Closable> {
  await assertPortFree(port, 'STORY42_DYNAMODB_PORT');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (o: Record<string, unknown>) => http.Server;
  const dyn = dynalite({ path: dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    dyn.once('error', reject);
    dyn.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    // dynalite's close stops the server, then closes its LevelDB store (so the directory can be opened again).
    close: () =>
      new Promise<void>((resolve) => {
        dyn.close(() => resolve());
        dyn.closeAllConnections();
      }),
  };
}

const defaultLog = (line: string) => void process.stderr.write(`${line}\n`);

/**
 * The studio saves pictures and MP3s by fetching their presigned URLs (a cross-origin
 * `<a download>` is ignored): GET and HEAD from loopback origins, as the stack allows the site's.
 */
async function allowStudioDownloads(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(
    new PutBucketCorsCommand({
      Bucket: bucket,
      CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['http://127.0.0.1:*', 'http://localhost:*'], AllowedMethods: ['GET', 'HEAD'], AllowedHeaders: ['*'], MaxAgeSeconds: 3600 }] },
    }),
  );
}

export async function startLocalServices(opts: StartOptions): Promise<LocalServices> {
  const bucket = opts.bucket ?? 'story42-local-story-images';
  const table = opts.table ?? 'story42-local-story-sessions';
  const searchCacheTable = 'story42-local-search-cache';
  const promptsBucket = 'story42-local-prompts';
  const { ports } = opts;
  const dataDir = path.resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  // A previous run that was killed: end what it left running, or fail if it still runs.
  await reclaimStaleRun(dataDir, { markers: [COGNITO_BIN], log: opts.log ?? defaultLog });
  await assertPortFree(ports.s3, 'STORY42_S3_PORT');
  await assertPortFree(ports.dynamodb, 'STORY42_DYNAMODB_PORT');
  await assertPortFree(ports.cognito, 'STORY42_COGNITO_PORT');
  for (const d of ['s3', 'dynamodb', 'cognito']) mkdirSync(path.join(dataDir, d), { recursive: true });
  createRunFile({ pid: process.pid, startId: startIdOf(), started: new Date().toISOString(), dataDir, ports, children: [] });

  const storage: Partial<Record<StorageService, Closable>> = {};
  const starters: Record<StorageService, () => Promise<Closable>> = {
    s3: () => startS3(ports.s3, path.join(dataDir, 's3')),
    dynamodb: () => startDynamo(ports.dynamodb, path.join(dataDir, 'dynamodb')),
  };
  // suspend, resume and stop run one after the other.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = (work: () => Promise<void>): Promise<void> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };
  const known = (name: StorageService): StorageService => {
    if (!(name in starters)) throw new Error(`unknown storage service "${String(name)}": use s3 or dynamodb`);
    return name;
  };
  let cognitoChild: ChildProcess | undefined;
  let stopped = false;
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    for (const name of ['dynamodb', 's3'] as const) {
      const server = storage[name];
      delete storage[name];
      await server?.close().catch(() => undefined);
    }
    if (cognitoChild) await stopChild(cognitoChild);
    removeRunFile(dataDir);
  };
  const stop = () => serially(stopAll);
  const suspend = (name: StorageService) =>
    serially(async () => {
      const server = storage[known(name)];
      delete storage[name];
      await server?.close();
    });
  const resume = (name: StorageService) =>
    serially(async () => {
      if (stopped) throw new Error(`cannot resume ${name}: the local services were stopped`);
      storage[known(name)] ??= await starters[name]();
    });

  try {
    const child = startCognito(ports.cognito, path.join(dataDir, 'cognito'), dataDir);
    cognitoChild = child;
    if (child.pid !== undefined) {
      const pid = child.pid;
      const entry = { name: 'cognito-local', pid, startId: startIdOf(pid), marker: COGNITO_BIN, port: ports.cognito, started: new Date().toISOString() };
      updateRunFile(dataDir, (run) => ({ ...run, children: [...run.children, entry] }));
    }

    storage.s3 = await starters.s3();
    storage.dynamodb = await starters.dynamodb();

    const s3 = new S3Client({ endpoint: `http://127.0.0.1:${ports.s3}`, forcePathStyle: true, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    await ensureBucket(s3, bucket);
    await allowStudioDownloads(s3, bucket);
    await ensureBucket(s3, promptsBucket);
    // Versioned where the store can (s3rver cannot: history as objects), seeded with the bundled prompts once.
    const promptsHistory = await preparePromptsBucket(s3, promptsBucket, bundledPromptsFor({ prompts: loadPromptsConfig(process.env) }));
    const ddb = new DynamoDBClient({ endpoint: `http://127.0.0.1:${ports.dynamodb}`, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    await ensureSessionsTable(ddb, table);
    await ensureSearchCacheTable(ddb, searchCacheTable);
    await ensureProjectTables(ddb);

    await waitForPort(ports.cognito, child, 'cognito-local');
    const cognito = cognitoClient(ports.cognito);
    const pool = await ensureUserPool(cognito, path.join(dataDir, 'local-platform.json'), opts.users ?? [DEMO_USER, ADMIN_USER]);
    const endpoint = `http://127.0.0.1:${ports.cognito}`;
    // `npm run token` finds the local Cognito here (GET /health names no ids).
    updateRunFile(dataDir, (run) => ({ ...run, cognito: { endpoint, clientId: pool.clientId } }));
    const issuer = `${endpoint}/${pool.userPoolId}`;
    const env: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      STORY42_IMAGES_BUCKET: bucket,
      STORY42_SESSIONS_TABLE: table,
      STORY42_SEARCH_CACHE_TABLE: searchCacheTable,
      STORY42_PROMPTS_BUCKET: promptsBucket,
      STORY42_PROMPTS_HISTORY: promptsHistory,
      STORY42_PROJECTS_TABLE: LOCAL_PROJECT_TABLES.projects,
      STORY42_PROMPT_CARDS_TABLE: LOCAL_PROJECT_TABLES.cards,
      STORY42_CHAT_HISTORY_TABLE: LOCAL_PROJECT_TABLES.chatHistory,
      STORY42_S3_ENDPOINT: `http://127.0.0.1:${ports.s3}`,
      STORY42_DYNAMODB_ENDPOINT: `http://127.0.0.1:${ports.dynamodb}`,
      STORY42_COGNITO_USER_POOL_ID: pool.userPoolId,
      STORY42_COGNITO_CLIENT_ID: pool.clientId,
      STORY42_COGNITO_ISSUER: issuer,
      STORY42_COGNITO_JWKS_URI: `${issuer}/.well-known/jwks.json`,
    };
    return { ports, bucket, table, userPoolId: pool.userPoolId, clientId: pool.clientId, env, suspend, resume, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
