/**
 * The studio's API client: openapi-fetch typed by the types openapi-typescript generates from
 * the route table's OpenAPI document (web/src/api/openapi.d.ts) — request bodies, parameters
 * and answers all come from there. Every call carries the signed-in user's ID token; errors
 * become an ApiError with the spec's words, the status and Retry-After.
 */
import createClient, { type Client } from 'openapi-fetch';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { Auth } from '../auth';
import type { StudioConfig } from '../config';
import type { paths } from './openapi';
import type { StreamEvent } from './events';

export type { paths };
type Method = 'get' | 'post' | 'put' | 'delete';
/** The JSON answer (200) of a route. */
export type Ok<P extends keyof paths, M extends Method> = paths[P][M] extends { responses: { 200: { content: { 'application/json': infer R } } } } ? R : never;
/** The JSON body a route takes. */
export type Body<P extends keyof paths, M extends Method> = paths[P][M] extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;
/** The `result` of a route's envelope. */
export type Result<P extends keyof paths, M extends Method> = Ok<P, M> extends { result: infer R } ? R : never;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfter?: number,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function field(body: unknown, key: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;
}

export function apiError(status: number, body: unknown, retryAfterHeader?: string | null): ApiError {
  const text = field(body, 'error') ?? field(body, 'message');
  const retry = Number(retryAfterHeader ?? field(body, 'retry_after'));
  const requestId = field(body, 'request_id');
  return new ApiError(status, typeof text === 'string' && text ? text : `HTTP ${status}`, Number.isFinite(retry) && retry > 0 ? retry : undefined, typeof requestId === 'string' ? requestId : undefined);
}

/** What to tell the user about a failed call, in words. */
export function describeError(err: unknown): { title: string; message: string; retryAfter?: number; canRetry: boolean } {
  if (err instanceof ApiError) {
    switch (err.status) {
      case 400:
        return { title: 'That request was not accepted', message: err.message, canRetry: false };
      case 401:
        return { title: 'Your session has ended', message: 'Sign in again to go on.', canRetry: false };
      case 403:
        return { title: 'Not yours', message: 'This belongs to another user, or needs the admin group.', canRetry: false };
      case 404:
        return { title: 'Not found', message: err.message, canRetry: false };
      case 409:
        return { title: 'Busy', message: err.message, canRetry: true };
      case 413:
        return { title: 'Too large', message: err.message, canRetry: false };
      case 429:
        return { title: 'The story models are busy', message: `${err.message}. Try again${err.retryAfter ? ` in ${err.retryAfter} s` : ' in a moment'}.`, retryAfter: err.retryAfter, canRetry: true };
      case 502:
        return { title: "The model's answer could not be used", message: `${err.message}. Trying again usually helps.`, canRetry: true };
      case 503:
        return { title: 'A service the studio needs is not answering', message: `${err.message}. Try again${err.retryAfter ? ` in ${err.retryAfter} s` : ' in a moment'}.`, retryAfter: err.retryAfter, canRetry: true };
      default:
        return { title: 'Something went wrong', message: `${err.message}${err.requestId ? ` (request ${err.requestId})` : ''}`, canRetry: true };
    }
  }
  if (err instanceof DOMException && err.name === 'AbortError') return { title: 'Stopped', message: 'You stopped this.', canRetry: true };
  if (err instanceof TypeError) return { title: 'The studio cannot reach the API', message: 'Check your connection and try again.', canRetry: true };
  return { title: 'Something went wrong', message: err instanceof Error ? err.message : String(err), canRetry: true };
}

export interface Api {
  /** The routes API Gateway serves. */
  api: Client<paths>;
  /** The story agent's routes (/agent/…), which its own origin serves. */
  agent: Client<paths>;
}

export function createApi(config: StudioConfig, auth: Auth): Api {
  const make = (baseUrl: string) => {
    const client = createClient<paths>({ baseUrl });
    client.use({
      async onRequest({ request }) {
        const token = await auth.idToken();
        if (token) request.headers.set('Authorization', `Bearer ${token}`);
        return request;
      },
      async onResponse({ response }) {
        // An ID token the API no longer takes: refresh once; a refused refresh signs the user out.
        if (response.status === 401) await auth.refreshNow();
        return response;
      },
    });
    return client;
  };
  return { api: make(config.apiUrl), agent: make(config.agentUrl) };
}

type Outcome<T> = { data?: T; error?: unknown; response: Response };

/** The data of a call, or an ApiError (network failures stay TypeErrors). */
export async function unwrap<T>(call: Promise<Outcome<T>>): Promise<Exclude<T, undefined>> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) throw apiError(response.status, error, response.headers.get('Retry-After'));
  return data as Exclude<T, undefined>;
}

/** The options a streaming call adds: SSE, and its abort signal. */
export interface StreamInit {
  parseAs: 'stream';
  headers: { Accept: string };
  signal?: AbortSignal;
}

/**
 * A streaming route's events as they come, then its `result` (the same envelope as the JSON
 * answer); an `error` event becomes an ApiError.
 */
export async function streamCall<T>(start: (init: StreamInit) => Promise<Outcome<unknown>>, onEvent: (e: StreamEvent) => void, signal?: AbortSignal): Promise<T> {
  const { data, error, response } = await start({ parseAs: 'stream', headers: { Accept: 'text/event-stream' }, ...(signal ? { signal } : {}) });
  if (!response.ok || error !== undefined) throw apiError(response.status, error, response.headers.get('Retry-After'));
  if (!(data instanceof ReadableStream)) throw new ApiError(response.status, 'The answer was not a stream');
  const reader = data.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  for (;;) {
    const { done, value: message } = await reader.read();
    if (done) break;
    const payload: unknown = JSON.parse(message.data);
    if (message.event === 'result') return payload as T;
    if (message.event === 'error') throw apiError(Number(field(payload, 'status')) || 500, payload);
    onEvent({ event: message.event ?? 'message', data: payload } as StreamEvent);
  }
  throw new ApiError(502, 'The stream ended before its result');
}
