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
import { DependencyUnavailableError, forbidden, unauthorized } from './errors';
import type { JobsService } from './jobs-service';
import * as prompts from './prompt-admin';
import type { Caller } from './ports';
import * as projects from './projects';
import type { ProjectsService } from './projects-service';
import * as res from './responses';
import { jobGetQuerySchema, jobListQuerySchema, requestRules } from './schemas';
import type { CallContext, ProgressEvent, StoryOperation, StoryService } from './story-service';

/** The three Lambda functions of the API (each an image in ECR); `image-regen` makes all media: images and narration. */
export const LAMBDA_NAMES = ['text-regen', 'image-regen', 'data-ops'] as const;
export type LambdaName = (typeof LAMBDA_NAMES)[number];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
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
  /** The prompt admin API (the prompts bucket, and this process's prompt cache). */
  prompts: prompts.PromptAdmin;
  /** Projects, prompt cards and chat (where their tables and the prompts bucket are configured). */
  projects?: ProjectsService;
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
  /** Configuration it needs beyond the sessions table and the images bucket: a Lambda serving it checks at start (`checkRouteNeeds`). */
  needs?: readonly 'projects'[];
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

/** The Cognito group whose members may use the admin routes (and reach any user's projects). */
export const ADMIN_GROUP = 'admin';
export const isAdmin = (caller: Caller): boolean => caller.groups.includes(ADMIN_GROUP);

/** A route for the `admin` group only: anyone else is a 403, before the handler runs. */
export function adminRoute(spec: RouteSpec & { agent: boolean }, handle: (s: RouteServices, r: RouteRequest, ctx: CallContext) => Promise<unknown>): Route {
  return userRoute(spec, (s, r, ctx) => {
    if (!isAdmin(ctx.caller)) throw forbidden(`This route is for the ${ADMIN_GROUP} group only`);
    return handle(s, r, ctx);
  });
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

/** A project route: the caller's projects, their prompt cards and chats (the owner's, or an admin's). */
function projectRoute(spec: RouteSpec, handle: (projects: ProjectsService, r: RouteRequest, ctx: CallContext) => Promise<unknown>): Route {
  return userRoute({ ...spec, agent: false, needs: ['projects'] }, (s, r, ctx) => {
    if (!s.projects) throw new DependencyUnavailableError('Projects are not configured in this process', 60);
    return handle(s.projects, r, ctx);
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
  projectRoute(
    { name: 'create_project', method: 'POST', path: '/projects', summary: 'Creates a project of the caller: name, description, settings, status', lambda: 'data-ops', streams: false, body: projects.projectCreateSchema, response: projects.projectResponse },
    (p, r, ctx) => p.create(ctx.caller, r.body),
  ),
  projectRoute(
    { name: 'list_projects', method: 'GET', path: '/projects', summary: "The caller's projects, newest first, paginated", lambda: 'data-ops', streams: false, query: projects.projectListQuerySchema, response: projects.projectListResponse },
    (p, r, ctx) => p.list(ctx.caller, r.query),
  ),
  projectRoute(
    { name: 'get_project', method: 'GET', path: '/projects/{project_id}', summary: 'One project (its owner, or an admin)', lambda: 'data-ops', streams: false, response: projects.projectResponse },
    (p, r, ctx) => p.get(ctx.caller, r.params.project_id),
  ),
  projectRoute(
    { name: 'update_project', method: 'PUT', path: '/projects/{project_id}', summary: "Changes a project's name, description, settings or status (the fields given)", lambda: 'data-ops', streams: false, body: projects.projectUpdateSchema, response: projects.projectResponse },
    (p, r, ctx) => p.update(ctx.caller, r.params.project_id, r.body),
  ),
  projectRoute(
    { name: 'delete_project', method: 'DELETE', path: '/projects/{project_id}', summary: "Deletes a project with its prompt cards (and their text) and its chat history", lambda: 'data-ops', streams: false, response: projects.projectDeleteResponse },
    (p, r, ctx) => p.delete(ctx.caller, r.params.project_id),
  ),
  projectRoute(
    { name: 'create_prompt_card', method: 'POST', path: '/projects/{project_id}/prompt-cards', summary: 'Adds a prompt card to a project: title, text (in S3), tags, active, step order', lambda: 'data-ops', streams: false, body: projects.cardCreateSchema, response: projects.cardResponse },
    (p, r, ctx) => p.createCard(ctx.caller, r.params.project_id, r.body),
  ),
  projectRoute(
    { name: 'list_prompt_cards', method: 'GET', path: '/projects/{project_id}/prompt-cards', summary: "A project's prompt cards in step order (without their text)", lambda: 'data-ops', streams: false, response: projects.cardListResponse },
    (p, r, ctx) => p.listCards(ctx.caller, r.params.project_id),
  ),
  projectRoute(
    { name: 'get_prompt_card', method: 'GET', path: '/projects/{project_id}/prompt-cards/{prompt_id}', summary: 'One prompt card, with its text', lambda: 'data-ops', streams: false, response: projects.cardResponse },
    (p, r, ctx) => p.getCard(ctx.caller, r.params.project_id, r.params.prompt_id),
  ),
  projectRoute(
    { name: 'update_prompt_card', method: 'PUT', path: '/projects/{project_id}/prompt-cards/{prompt_id}', summary: "Changes a prompt card's title, text, tags, active flag or step order (the fields given)", lambda: 'data-ops', streams: false, body: projects.cardUpdateSchema, response: projects.cardResponse },
    (p, r, ctx) => p.updateCard(ctx.caller, r.params.project_id, r.params.prompt_id, r.body),
  ),
  projectRoute(
    { name: 'delete_prompt_card', method: 'DELETE', path: '/projects/{project_id}/prompt-cards/{prompt_id}', summary: 'Deletes a prompt card and its text', lambda: 'data-ops', streams: false, response: projects.cardDeleteResponse },
    (p, r, ctx) => p.deleteCard(ctx.caller, r.params.project_id, r.params.prompt_id),
  ),
  projectRoute(
    { name: 'project_chat', method: 'POST', path: '/projects/{project_id}/chat', summary: "Chats with a text model under the project's active prompt cards (in step order), continuing a session; the answer as it is written", lambda: 'text-regen', streams: true, body: projects.chatRequestSchema, response: projects.chatResponse },
    (p, r, ctx) => p.chat(ctx.caller, r.params.project_id, r.body, { signal: ctx.signal, onProgress: ctx.onProgress }),
  ),
  projectRoute(
    { name: 'get_project_chat', method: 'GET', path: '/projects/{project_id}/chat/{session_id}', summary: "A project chat session's exchanges, oldest first, paginated", lambda: 'data-ops', streams: false, query: projects.chatHistoryQuerySchema, response: projects.chatHistoryResponse },
    (p, r, ctx) => p.history(ctx.caller, r.params.project_id, r.params.session_id, r.query),
  ),
  adminRoute(
    { name: 'list_prompts', method: 'GET', path: '/admin/prompts', summary: 'Admin: the assistants and their prompts, with placeholders and whether the bucket holds a copy', lambda: 'data-ops', streams: false, agent: false, response: prompts.promptListResponse },
    async (s) => s.prompts.list(),
  ),
  adminRoute(
    { name: 'reload_prompts', method: 'POST', path: '/admin/prompts/reload', summary: "Admin: drops this process's prompt cache (its next use of each prompt asks the bucket)", lambda: 'data-ops', streams: false, agent: false, response: prompts.promptReloadResponse },
    async (s) => s.prompts.reload(),
  ),
  adminRoute(
    { name: 'get_prompt', method: 'GET', path: '/admin/prompts/{assistant}/{name}', summary: 'Admin: one prompt: its current text, version, last change and source', lambda: 'data-ops', streams: false, agent: false, response: prompts.promptResponse },
    (s, r) => s.prompts.get(r.params),
  ),
  adminRoute(
    { name: 'put_prompt', method: 'PUT', path: '/admin/prompts/{assistant}/{name}', summary: 'Admin: stores a new version of a prompt (checked: size, UTF-8, known placeholders)', lambda: 'data-ops', streams: false, agent: false, body: prompts.promptPutSchema, response: prompts.promptPutResponse },
    (s, r) => s.prompts.put(r.params, r.body),
  ),
  adminRoute(
    { name: 'list_prompt_versions', method: 'GET', path: '/admin/prompts/{assistant}/{name}/versions', summary: "Admin: a prompt's stored versions, newest first", lambda: 'data-ops', streams: false, agent: false, query: prompts.promptVersionsQuerySchema, response: prompts.promptVersionsResponse },
    (s, r) => s.prompts.versions(r.params, r.query),
  ),
  adminRoute(
    { name: 'rollback_prompt', method: 'POST', path: '/admin/prompts/{assistant}/{name}/rollback', summary: "Admin: stores an older version's text as the prompt's new current version", lambda: 'data-ops', streams: false, agent: false, body: prompts.promptRollbackSchema, response: prompts.promptPutResponse },
    (s, r) => s.prompts.rollback(r.params, r.body),
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
