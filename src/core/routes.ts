/**
 * The route table: the only list of Story42's HTTP routes. For every route: method, path,
 * request and response schemas, route name, the Lambda that serves it on AWS, whether it
 * streams Server-Sent Events, who may call it, and the handler into the story core.
 *
 * Everything else is derived from this table: the Lambda handlers (src/lambda), the Express
 * agent's routes (agent/), the local API-Gateway stand-in (src/local), the API Gateway
 * resources and integrations (terraform/), the OpenAPI document (src/core/openapi.ts) and the
 * README's route list (checked by a test). No route path is written anywhere else.
 */
import type { z } from 'zod';
import type { AgentService } from './agent-service';
import { agentCreateSchema, agentMessageSchema } from './agent-prompt';
import { sessionListQuerySchema } from './artifacts';
import { DependencyUnavailableError, unauthorized } from './errors';
import type { JobsService } from './jobs-service';
import type { Caller } from './ports';
import * as res from './responses';
import { jobGetQuerySchema, jobListQuerySchema, requestRules } from './schemas';
import type { CallContext, ProgressEvent, StoryOperation, StoryService } from './story-service';

/** The three Lambda functions of the API (each an image in ECR); `image-regen` makes all media: images and narration. */
export const LAMBDA_NAMES = ['text-regen', 'image-regen', 'data-ops'] as const;
export type LambdaName = (typeof LAMBDA_NAMES)[number];

export type HttpMethod = 'GET' | 'POST' | 'DELETE';
/** `public`: no token (health, the API description); `user`: a verified Cognito ID token. */
export type Access = 'public' | 'user';

export interface RouteRequest {
  /** The parsed JSON body (`{}` for routes without one). */
  body: Record<string, unknown>;
  query: Record<string, string | undefined>;
  params: Record<string, string | undefined>;
}

/** What a door knows about one call: the caller (absent on public routes) and its lifetime. */
export interface RouteContext {
  caller?: Caller;
  requestId: string;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

/** The services the handlers call into (built by the platform layer). */
export interface RouteServices {
  story: StoryService;
  jobs: JobsService;
  /** The story agent (only where the agent runs: the Express app on ECS, and locally). */
  agent?: AgentService;
  health(): z.infer<typeof res.healthResponse>;
  openapi(): Record<string, unknown>;
}

export interface Route {
  /** The route name: the envelope's `route` and the tracking rows' `route`. */
  name: string;
  method: HttpMethod;
  /** Resource path as API Gateway names it; `{param}` for path parameters. */
  path: string;
  summary: string;
  /** The Lambda that serves it behind API Gateway; absent for the agent's own routes (the ALB, to the agent only). */
  lambda?: LambdaName;
  access: Access;
  /** Answers `Accept: text/event-stream` with Server-Sent Events. */
  streams: boolean;
  /** Also served by the Express story agent on ECS. */
  agent: boolean;
  /** The result is wrapped in the v1.2 success envelope. */
  envelope: boolean;
  body?: z.ZodType;
  query?: z.ZodType;
  /** The result (inside the envelope when `envelope`). */
  response: z.ZodType;
  handle(services: RouteServices, request: RouteRequest, ctx: RouteContext): Promise<unknown>;
}

export type RouteSpec = Omit<Route, 'handle' | 'envelope' | 'access' | 'agent'>;

/** A route for signed-in callers: the caller is always present inside `handle`. */
export function userRoute(spec: RouteSpec & { agent: boolean }, handle: (s: RouteServices, r: RouteRequest, ctx: CallContext) => Promise<unknown>): Route {
  return {
    ...spec,
    access: 'user',
    envelope: true,
    handle: (s, r, ctx) => {
      // Doors resolve the caller from verified claims; a missing caller here is a door bug, refused all the same.
      if (!ctx.caller) throw unauthorized();
      return handle(s, r, { ...ctx, caller: ctx.caller });
    },
  };
}

/** A story route: validated, run and tracked by the story core under the route's name. */
function storyRoute<T>(spec: Omit<RouteSpec, 'method' | 'query' | 'body'>, op: StoryOperation<T>): Route {
  return userRoute({ ...spec, method: 'POST', agent: true, body: op.rule.schema }, (s, r, ctx) => s.story.run(spec.name, r.body, ctx, op));
}

export function publicRoute(spec: RouteSpec, handle: (s: RouteServices) => unknown): Route {
  return { ...spec, access: 'public', envelope: false, agent: true, handle: async (s) => handle(s) };
}

/** The agent's routes: served by the story agent only (no Lambda). */
function agentRoute(spec: Omit<RouteSpec, 'lambda'>, handle: (agent: AgentService, r: RouteRequest, ctx: CallContext) => Promise<unknown>): Route {
  return userRoute({ ...spec, agent: true }, (s, r, ctx) => {
    if (!s.agent) throw new DependencyUnavailableError('The story agent does not run in this process', 60);
    return handle(s.agent, r, ctx);
  });
}

export const ROUTES: readonly Route[] = [
  storyRoute(
    { name: 'generate_topics_ideas', path: '/generate-topics-ideas', summary: 'Topic ideas for a fiction or non-fiction story', lambda: 'text-regen', streams: false, response: res.topicsResponse },
    { rule: requestRules.topics, execute: (story, input, ctx, jobId) => story.topics(input, ctx, jobId), artifacts: false, engine: 'text' },
  ),
  storyRoute(
    { name: 'generate_story_outline_description', path: '/generate-story-outline', summary: 'A three-part outline with speakers', lambda: 'text-regen', streams: false, response: res.outlineResponse },
    { rule: requestRules.outline, execute: (story, input, ctx, jobId) => story.outline(input, ctx, jobId), artifacts: false, engine: 'text' },
  ),
  storyRoute(
    { name: 'generate_entire_story', path: '/generate-story', summary: 'The whole story, in panels (visual) or sections (audio)', lambda: 'text-regen', streams: true, response: res.storyResponse },
    { rule: requestRules.story, execute: (story, input, ctx, jobId) => story.story(input, ctx, jobId), artifacts: false, engine: 'text' },
  ),
  storyRoute(
    { name: 'regenerate_story_segment', path: '/regenerate-segment', summary: 'Rewrites one segment as the user asks', lambda: 'text-regen', streams: false, response: res.segmentResponse },
    { rule: requestRules.segment, execute: (story, input, ctx, jobId) => story.segment(input, ctx, jobId), artifacts: false, engine: 'text' },
  ),
  storyRoute(
    { name: 'generate_entire_story_image', path: '/generate-story-image', summary: 'One picture per panel, stored in S3', lambda: 'image-regen', streams: true, response: res.storyImageResponse },
    { rule: requestRules.image, check: (story, input) => story.checkScenes(input), execute: (story, input, ctx, jobId) => story.storyImages(input, ctx, jobId), artifacts: true, engine: 'image' },
  ),
  storyRoute(
    { name: 'regenerate_segment_image', path: '/regenerate-segment-image', summary: "Redraws one of the caller's panel images as the user asks", lambda: 'image-regen', streams: false, response: res.regenerateImageResponse },
    { rule: requestRules.regenerateImage, check: (story, input, ctx) => void story.originalImage(input, ctx.caller), execute: (story, input, ctx, jobId) => story.regenerateImage(input, ctx, jobId), artifacts: true, engine: 'image' },
  ),
  storyRoute(
    { name: 'narrate_story', path: '/narrate-story', summary: "Narrates a written story: one MP3 per section, a voice per speaker, and the whole story as one file (beyond v1.2)", lambda: 'image-regen', streams: true, response: res.narrateResponse },
    { rule: requestRules.narrate, check: (story, input) => story.checkNarration(input), execute: (story, input, ctx, jobId) => story.narrate(input, ctx, jobId), artifacts: true, engine: 'speech' },
  ),
  userRoute(
    { name: 'list_jobs', method: 'GET', path: '/jobs', summary: "The caller's jobs, newest first, paginated", lambda: 'data-ops', streams: false, agent: false, query: jobListQuerySchema, response: res.jobListResponse },
    (s, r, ctx) => s.jobs.list(ctx.caller, r.query),
  ),
  userRoute(
    { name: 'get_job', method: 'GET', path: '/jobs/{job_id}', summary: "One of the caller's jobs, a page at a time: its calls, its images and its narration (fresh URLs)", lambda: 'data-ops', streams: false, agent: false, query: jobGetQuerySchema, response: res.jobResponse },
    (s, r, ctx) => s.jobs.get(ctx.caller, r.params.job_id, r.query),
  ),
  userRoute(
    { name: 'delete_job', method: 'DELETE', path: '/jobs/{job_id}', summary: "Deletes one of the caller's jobs: its records, images and audio", lambda: 'data-ops', streams: false, agent: false, response: res.jobDeleteResponse },
    (s, r, ctx) => s.jobs.delete(ctx.caller, r.params.job_id),
  ),
  agentRoute(
    { name: 'create_agent_session', method: 'POST', path: '/agent/sessions', summary: 'Starts a conversation with the story agent', streams: false, body: agentCreateSchema, response: res.agentSessionResponse },
    (agent, r, ctx) => agent.create(ctx.caller, r.body),
  ),
  agentRoute(
    { name: 'list_agent_sessions', method: 'GET', path: '/agent/sessions', summary: "The caller's agent sessions, newest first, paginated", streams: false, query: sessionListQuerySchema, response: res.agentSessionListResponse },
    (agent, r, ctx) => agent.list(ctx.caller, r.query),
  ),
  agentRoute(
    { name: 'get_agent_session', method: 'GET', path: '/agent/sessions/{session_id}', summary: "One of the caller's agent sessions: its messages, its files (fresh URLs) and its current story", streams: false, response: res.agentSessionDetailResponse },
    (agent, r, ctx) => agent.get(ctx.caller, r.params.session_id),
  ),
  agentRoute(
    { name: 'delete_agent_session', method: 'DELETE', path: '/agent/sessions/{session_id}', summary: "Deletes one of the caller's agent sessions and its files", streams: false, response: res.agentSessionDeleteResponse },
    (agent, r, ctx) => agent.delete(ctx.caller, r.params.session_id),
  ),
  agentRoute(
    { name: 'agent_message', method: 'POST', path: '/agent/sessions/{session_id}/messages', summary: 'One message to the story agent: its text, tool calls, sources, pictures, audio and files as they happen, then the session\'s state', streams: true, body: agentMessageSchema, response: res.agentMessageResponse },
    (agent, r, ctx) => agent.message(ctx.caller, r.params.session_id, r.body, { requestId: ctx.requestId, signal: ctx.signal, emit: (e) => ctx.onProgress?.({ type: 'agent', event: e.event, data: e.data }) }),
  ),
  publicRoute(
    { name: 'health', method: 'GET', path: '/health', summary: 'Liveness: 200 once the service can answer', lambda: 'data-ops', streams: false, response: res.healthResponse },
    (s) => s.health(),
  ),
  publicRoute(
    { name: 'openapi', method: 'GET', path: '/openapi.json', summary: 'This API as an OpenAPI 3.1 document', lambda: 'data-ops', streams: false, response: res.openApiResponse },
    (s) => s.openapi(),
  ),
];

/** One route by name (throws for an unknown name: a programming error). */
export function routeNamed(name: string, routes: readonly Route[] = ROUTES): Route {
  const found = routes.find((r) => r.name === name);
  if (!found) throw new Error(`no route named ${name}`);
  return found;
}

/** The route for an API Gateway resource path and method. */
export function routeFor(method: string, path: string, routes: readonly Route[] = ROUTES): Route | undefined {
  return routes.find((r) => r.method === method && r.path === path);
}

/** Path parameters of a concrete path against a route's template, or undefined if it does not match. */
export function matchPath(template: string, path: string): Record<string, string> | undefined {
  const t = template.split('/');
  const p = path.split('/');
  if (t.length !== p.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const seg = t[i] as string;
    const val = p[i] as string;
    if (seg.startsWith('{') && seg.endsWith('}')) {
      if (!val) return undefined;
      try {
        params[seg.slice(1, -1)] = decodeURIComponent(val);
      } catch {
        return undefined;
      }
    } else if (seg !== val) return undefined;
  }
  return params;
}

/** Routes whose template matches a concrete path (any method). */
export function routesAt(path: string, routes: readonly Route[] = ROUTES): Array<{ route: Route; params: Record<string, string> }> {
  return routes.flatMap((route) => {
    const params = matchPath(route.path, path);
    return params ? [{ route, params }] : [];
  });
}
