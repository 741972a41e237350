import type { Telemetry } from '../core/ports';

/** JSON-lines logs on stderr plus in-process counters (read by /health and tests). */
export class ConsoleTelemetry implements Telemetry {
  readonly counters = new Map<string, number>();

  /** `quiet` drops every log line (tests read the counters instead). */
  constructor(private readonly quiet = false) {}

  count(metric: string, by = 1): void {
    this.counters.set(metric, (this.counters.get(metric) ?? 0) + by);
  }

  get(metric: string): number {
    return this.counters.get(metric) ?? 0;
  }

  log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    if (this.quiet) return;
    process.stderr.write(`${JSON.stringify({ level, message, ...fields, time: new Date().toISOString() })}\n`);
  }
}
