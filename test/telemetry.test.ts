/**
 * PlatformTelemetry: Powertools Logger lines (json / readable / silent), request scope across
 * concurrent requests, EMF metrics on flush, redaction, and metric calls that never throw.
 * Output is captured through the `write` option.
 */
import { PlatformTelemetry, type PlatformTelemetryOptions } from '../src/platform/telemetry';

type Json = Record<string, unknown>;

/** Environment variables Powertools reads; cleared so the host's settings cannot leak in. */
const POWERTOOLS_ENV = [
  'POWERTOOLS_LOG_LEVEL',
  'LOG_LEVEL',
  'AWS_LAMBDA_LOG_LEVEL',
  'POWERTOOLS_DEV',
  'POWERTOOLS_METRICS_DISABLED',
  'POWERTOOLS_METRICS_NAMESPACE',
  'POWERTOOLS_LOGGER_SAMPLE_RATE',
  'POWERTOOLS_LOGGER_LOG_EVENT',
  'AWS_LAMBDA_MAX_CONCURRENCY',
  '_X_AMZN_TRACE_ID',
];
const saved = new Map<string, string | undefined>();
beforeEach(() => {
  for (const key of POWERTOOLS_ENV) {
    saved.set(key, process.env[key]);
    delete process.env[key];
  }
});
afterEach(() => {
  for (const [key, value] of saved) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

function capture(options: Partial<PlatformTelemetryOptions> = {}): { telemetry: PlatformTelemetry; lines: string[] } {
  const lines: string[] = [];
  const telemetry = new PlatformTelemetry({ service: 'story42-test', format: 'json', metrics: false, write: (line) => lines.push(line), ...options });
  return { telemetry, lines };
}

function asRecord(value: unknown): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not a JSON object: ${JSON.stringify(value)}`);
  return value as Json;
}

function parse(line: string): Json {
  const value: unknown = JSON.parse(line);
  return asRecord(value);
}

function isEmf(line: string): boolean {
  return line.startsWith('{') && '_aws' in parse(line);
}

function logLines(lines: string[]): Json[] {
  return lines.filter((l) => !isEmf(l)).map(parse);
}

function emfBlobs(lines: string[]): Json[] {
  return lines.filter(isEmf).map(parse);
}

interface MetricDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: Array<{ Name: string; Unit: string }>;
}

function directive(blob: Json): MetricDirective {
  const aws = asRecord(blob._aws);
  const list = aws.CloudWatchMetrics;
  if (!Array.isArray(list) || list.length !== 1) throw new Error('expected one CloudWatchMetrics directive');
  return list[0] as MetricDirective;
}

/** EMF values are a number or an array of numbers; the sum is what CloudWatch's Sum shows. */
function sumOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return value.reduce((acc: number, v: unknown) => acc + sumOf(v), 0);
  throw new Error(`not a metric value: ${JSON.stringify(value)}`);
}

function gate(): { open: () => void; passed: Promise<void> } {
  let open = (): void => undefined;
  const passed = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, passed };
}

describe('json format', () => {
  test('one Powertools JSON object per line with level, message, service, timestamp and request keys', () => {
    const { telemetry, lines } = capture();
    telemetry.log('info', 'before any request');
    telemetry.withRequest({ request_id: 'req-1', route: 'generate_entire_story' }, () => {
      telemetry.setRequestKeys({ sub: 'user-1' });
      telemetry.log('warn', 'model output rejected', { task: 'outline', attempt: 2 });
    });

    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).not.toContain('\n');
    const [outside, inside] = lines.map(parse);
    expect(outside).toMatchObject({ level: 'INFO', message: 'before any request', service: 'story42-test' });
    expect(outside).not.toHaveProperty('request_id');
    expect(inside).toMatchObject({
      level: 'WARN',
      message: 'model output rejected',
      service: 'story42-test',
      request_id: 'req-1',
      route: 'generate_entire_story',
      sub: 'user-1',
      task: 'outline',
      attempt: 2,
    });
    expect(Number.isNaN(Date.parse(String(inside?.timestamp)))).toBe(false);
  });

  test('two overlapping requests each log their own request_id, route and sub', async () => {
    const { telemetry, lines } = capture();
    const a = gate();
    const b = gate();
    const c = gate();

    const requestA = telemetry.withRequest({ request_id: 'req-A', route: 'generate_outline' }, async () => {
      telemetry.log('info', 'A1');
      await a.passed;
      telemetry.setRequestKeys({ sub: 'user-A' });
      telemetry.log('info', 'A2');
      await c.passed;
      await new Promise<void>((resolve) => setImmediate(resolve));
      telemetry.log('info', 'A3');
    });
    const requestB = telemetry.withRequest({ request_id: 'req-B', route: 'generate_entire_story', sub: 'user-B' }, async () => {
      telemetry.log('info', 'B1');
      await b.passed;
      telemetry.log('info', 'B2');
      telemetry.setRequestKeys({ route: 'generate_entire_story_stream' });
      a.open(); // A resumes while B is still in flight
      await Promise.resolve();
      await Promise.resolve();
      telemetry.log('info', 'B3');
      c.open();
    });
    b.open();
    await Promise.all([requestA, requestB]);
    telemetry.log('info', 'after both');

    const byMessage = new Map(lines.map(parse).map((l) => [String(l.message), l]));
    const order = lines.map((l) => String(parse(l).message));
    // The requests really did interleave.
    expect(order.indexOf('A1')).toBeLessThan(order.indexOf('B1'));
    expect(order.indexOf('B1')).toBeLessThan(order.indexOf('A2'));
    expect(order.indexOf('A2')).toBeLessThan(order.indexOf('B3'));
    expect(order.indexOf('B3')).toBeLessThan(order.indexOf('A3'));

    const keys = (message: string) => {
      const l = byMessage.get(message);
      return { request_id: l?.request_id, route: l?.route, sub: l?.sub };
    };
    expect(keys('A1')).toEqual({ request_id: 'req-A', route: 'generate_outline', sub: undefined });
    expect(keys('A2')).toEqual({ request_id: 'req-A', route: 'generate_outline', sub: 'user-A' });
    expect(keys('A3')).toEqual({ request_id: 'req-A', route: 'generate_outline', sub: 'user-A' });
    expect(keys('B1')).toEqual({ request_id: 'req-B', route: 'generate_entire_story', sub: 'user-B' });
    expect(keys('B2')).toEqual({ request_id: 'req-B', route: 'generate_entire_story', sub: 'user-B' });
    expect(keys('B3')).toEqual({ request_id: 'req-B', route: 'generate_entire_story_stream', sub: 'user-B' });
    expect(keys('after both')).toEqual({ request_id: undefined, route: undefined, sub: undefined });
  });

  test('withRequest returns what fn returns; setRequestKeys outside a request does nothing', async () => {
    const { telemetry, lines } = capture();
    telemetry.setRequestKeys({ sub: 'nobody' });
    expect(telemetry.withRequest({ request_id: 'r' }, () => 42)).toBe(42);
    await expect(telemetry.withRequest({ request_id: 'r' }, async () => 'done')).resolves.toBe('done');
    telemetry.log('info', 'outside');
    expect(parse(lines[0] ?? '{}')).not.toHaveProperty('sub');
  });

  test('errors are logged as name and message, with the stack only at error level', () => {
    const { telemetry, lines } = capture();
    telemetry.log('error', 'unhandled error', { error: new TypeError('bad input') });
    telemetry.log('warn', 'panel image failed', { error: new Error('throttled'), detail: { cause: new RangeError('deep') } });

    const [atError, atWarn] = lines.map(parse);
    const errorField = asRecord(atError?.error);
    expect(errorField).toMatchObject({ name: 'TypeError', message: 'bad input' });
    expect(String(errorField.stack)).toContain('TypeError: bad input');
    expect(asRecord(atWarn?.error)).toEqual({ name: 'Error', message: 'throttled' });
    expect(asRecord(asRecord(atWarn?.detail).cause)).toEqual({ name: 'RangeError', message: 'deep' });
  });

  test('level comes from POWERTOOLS_LOG_LEVEL / LOG_LEVEL, default INFO', () => {
    const byDefault = capture();
    byDefault.telemetry.log('debug', 'hidden');
    byDefault.telemetry.log('info', 'shown');
    expect(logLines(byDefault.lines).map((l) => l.message)).toEqual(['shown']);

    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    const warnOnly = capture();
    warnOnly.telemetry.log('info', 'hidden');
    warnOnly.telemetry.log('warn', 'shown');
    expect(logLines(warnOnly.lines).map((l) => l.message)).toEqual(['shown']);

    delete process.env.POWERTOOLS_LOG_LEVEL;
    process.env.LOG_LEVEL = 'DEBUG';
    const debug = capture();
    debug.telemetry.log('debug', 'shown');
    expect(logLines(debug.lines).map((l) => l.message)).toEqual(['shown']);
  });
});

describe('redaction', () => {
  const fields = {
    authorization: 'Bearer eyJ.secret.jwt',
    normal: 'visible',
    input_tokens: 12,
    request: {
      headers: { Authorization: 'Bearer abc', 'x-api-key': 'key-1', accept: 'text/event-stream' },
      body: [{ apiKey: 'key-2', PASSWORD: 'hunter2', idToken: 'tok-1', usage: { outputTokens: 7 } }],
    },
    config: { gemini: { api_key: 'key-3', client_secret: 'sec-1', Token: { nested: 'tok-2' } } },
  };
  const leaked = ['eyJ.secret.jwt', 'Bearer abc', 'key-1', 'key-2', 'key-3', 'hunter2', 'tok-1', 'tok-2', 'sec-1'];

  test('secret-looking keys are redacted at any depth in json lines; other values stay', () => {
    const { telemetry, lines } = capture();
    telemetry.log('info', 'request seen', fields);
    expect(lines).toHaveLength(1);
    for (const secret of leaked) expect(lines[0]).not.toContain(secret);

    const line = parse(lines[0] ?? '');
    expect(line.authorization).toBe('[redacted]');
    expect(line.normal).toBe('visible');
    expect(line.input_tokens).toBe(12);
    const request = asRecord(line.request);
    expect(asRecord(request.headers)).toEqual({ Authorization: '[redacted]', 'x-api-key': '[redacted]', accept: 'text/event-stream' });
    expect(request.body).toEqual([{ apiKey: '[redacted]', PASSWORD: '[redacted]', idToken: '[redacted]', usage: { outputTokens: 7 } }]);
    expect(asRecord(asRecord(line.config).gemini)).toEqual({ api_key: '[redacted]', client_secret: '[redacted]', Token: '[redacted]' });
  });

  test('and in readable lines', () => {
    const { telemetry, lines } = capture({ format: 'readable' });
    telemetry.log('info', 'request seen', fields);
    expect(lines).toHaveLength(1);
    for (const secret of leaked) expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain('authorization=[redacted]');
    expect(lines[0]).toContain('normal=visible');
  });
});

describe('readable format', () => {
  test('one short human line per log carrying the request keys', () => {
    const { telemetry, lines } = capture({ format: 'readable' });
    telemetry.withRequest({ request_id: 'req-7', route: 'generate_entire_story', sub: 'user-7' }, () => {
      telemetry.log('info', 'story accepted', { words: 120, title: 'The Fox' });
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} INFO  story accepted  request_id=req-7 route=generate_entire_story sub=user-7 words=120 title="The Fox"$/);
  });

  test('multi-line messages and errors stay on one line, without stacks', () => {
    const { telemetry, lines } = capture({ format: 'readable' });
    telemetry.log('error', 'tracking failed\nthe story is unaffected', { error: new Error('table missing') });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(lines[0]).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} ERROR tracking failed\\nthe story is unaffected  error="Error: table missing"$/);
  });

  test('metrics are printed only when metrics is true', () => {
    const quiet = capture({ format: 'readable', metrics: false });
    quiet.telemetry.count('tracking_failures');
    quiet.telemetry.flush();
    expect(quiet.lines).toEqual([]);

    const loud = capture({ format: 'readable', metrics: true });
    loud.telemetry.count('tracking_failures');
    loud.telemetry.flush();
    expect(emfBlobs(loud.lines)).toHaveLength(1);
  });
});

describe('silent format', () => {
  test('writes nothing but still counts', () => {
    const write = jest.fn<void, [string]>();
    const telemetry = new PlatformTelemetry({ service: 'story42-test', format: 'silent', metrics: true, write });
    telemetry.withRequest({ request_id: 'r' }, () => {
      for (const level of ['debug', 'info', 'warn', 'error'] as const) telemetry.log(level, `a ${level} line`);
    });
    telemetry.count('tracking_records');
    telemetry.count('tracking_records', 2);
    telemetry.count('model_retries');
    telemetry.measure('model_latency_ms', 250, 'Milliseconds');
    telemetry.count('');
    telemetry.flush();

    expect(write).not.toHaveBeenCalled();
    expect(telemetry.get('tracking_records')).toBe(3);
    expect(telemetry.get('model_retries')).toBe(1);
    expect(telemetry.get('never_counted')).toBe(0);
    expect(Object.fromEntries(telemetry.counters)).toEqual({ tracking_records: 3, model_retries: 1, '': 1 });
  });
});

describe('metrics', () => {
  test('flush writes one EMF blob with namespace, dimensions, names, units and values', () => {
    const { telemetry, lines } = capture({ metrics: true, environment: 'staging' });
    telemetry.count('tracking_failures');
    telemetry.count('tracking_failures');
    telemetry.count('model_retries', 3);
    telemetry.measure('model_latency_ms', 120, 'Milliseconds');
    telemetry.measure('model_latency_ms', 80, 'Milliseconds');
    telemetry.measure('input_tokens', 42, 'Count');
    expect(lines).toEqual([]); // nothing until flush

    telemetry.flush();
    const blobs = emfBlobs(lines);
    expect(blobs).toHaveLength(1);
    const [blob] = blobs;
    if (!blob) throw new Error('no EMF blob');
    const emf = directive(blob);
    expect(emf.Namespace).toBe('Story42');
    expect(emf.Dimensions).toEqual([['service', 'environment']]);
    expect(blob.service).toBe('story42-test');
    expect(blob.environment).toBe('staging');
    expect(emf.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'tracking_failures', Unit: 'Count' },
        { Name: 'model_retries', Unit: 'Count' },
        { Name: 'model_latency_ms', Unit: 'Milliseconds' },
        { Name: 'input_tokens', Unit: 'Count' },
      ]),
    );
    expect(emf.Metrics).toHaveLength(4);
    expect(sumOf(blob.tracking_failures)).toBe(2);
    expect(sumOf(blob.model_retries)).toBe(3);
    expect(blob.model_latency_ms).toEqual([120, 80]);
    expect(blob.input_tokens).toBe(42);
    expect(typeof asRecord(blob._aws).Timestamp).toBe('number');

    telemetry.flush(); // the store was cleared
    expect(emfBlobs(lines)).toHaveLength(1);
    expect(telemetry.get('tracking_failures')).toBe(2); // in-process totals are kept
  });

  test('namespace option; dimensions are only service without environment', () => {
    const { telemetry, lines } = capture({ metrics: true, namespace: 'Story42Agent' });
    telemetry.count('route_error.generate_outline');
    telemetry.flush();
    const [blob] = emfBlobs(lines);
    if (!blob) throw new Error('no EMF blob');
    expect(directive(blob).Namespace).toBe('Story42Agent');
    expect(directive(blob).Dimensions).toEqual([['service']]);
    expect(blob['route_error.generate_outline']).toBe(1);
  });

  test('with metrics off, flush writes nothing', () => {
    const { telemetry, lines } = capture({ metrics: false });
    telemetry.count('tracking_failures');
    telemetry.measure('model_latency_ms', 5, 'Milliseconds');
    telemetry.flush();
    expect(lines).toEqual([]);
    expect(telemetry.get('tracking_failures')).toBe(1);
  });

  test('names Powertools rejects never throw, are dropped, and are logged once', () => {
    const { telemetry, lines } = capture({ metrics: true, environment: 'dev' });
    const tooLong = 'm'.repeat(300);
    expect(() => {
      telemetry.count('');
      telemetry.count('');
      telemetry.count(tooLong);
      telemetry.count(tooLong);
      telemetry.count('service'); // collides with the dimension
      telemetry.count('environment');
      telemetry.measure('model_latency_ms', 10, 'Milliseconds');
      telemetry.measure('model_latency_ms', 1, 'Count'); // unit differs from the first
      telemetry.measure('input_tokens', Number.NaN, 'Count');
      telemetry.count('model_throttles', Number.POSITIVE_INFINITY);
      telemetry.count('model_throttles');
      telemetry.flush();
    }).not.toThrow();

    const warnings = logLines(lines).filter((l) => l.message === 'metric dropped');
    expect(warnings.map((w) => w.metric)).toEqual(['(empty)', tooLong, 'service', 'environment', 'model_latency_ms', 'input_tokens', 'model_throttles']);
    for (const w of warnings) expect(w.level).toBe('WARN');

    const blobs = emfBlobs(lines);
    expect(blobs).toHaveLength(1);
    const [blob] = blobs;
    if (!blob) throw new Error('no EMF blob');
    expect(directive(blob).Metrics.map((m) => m.Name).sort()).toEqual(['model_latency_ms', 'model_throttles']);
    expect(blob.model_latency_ms).toBe(10);
    expect(blob.model_throttles).toBe(1);
    expect(blob.service).toBe('story42-test');
  });

  test('a large store is published early through write, within EMF limits, without losing values', () => {
    const { telemetry, lines } = capture({ metrics: true });
    expect(() => {
      for (let i = 0; i < 150; i++) telemetry.count(`metric_${i}`);
      for (let i = 0; i < 250; i++) telemetry.count('model_retries');
      telemetry.flush();
    }).not.toThrow();

    const blobs = emfBlobs(lines);
    expect(blobs.length).toBeGreaterThan(1);
    const totals = new Map<string, number>();
    for (const blob of blobs) {
      const names = directive(blob).Metrics.map((m) => m.Name);
      expect(names.length).toBeLessThanOrEqual(100);
      for (const name of names) {
        const value = blob[name];
        if (Array.isArray(value)) expect(value.length).toBeLessThanOrEqual(100);
        totals.set(name, (totals.get(name) ?? 0) + sumOf(value));
      }
    }
    expect(totals.size).toBe(151);
    expect(totals.get('metric_0')).toBe(1);
    expect(totals.get('metric_149')).toBe(1);
    expect(totals.get('model_retries')).toBe(250);
    expect(logLines(lines)).toEqual([]); // no Powertools warnings either
  });

  test('startAutoFlush publishes on its timer and once more when stopped', async () => {
    const lines: string[] = [];
    let onEmf = (): void => undefined;
    const telemetry = new PlatformTelemetry({
      service: 'story42-test',
      format: 'json',
      metrics: true,
      write: (line) => {
        lines.push(line);
        if (isEmf(line)) onEmf();
      },
    });
    const published = new Promise<void>((resolve) => {
      onEmf = resolve;
    });
    const stop = telemetry.startAutoFlush(5);
    telemetry.count('tracking_records');
    await published; // resolves on the timer's flush, no fixed wait
    expect(emfBlobs(lines)).toHaveLength(1);

    telemetry.count('tracking_records', 4);
    stop();
    const blobs = emfBlobs(lines);
    expect(blobs).toHaveLength(2);
    expect(blobs[1]?.tracking_records).toBe(4);
  });
});
