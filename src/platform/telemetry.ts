/**
 * Telemetry on Powertools for AWS Lambda (TypeScript): structured logs through the Powertools
 * Logger and counters / measurements as CloudWatch metrics in EMF through Powertools Metrics.
 *
 * One implementation for the three places Story42 runs:
 * - Lambda: `format: 'json', metrics: true`; wrap each invocation in `withRequest` and call
 *   `flush()` in a `finally` at the end of the invocation (EMF is published by printing it).
 * - The Express agent on ECS (long-lived, many concurrent requests): same options; wrap each
 *   request's handler in `withRequest`, and publish metrics with `startAutoFlush(ms)` (call the
 *   returned stop function on shutdown; it flushes once more) or `flush()` after each request.
 * - Locally: `format: 'readable'` for people, `'silent'` for tests.
 *
 * Environment, read by Powertools when the instance is built:
 * - `POWERTOOLS_LOG_LEVEL` (or `LOG_LEVEL`): DEBUG, INFO (default), WARN, ERROR, SILENT; on
 *   Lambda, `AWS_LAMBDA_LOG_LEVEL` (Advanced Logging Controls) takes precedence.
 * - `POWERTOOLS_METRICS_DISABLED=true` stops EMF output; `POWERTOOLS_DEV=true` also does,
 *   unless `POWERTOOLS_METRICS_DISABLED=false` is set as well.
 * - `_X_AMZN_TRACE_ID` (set by Lambda) becomes `xray_trace_id` on JSON lines; `TZ` changes
 *   the JSON timestamp's offset.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { LogFormatter, LogItem, Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions, LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics, MetricUnit as PowertoolsMetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit, Telemetry } from '../core/ports';

export type LogFormat = 'json' | 'readable' | 'silent';
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

export interface PlatformTelemetryOptions {
  /** `service` on every JSON log line and the `service` metric dimension. */
  service: string;
  /** CloudWatch metric namespace; default `Story42`. */
  namespace?: string;
  /**
   * `json`: one Powertools JSON object per line (on AWS). `readable`: one short human line per
   * log (local). `silent`: nothing is written at all, not even metrics; counters still count.
   */
  format: LogFormat;
  /** Publish counts and measures as EMF on `flush()`. Ignored when `format` is `silent`. */
  metrics: boolean;
  /** Receives each log line and EMF blob, without the trailing newline; default process.stdout. */
  write?: (line: string) => void;
  /** Added as the `environment` metric dimension when given. */
  environment?: string;
}

/** Keys every log line inside `withRequest` carries. */
export interface RequestKeys {
  request_id: string;
  route?: string;
  sub?: string;
}

type LineWriter = (line: string) => void;
type JsonReplacer = (this: unknown, key: string, value: unknown) => unknown;

const DEFAULT_NAMESPACE = 'Story42';
const REDACTED = '[redacted]';

/**
 * Powertools Metrics publishes by itself, to process.stdout and not to `write`, once 100
 * metric names or 100 values of one metric are stored. We publish through `write` before
 * either limit is reached (the library does not export these constants).
 */
const MAX_METRIC_NAMES = 100;
const MAX_VALUES_PER_METRIC = 100;
/** Bounds the memory spent remembering which rejected metric names were already logged. */
const MAX_REMEMBERED_REJECTIONS = 1000;

const UNITS = {
  Count: PowertoolsMetricUnit.Count,
  Milliseconds: PowertoolsMetricUnit.Milliseconds,
} as const satisfies Record<MetricUnit, (typeof PowertoolsMetricUnit)[keyof typeof PowertoolsMetricUnit]>;

/**
 * Keys whose values are never logged, at any depth: authorization, password, secret, api key
 * (`api_key`, `apiKey`, `x-api-key`), cookie, and anything ending in `token` (`token`,
 * `idToken`, `refresh_token`) but not token counts such as `input_tokens`. Case-insensitive.
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return /authorization|password|secret|apikey|cookie/.test(k) || k.endsWith('token');
}

/**
 * The replacer used for every log line. Powertools' own replacer (`getJsonReplacer()`: BigInt,
 * circular references, then our step, then `formatError` for errors) does the traversal; our
 * step redacts secret keys at any depth and gives errors their logged shape. The shape depends
 * on the line's level and format, which the `jsonReplacerFn` constructor option and the
 * formatter's `formatError` do not see, so it is composed here, once per line.
 */
function lineReplacer(powertools: (key: string, value: unknown) => void, format: LogFormat, logLevel: number): JsonReplacer {
  const withStack = format === 'json' && logLevel >= LogLevelThreshold.ERROR;
  const errorShape = (e: Error): unknown =>
    format === 'json' ? { name: e.name, message: e.message, ...(withStack && e.stack ? { stack: e.stack } : {}) } : `${e.name}: ${e.message}`;
  return function (this: unknown, key: string, value: unknown): unknown {
    let v = value;
    if (key !== '' && v !== undefined && isSecretKey(key)) v = REDACTED;
    else if (v instanceof Error) v = errorShape(v);
    return powertools.call(this, key, v);
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local wall-clock time, `12:01:02.345`. */
function clockTime(d: Date): string {
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function oneLine(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\\n');
}

function readableValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * The Powertools formatter for `readable`: keeps the time of day, level and message, and the
 * extra keys; `renderReadable` turns the result (already through the replacer) into the line.
 * `timestamp`, `level` and `message` are Powertools reserved keys, so callers' fields never
 * collide with them.
 */
class ReadableLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additionalLogAttributes: LogAttributes): LogItem {
    return new LogItem({
      attributes: { timestamp: clockTime(attributes.timestamp), level: attributes.logLevel, message: attributes.message },
    }).addAttributes(additionalLogAttributes);
  }
}

/** `12:01:02.345 INFO  story accepted  request_id=… route=… sub=…` */
function renderReadable(plain: unknown): string {
  if (!isRecord(plain)) return oneLine(String(plain));
  const { timestamp, level, message, ...rest } = plain;
  const head = `${String(timestamp)} ${String(level).padEnd(5)} ${oneLine(String(message ?? ''))}`;
  const tail = Object.entries(rest).map(([k, v]) => `${k}=${readableValue(v)}`);
  return tail.length > 0 ? `${head}  ${tail.join(' ')}` : head;
}

interface LineOutput {
  format: LogFormat;
  write: LineWriter;
}

/**
 * The Powertools Logger, printing to `write` instead of its private node:console on
 * process.stdout (`printLog` is the extension point the library leaves protected). JSON is
 * always compact, one object per line, also when POWERTOOLS_DEV would pretty-print it.
 */
class LineLogger extends Logger {
  // `declare`d, so that no field initialiser runs after super(): the base constructor may
  // already print (warnings during its option parsing), before `output` is set. Those lines
  // are kept in `early` and printed once the output is known.
  declare private output: LineOutput | undefined;
  declare private early: Array<[number, LogItem]> | undefined;

  constructor(options: ConstructorOptions, output: LineOutput) {
    super(options);
    this.output = output;
    const early = this.early ?? [];
    this.early = undefined;
    for (const [level, item] of early) this.printLog(level, item);
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    const output = this.output;
    if (output === undefined) {
      (this.early ??= []).push([logLevel, log]);
      return;
    }
    if (output.format === 'silent') return;
    log.prepareForPrint();
    const json = JSON.stringify(log.getAttributes(), lineReplacer(this.getJsonReplacer(), output.format, logLevel));
    if (output.format === 'json') {
      output.write(json);
      return;
    }
    const plain: unknown = JSON.parse(json);
    output.write(renderReadable(plain));
  }
}

/**
 * Powertools Metrics publishing to `write`. `publishStoredMetrics()` prints through a private
 * node:console bound to process.stdout, so this repeats its steps with the public API:
 * serialize, print unless disabled by the environment, clear.
 */
class EmfMetrics extends Metrics {
  publishTo(write: LineWriter): void {
    if (!this.hasStoredMetrics()) return;
    try {
      if (!this.isDisabled()) write(JSON.stringify(this.serializeMetrics()));
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
  }
}

function definedKeys(keys: Partial<RequestKeys>): Partial<RequestKeys> {
  const out: Partial<RequestKeys> = {};
  if (keys.request_id !== undefined) out.request_id = keys.request_id;
  if (keys.route !== undefined) out.route = keys.route;
  if (keys.sub !== undefined) out.sub = keys.sub;
  return out;
}

function defaultWrite(line: string): void {
  process.stdout.write(`${line}\n`);
}

export class PlatformTelemetry implements Telemetry {
  readonly service: string;
  readonly #counters = new Map<string, number>();
  /**
   * Request scope. Powertools' `appendKeys` is process-wide (it is scoped per invocation only
   * on Lambda with AWS_LAMBDA_MAX_CONCURRENCY and the runtime's InvokeStore), so concurrent
   * agent requests would overwrite each other's keys; AsyncLocalStorage follows each request
   * through its awaits instead. The keys are passed with each log call.
   */
  readonly #scope = new AsyncLocalStorage<Partial<RequestKeys>>();
  readonly #logger: LineLogger;
  readonly #metrics: EmfMetrics | undefined;
  readonly #write: LineWriter;
  readonly #format: LogFormat;
  /** Values stored in Powertools per metric name since the last publish. */
  readonly #pending = new Map<string, number>();
  /** Metric names that are never published (they are EMF dimension or reserved keys). */
  readonly #reservedNames: ReadonlySet<string>;
  readonly #rejected = new Set<string>();

  constructor(options: PlatformTelemetryOptions) {
    this.service = options.service;
    this.#format = options.format;
    this.#write = options.write ?? defaultWrite;
    const output: LineOutput = { format: options.format, write: this.#write };
    const loggerOptions: ConstructorOptions =
      options.format === 'readable'
        ? { serviceName: options.service, logFormatter: new ReadableLogFormatter() }
        : options.format === 'silent'
          ? { serviceName: options.service, logLevel: 'SILENT' }
          : { serviceName: options.service };
    this.#logger = new LineLogger(loggerOptions, output);
    const dimensions: Record<string, string> = options.environment ? { environment: options.environment } : {};
    this.#reservedNames = new Set(['_aws', 'service', ...Object.keys(dimensions)]);
    this.#metrics =
      options.metrics && options.format !== 'silent'
        ? new EmfMetrics({
            namespace: options.namespace ?? DEFAULT_NAMESPACE,
            serviceName: options.service,
            defaultDimensions: dimensions,
            // Powertools' own warnings (dimensions, namespace) become our log lines.
            logger: this.#logger,
          })
        : undefined;
  }

  /** In-process totals of `count()` calls since start, in every mode (read by /health, tests). */
  get counters(): ReadonlyMap<string, number> {
    return this.#counters;
  }

  get(metric: string): number {
    return this.#counters.get(metric) ?? 0;
  }

  count(metric: string, by = 1): void {
    if (!Number.isFinite(by)) {
      this.#reject(metric, `${by} is not a finite number`);
      return;
    }
    this.#counters.set(metric, this.get(metric) + by);
    this.#store(metric, 'Count', by);
  }

  /** Published as a metric only (not added to `counters`). */
  measure(metric: string, value: number, unit: MetricUnit): void {
    if (!Number.isFinite(value)) {
      this.#reject(metric, `${value} is not a finite number`);
      return;
    }
    this.#store(metric, unit, value);
  }

  log(level: LogLevelName, message: string, fields: Record<string, unknown> = {}): void {
    const keys = this.#scope.getStore();
    // The request's keys come first on the line and win over same-named fields.
    const attributes = keys ? Object.assign({}, keys, fields, keys) : fields;
    try {
      this.#logger[level](message, attributes);
    } catch (err) {
      // Telemetry must not fail a request; say so on one minimal line instead.
      this.#fallback(level, message, err);
    }
  }

  /**
   * Runs `fn` in a request scope: every log line written inside it, including after awaits and
   * while other requests run concurrently, carries these keys. Returns what `fn` returns.
   */
  withRequest<T>(keys: RequestKeys, fn: () => T): T {
    return this.#scope.run(definedKeys(keys), fn);
  }

  /** Adds keys (e.g. `sub` once the caller is verified) to the current request scope; no-op outside one. */
  setRequestKeys(keys: Partial<RequestKeys>): void {
    const scope = this.#scope.getStore();
    if (scope) Object.assign(scope, definedKeys(keys));
  }

  /**
   * Publishes the stored metrics now as one EMF line (nothing when none are stored or metrics
   * are off). Call it at the end of every Lambda invocation (in a `finally`); in the agent use
   * `startAutoFlush`, or call it after each request. Never throws.
   */
  flush(): void {
    const metrics = this.#metrics;
    if (!metrics) return;
    this.#pending.clear();
    try {
      metrics.publishTo(this.#write);
    } catch (err) {
      this.log('error', 'metrics could not be published', { error: err });
    }
  }

  /**
   * For long-lived processes: flushes every `intervalMs` on an unref'd timer (it does not keep
   * the process alive). Returns a stop function that clears the timer and flushes once more;
   * call it on shutdown (SIGTERM).
   */
  startAutoFlush(intervalMs: number): () => void {
    const timer = setInterval(() => this.flush(), intervalMs);
    timer.unref();
    return () => {
      clearInterval(timer);
      this.flush();
    };
  }

  #store(metric: string, unit: MetricUnit, value: number): void {
    const metrics = this.#metrics;
    if (!metrics) return;
    if (this.#reservedNames.has(metric)) {
      this.#reject(metric, 'the name is an EMF dimension or reserved key');
      return;
    }
    try {
      if (this.#pending.size >= MAX_METRIC_NAMES || (this.#pending.get(metric) ?? 0) >= MAX_VALUES_PER_METRIC - 1) this.flush();
      // Throws on names Powertools rejects (empty, over 255 characters) and on a unit that
      // differs from the one this name was first stored with; nothing is stored then.
      metrics.addMetric(metric, UNITS[unit], value);
      this.#pending.set(metric, (this.#pending.get(metric) ?? 0) + 1);
    } catch (err) {
      this.#reject(metric, err instanceof Error ? err.message : String(err));
    }
  }

  /** A metric value is dropped; its name is logged once. */
  #reject(metric: string, reason: string): void {
    if (this.#rejected.has(metric) || this.#rejected.size >= MAX_REMEMBERED_REJECTIONS) return;
    this.#rejected.add(metric);
    this.log('warn', 'metric dropped', { metric: metric === '' ? '(empty)' : metric.slice(0, 300), reason });
  }

  #fallback(level: LogLevelName, message: string, err: unknown): void {
    if (this.#format === 'silent') return;
    try {
      this.#write(
        JSON.stringify({
          level: level.toUpperCase(),
          message,
          service: this.service,
          telemetry_error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        }),
      );
    } catch {
      // Nowhere left to report to.
    }
  }
}
