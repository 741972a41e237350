/**
 * The route table is the only list of routes: a route added to it reaches the Lambda
 * handlers, the local gateway, the Express agent, the API Gateway resources, the OpenAPI
 * document and the README's list — and no route path is written anywhere else in the code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Testing } from 'cdktf';
import ts from 'typescript';
import { z } from 'zod';
import { createAgentApp } from '../agent/app';
import { buildOpenApi, routeListMarkdown } from '../src/core/openapi';
import { escapeRegExp } from '../src/core/regex';
import { envelopeSchema } from '../src/core/responses';
import { ROUTES, routeNamed, userRoute, type Route } from '../src/core/routes';
import { lambdaHandler } from '../src/lambda/adapter';
import { invokeStreaming } from '../src/local/lambda-invoke';
import { LocalBedrockServer } from '../src/local/bedrock-server';
import { serveGateway } from '../src/local/platform';
import { localStoryAgent } from '../src/local/story-agent';
import { createLocalPlatform } from '../src/local/providers';
import { TokenVerifier } from '../src/platform/auth';
import { callerFromClaims } from '../src/platform/door';
import { Story42Stack } from '../terraform/stack';
import { ROOT as TF_ROOT, resourcesOf, targets, type Synthesized } from '../terraform/synth-support';
import { ADMIN_USER } from '../src/local/services';
import { claimsOf, jobId, quietTelemetry, testConfig, tokenFor } from './support/local';
import { validateOpenApi } from './support/openapi-validate';
import { parseEvents } from './support/sse';

const ROOT = path.resolve(__dirname, '..');

const probe: Route = userRoute(
  {
    name: 'probe_echo',
    method: 'POST',
    path: '/probe-echo',
    summary: 'Echoes a word back (a route that exists only in this test)',
    lambda: 'data-ops',
    streams: true,
    agent: true,
    body: z.object({ word: z.string().max(20) }),
    response: z.object({ echoed: z.string(), by: z.string() }),
  },
  async (_s, r, ctx) => {
    ctx.onProgress?.({ type: 'stage', stage: 'echoing' });
    return { echoed: z.object({ word: z.string().max(20) }).parse(r.body).word, by: ctx.caller.sub };
  },
);
const extended: readonly Route[] = [...ROUTES, probe];

describe('a route added to the table', () => {
  const platform = () => createLocalPlatform(testConfig(), { telemetry: quietTelemetry(), routes: extended });

  it('is served by its Lambda handler (JSON and SSE), and by no other Lambda', async () => {
    const p = platform();
    const event = (accept?: string) => ({
      resource: '/probe-echo',
      path: '/probe-echo',
      httpMethod: 'POST',
      headers: accept ? { accept } : {},
      body: JSON.stringify({ word: 'owl' }),
      requestContext: { requestId: 'probe-1', authorizer: { claims: { sub: 'probe-user', 'cognito:groups': 'user' } } },
    });
    const read = async (body: NodeJS.ReadableStream) => {
      let text = '';
      for await (const chunk of body) text += String(chunk);
      return text;
    };
    const json = await invokeStreaming(lambdaHandler('data-ops', () => p), event(), { requestId: 'probe-1', functionName: 'data-ops' });
    expect([json.statusCode, JSON.parse(await read(json.body))]).toEqual([200, expect.objectContaining({ success: true, route: 'probe_echo', result: { echoed: 'owl', by: 'probe-user' } })]);
    const sse = await invokeStreaming(lambdaHandler('data-ops', () => p), event('text/event-stream'), { requestId: 'probe-1', functionName: 'data-ops' });
    expect(parseEvents(await read(sse.body)).map((e) => e.event)).toEqual(['progress', 'progress', 'result']);
    const other = await invokeStreaming(lambdaHandler('text-regen', () => p), event(), { requestId: 'probe-1', functionName: 'text-regen' });
    expect(other.statusCode).toBe(404);
  });

  it('is served by the local gateway and by the agent, with the verified caller', async () => {
    const p = platform();
    const token = await tokenFor();
    const gateway = await serveGateway(p);
    const config = testConfig();
    if (!config.auth) throw new Error('no auth');
    const agent = createAgentApp({ platform: p, verifier: new TokenVerifier(config.auth) }).listen(0, '127.0.0.1');
    await new Promise((r) => agent.once('listening', r));
    const agentUrl = `http://127.0.0.1:${(agent.address() as { port: number }).port}`;
    try {
      for (const base of [gateway.url, agentUrl]) {
        const res = await fetch(`${base}/probe-echo`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ word: 'fox' }) });
        expect([base, res.status, await res.json()]).toEqual([base, 200, expect.objectContaining({ route: 'probe_echo', result: { echoed: 'fox', by: claimsOf(token).sub } })]);
        const anonymous = await fetch(`${base}/probe-echo`, { method: 'POST', body: '{}' });
        expect([base, anonymous.status]).toEqual([base, 401]);
      }
    } finally {
      await gateway.stop();
      await new Promise((r) => agent.close(r));
    }
  });

  it('becomes an API Gateway resource with an authorized method, integrated with its Lambda through response streaming', () => {
    const target = targets().find((t) => t.phase === 2);
    if (!target) throw new Error('no phase 2 environment');
    const stack = new Story42Stack(new App({ outdir: path.join(TF_ROOT, '.tmp', 'cdktf-test'), stackTraces: false }), target.cfg, extended);
    const s = { json: JSON.parse(Testing.synth(stack)) as Synthesized['json'] } as Synthesized;
    const [resName] = resourcesOf(s, 'aws_api_gateway_resource').find(([, r]) => r.path_part === 'probe-echo') ?? [];
    expect(resName).toBeDefined();
    const resourceRef = `\${aws_api_gateway_resource.${resName}.id}`;
    const methods = resourcesOf(s, 'aws_api_gateway_method').filter(([, m]) => m.resource_id === resourceRef).map(([, m]) => [m.http_method, m.authorization]);
    expect(methods.sort()).toEqual([['OPTIONS', 'NONE'], ['POST', 'COGNITO_USER_POOLS']]);
    const integration = resourcesOf(s, 'aws_api_gateway_integration').find(([, i]) => i.resource_id === resourceRef && i.type === 'AWS_PROXY')?.[1];
    expect(integration).toMatchObject({ response_transfer_mode: 'STREAM', uri: expect.stringMatching(/aws_lambda_function\.compute_data-ops-fn_[^.]+\.arn\}\/response-streaming-invocations$/) });
    expect(s.json.output?.probe_echo_endpoint).toBeDefined();
  });

  it('appears in the OpenAPI document and the README route list', () => {
    const doc = buildOpenApi(extended) as { paths: Record<string, Record<string, { operationId: string; requestBody?: unknown }>> };
    expect(doc.paths['/probe-echo']?.post).toMatchObject({ operationId: 'probe_echo', requestBody: expect.any(Object) });
    expect(routeListMarkdown(extended)).toContain('| `POST` | `/probe-echo` | `probe_echo` |');
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).not.toContain(routeListMarkdown(extended));
  });
});

describe('the README route list', () => {
  it('is exactly the route table', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = /<!-- routes:begin -->\n([\s\S]*?)\n<!-- routes:end -->/.exec(readme)?.[1];
    // To update: paste the expected table between the markers in README.md.
    expect(section).toBe(routeListMarkdown(ROUTES));
  });
});

describe('the OpenAPI document', () => {
  it('validates as OpenAPI 3.1 and lists every route with its schemas', () => {
    const doc = buildOpenApi(ROUTES) as { openapi: string; paths: Record<string, Record<string, { operationId: string; requestBody?: unknown; responses: Record<string, unknown> }>> };
    expect(validateOpenApi(doc)).toEqual({ valid: true, errors: null, version: '3.1' });
    // The validator does reject a broken document (it is not a rubber stamp).
    expect(validateOpenApi({ ...doc, paths: { '/x': { get: { responses: { '200': { content: 'nope' } } } } } }).valid).toBe(false);
    for (const r of ROUTES) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect([r.name, op?.operationId, Boolean(op?.responses['200']), Boolean(op?.requestBody)]).toEqual([r.name, r.name, true, Boolean(r.body)]);
    }
  });

  it('is served at its route by the local platform, the same document', async () => {
    const gateway = await serveGateway(createLocalPlatform(testConfig(), { telemetry: quietTelemetry() }));
    try {
      const res = await fetch(`${gateway.url}${routeNamed('openapi').path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(buildOpenApi(ROUTES));
    } finally {
      await gateway.stop();
    }
  });
});

describe('every answer matches the response schema its route declares', () => {
  it('for each route of the table, called through the local gateway', async () => {
    // The agent's routes too: its model played by the local Bedrock server.
    const agentModel = new LocalBedrockServer();
    const config = testConfig({ STORY42_AGENT_BEDROCK_ENDPOINT: await agentModel.listen() });
    const gateway = await serveGateway(createLocalPlatform(config, { telemetry: quietTelemetry(), agent: localStoryAgent(config, 'local Bedrock server') }));
    const token = await tokenFor();
    const job = jobId('contract');
    const called = new Set<string>();
    const call = async (name: string, body?: unknown, params: Record<string, string> = {}, as = token) => {
      called.add(name);
      const r = routeNamed(name);
      const url = `${gateway.url}${r.path.replace(/\{(\w+)\}/g, (_m, k: string) => params[k] ?? '')}`;
      const res = await fetch(url, { method: r.method, headers: { Authorization: `Bearer ${as}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const json = (await res.json()) as unknown;
      expect([name, res.status]).toEqual([name, 200]);
      const schema = r.envelope ? envelopeSchema(r.response) : r.response;
      const parsed = schema.safeParse(json);
      expect([name, parsed.success ? 'ok' : parsed.error.issues]).toEqual([name, 'ok']);
      return json as { result: Record<string, unknown> };
    };
    try {
      const shared = { genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', story_type: 'visual', panels: 3, number_of_speakers: 2, job_id: job };
      await call('generate_topics_ideas', { genre: 'fiction', topics: 'owls', job_id: job });
      const outline = await call('generate_story_outline_description', { ...shared, user_input_description: 'An owl named Ada finds a lantern' });
      const story = await call('generate_entire_story', { ...shared, story_outline_description: outline.result.story_parts });
      const segments = (story.result.story_parts as Array<{ sections: Array<{ segments: Array<{ segment_num: number; segment_content: string; speaker: string }> }> }>).flatMap((p) => p.sections.flatMap((s) => s.segments));
      const first = segments[0] as { segment_num: number; segment_content: string; speaker: string };
      await call('regenerate_story_segment', { ...shared, user_request: 'add snow', original_story_segments: segments, original_story_segment_num: first.segment_num, original_story_segment: first });
      const images = await call('generate_entire_story_image', { art_style: 'ink', number_of_panels: 3, job_id: job, complete_story_parts: story.result.story_parts });
      const uri = (images.result.story_segments as Array<{ image_s3_uri: string }>)[0]?.image_s3_uri;
      await call('regenerate_segment_image', { user_request: 'make it night', original_segment_image_s3_uri: uri, job_id: job });
      await call('narrate_story', { job_id: job, story_parts: story.result.story_parts });
      await call('list_jobs');
      await call('get_job', undefined, { job_id: job });
      await call('health');
      await call('openapi');
      await call('delete_job', undefined, { job_id: job });
      const session = (await call('create_agent_session', { title: 'contract' })).result as { session_id: string };
      await call('agent_message', { message: 'Write an outline for a story about a brave snail.' }, { session_id: session.session_id });
      await call('list_agent_sessions');
      await call('get_agent_session', undefined, { session_id: session.session_id });
      await call('delete_agent_session', undefined, { session_id: session.session_id });
      const project = (await call('create_project', { name: 'contract', settings: { panels: 3 } })).result as { project_id: string };
      const projectParams = { project_id: project.project_id };
      await call('list_projects');
      await call('get_project', undefined, projectParams);
      await call('update_project', { status: 'archived' }, projectParams);
      const card = (await call('create_prompt_card', { title: 'Voice', text: 'Write warmly.', tags: ['style'] }, projectParams)).result as { prompt_id: string };
      await call('list_prompt_cards', undefined, projectParams);
      await call('get_prompt_card', undefined, { ...projectParams, prompt_id: card.prompt_id });
      await call('update_prompt_card', { step_order: 2 }, { ...projectParams, prompt_id: card.prompt_id });
      const chat = (await call('project_chat', { input: 'A snail who races a hare' }, projectParams)).result as { session_id: string };
      await call('get_project_chat', undefined, { ...projectParams, session_id: chat.session_id });
      await call('delete_prompt_card', undefined, { ...projectParams, prompt_id: card.prompt_id });
      await call('delete_project', undefined, projectParams);
      // The prompt admin routes (admin group). The suite's prompts bucket is shared: the new version is the same text.
      const admin = await tokenFor(ADMIN_USER);
      const promptParams = { assistant: 'illustrator', name: 'edit' };
      await call('list_prompts', undefined, {}, admin);
      const prompt = (await call('get_prompt', undefined, promptParams, admin)).result as { text: string };
      await call('put_prompt', { text: prompt.text }, promptParams, admin);
      const versions = (await call('list_prompt_versions', undefined, promptParams, admin)).result as { versions: Array<{ version_id: string }> };
      await call('rollback_prompt', { version_id: versions.versions[1]?.version_id ?? versions.versions[0]?.version_id }, promptParams, admin);
      await call('reload_prompts', undefined, {}, admin);
      expect([...called].sort()).toEqual(ROUTES.map((r) => r.name).sort());
    } finally {
      await gateway.stop();
      await agentModel.close();
    }
  }, 60_000);
});

describe('one caller for every door', () => {
  it('reads the authorizer\'s string claims and a verified token\'s claims the same way', () => {
    const fromAuthorizer = callerFromClaims({ sub: 's1', email: 'a@b.co', 'cognito:username': 'ann', 'cognito:groups': 'admin,user' });
    const fromBracketed = callerFromClaims({ sub: 's1', email: 'a@b.co', 'cognito:username': 'ann', 'cognito:groups': '[admin user]' });
    const fromToken = callerFromClaims({ sub: 's1', email: 'a@b.co', 'cognito:username': 'ann', 'cognito:groups': ['admin', 'user'], exp: 1, iat: 1 });
    expect(fromAuthorizer).toEqual({ sub: 's1', email: 'a@b.co', username: 'ann', groups: ['admin', 'user'] });
    expect(fromBracketed).toEqual(fromAuthorizer);
    expect(fromToken).toEqual(fromAuthorizer);
    expect(() => callerFromClaims({ email: 'no-sub@b.co' })).toThrow('Unauthorized');
    expect(() => callerFromClaims(undefined)).toThrow('Unauthorized');
  });
});

describe('no route path is written outside the route table', () => {
  /** String literals and template text of every non-test TypeScript file under src/, agent/ and terraform/. */
  function literals(file: string): string[] {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const out: string[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) out.push(node.text);
      node.forEachChild(visit);
    };
    visit(source);
    return out;
  }
  const files = ['src', 'agent', 'terraform']
    .flatMap((dir) => readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true }).map((d) => path.join(d.parentPath, d.name)))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== path.join(ROOT, 'src', 'core', 'routes.ts'));

  it('finds the literals it looks for (the scanner works)', () => {
    expect(literals(path.join(ROOT, 'src', 'core', 'routes.ts'))).toContain('/generate-story');
  });

  it.each(ROUTES.map((r) => r.path))('%s', (routePath) => {
    // A literal names the route when it holds the path as a whole (not e.g. an S3 key ".../jobs/<id>/...").
    const pattern = new RegExp(`(^|[\\s'"(=:])${escapeRegExp(routePath)}($|[\\s'"?#)])`);
    const hits = files.flatMap((f) => literals(f).filter((l) => pattern.test(l)).map((l) => `${path.relative(ROOT, f)}: ${JSON.stringify(l)}`));
    expect(hits).toEqual([]);
  });
});
