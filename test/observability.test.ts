/**
 * Logs and metrics leave the process: through the Lambda handler, every line is JSON with the
 * request id, route and caller; the counters are published as CloudWatch EMF at the end of the
 * invocation.
 */
import { lambdaHandler } from '../src/lambda/adapter';
import { invokeStreaming } from '../src/local/lambda-invoke';
import { createLocalPlatform } from '../src/local/providers';
import { PlatformTelemetry } from '../src/platform/telemetry';
import { jobId, testConfig } from './support/local';

describe('observability through the Lambda handler', () => {
  it('writes JSON lines carrying request_id, route and sub, and EMF metrics for the call', async () => {
    const lines: string[] = [];
    const telemetry = new PlatformTelemetry({ service: 'story42-text-regen', format: 'json', metrics: true, environment: 'test', write: (l) => lines.push(l) });
    const platform = createLocalPlatform(testConfig(), { telemetry });
    const event = {
      resource: '/generate-topics-ideas',
      path: '/generate-topics-ideas',
      httpMethod: 'POST',
      headers: {},
      body: JSON.stringify({ genre: 'fiction', topics: 'otters', job_id: jobId('obs') }),
      requestContext: { requestId: 'obs-request-1', authorizer: { claims: { sub: 'obs-user', email: 'o@example.com' } } },
    };
    const res = await invokeStreaming(lambdaHandler('text-regen', () => platform), event, { requestId: 'obs-request-1', functionName: 'text-regen' });
    for await (const _ of res.body) void _;
    await res.done;
    expect(res.statusCode).toBe(200);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const logs = parsed.filter((p) => typeof p.message === 'string');
    expect(logs.length).toBeGreaterThan(0);
    for (const l of logs) expect(l).toMatchObject({ service: 'story42-text-regen', request_id: 'obs-request-1', route: 'generate_topics_ideas', sub: 'obs-user' });
    expect(logs.find((l) => l.message === 'request')).toMatchObject({ level: 'INFO', status: 200 });
    const emf = parsed.find((p) => typeof p._aws === 'object') as { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Metrics: Array<{ Name: string; Unit: string }> }> }; [k: string]: unknown } | undefined;
    expect(emf?._aws.CloudWatchMetrics[0]?.Namespace).toBe('Story42');
    const names = emf?._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name) ?? [];
    expect(names).toEqual(expect.arrayContaining(['tracking_records', 'model_latency_ms', 'output_tokens']));
    expect(emf).toMatchObject({ service: 'story42-text-regen', environment: 'test', tracking_records: 1 });
  });
});
