/**
 * The OpenAPI 3.1 document of the API, built from the route table and its zod schemas
 * (JSON Schema 2020-12, which OpenAPI 3.1 uses as its schema dialect). Served at the
 * `openapi` route and written next to the static site by `npm run build:images`.
 */
import { z } from 'zod';
import { envelopeSchema, errorResponse } from './responses';
import type { Route } from './routes';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Json;
  delete out.$schema;
  return out;
}

const ERRORS: Record<string, string> = {
  '400': 'The request breaks a rule; `error` says which',
  '401': 'No valid Cognito ID token (`{"message":"Unauthorized"}`)',
  '403': "Another user's job or image",
  '404': 'No such job or image',
  '413': 'The body is over the size limit',
  '429': 'The model provider is throttling; retry after `Retry-After` seconds',
  '500': 'An internal error (`error`, `message`, `request_id`)',
  '502': "The model's output could not be repaired",
  '503': 'A dependency is down or too slow; retry after `Retry-After` seconds',
};

const SSE_DESCRIPTION =
  'With `Accept: text/event-stream`: Server-Sent Events — `progress` {stage, detail}, `delta` {text, field, segment} (prose as it is written), ' +
  '`section_text` {section, story_part, segments} (a story section as soon as its text is complete), ' +
  '`panel` {panel, of, story_segment_number, story_segment} (each image as soon as it is stored), `section` {done, of, section} (each narrated section as soon as it is stored); ' +
  "the story agent's messages: `text` {delta}, `tool_call` {tool, input}, `tool_progress` {tool, stage, …}, `tool_result` {tool, status, summary}, `sources` {query, status, engine, results | reason}, " +
  '`media` {kind: image | audio, job_id, panel | section, done, of, s3_uri, url} and `artifact` {path, size, content_type, s3_uri, url} as they happen; ' +
  'then `result` (the same envelope as the JSON answer) or `error` {status, error, retry_after?}. Comment lines (`: keep-alive`) come every 15 s on a quiet stream.';

function operation(route: Route): Json {
  const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string', maxLength: 128 } }));
  const queryProps = route.query ? ((jsonSchema(route.query, 'input').properties ?? {}) as Record<string, Json>) : {};
  const queryParams = Object.entries(queryProps).map(([name, schema]) => ({ name, in: 'query', required: false, schema }));
  const success = jsonSchema(route.envelope ? envelopeSchema(route.response) : route.response, 'output');
  const content: Json = { 'application/json': { schema: success } };
  if (route.streams) content['text/event-stream'] = { schema: { type: 'string', description: SSE_DESCRIPTION } };
  const errors = Object.fromEntries(
    Object.entries(ERRORS)
      .filter(([status]) => route.access === 'user' || status === '500' || status === '503')
      .map(([status, description]) => [status, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]),
  );
  return {
    operationId: route.name,
    summary: route.summary,
    tags: [route.lambda ?? 'story-agent'],
    security: route.access === 'user' ? [{ cognito: [] }] : [],
    ...(pathParams.length + queryParams.length > 0 ? { parameters: [...pathParams, ...queryParams] } : {}),
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } } : {}),
    responses: { '200': { description: route.streams ? `${route.summary}. ${SSE_DESCRIPTION}` : route.summary, content }, ...errors },
    // The agent's own routes have no Lambda: the story agent (ECS, behind the ALB) serves them.
    'x-story42-lambda': route.lambda ?? null,
    'x-story42-streams': route.streams,
  };
}

export function buildOpenApi(routes: readonly Route[]): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    item[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Story42 API',
      version: '1.2',
      description: 'Topic ideas, outlines, stories, illustrations and jobs. Wire-compatible with the Story-42 v1.2 contract.',
    },
    paths,
    components: {
      securitySchemes: { cognito: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Cognito ID token of the user pool' } },
      schemas: { Error: jsonSchema(errorResponse, 'output') },
    },
  };
}

/** The route list as the README shows it (a test keeps the README's copy equal to this). */
export function routeListMarkdown(routes: readonly Route[]): string {
  const rows = routes.map((r) => `| \`${r.method}\` | \`${r.path}\` | \`${r.name}\` | ${r.lambda ?? '(agent only)'} | ${r.agent ? 'yes' : ''} | ${r.access === 'public' ? 'none' : 'ID token'} | ${r.streams ? 'SSE' : ''} | ${r.summary} |`);
  return ['| method | path | route name | Lambda | agent | auth | streams | what it does |', '|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}
