/**
 * What the local text-to-speech servers (Polly, ElevenLabs) share: speaking a request through
 * the offline synthesizer's worker pool unless its client goes away first, the scripted
 * latency, and the bookkeeping tests wait on (requests in flight, the next request's arrival).
 */
import { EspeakPool } from '../offline/speech';
import type { SpeechJob } from '../offline/speech-worker.mjs';
import { waitUnlessClosed } from './http-util';

/** An HTTP/1.1 or HTTP/2 response: it emits `close` when its client goes away. */
interface ClosableResponse {
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

export class SpeakingRequests {
  private readonly pool = new EspeakPool({ threads: 2, timeoutMs: 60_000 });
  private readonly inFlight = new Set<Promise<void>>();
  private waiters: Array<() => void> = [];

  /** Keeps a request's handling in view until it settles (for `idle`). */
  track(handled: Promise<void>): void {
    this.inFlight.add(handled);
    void handled.finally(() => this.inFlight.delete(handled));
  }

  /** Resolves once every request received so far has been answered (or its client went away). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Resolves when the next valid request has been read (see `arrived`). */
  nextRequest(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A valid request was read: wakes `nextRequest` (before the server decides how to answer). */
  arrived(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /**
   * The job's MP3 after `latencyMs` more, or undefined when the client went away first (the
   * synthesis is stopped; nothing is to be written). `closed` says whether it is gone already.
   */
  async speak(job: SpeechJob, res: ClosableResponse, latencyMs: number, closed: () => boolean): Promise<Uint8Array | undefined> {
    const gone = new AbortController();
    const onClose = () => gone.abort(new Error('the client went away'));
    res.once('close', onClose);
    try {
      if (closed()) return undefined;
      const { mp3 } = await this.pool.speak(job, gone.signal);
      if (gone.signal.aborted || !(await waitUnlessClosed(latencyMs, res))) return undefined;
      return mp3;
    } catch (err) {
      if (gone.signal.aborted) return undefined;
      throw err;
    } finally {
      res.off('close', onClose);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
