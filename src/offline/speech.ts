/**
 * The offline speech synthesizer: eSpeak NG (the `espeak-ng` WASM build from npm) speaking in
 * a pool of worker threads (Piscina), encoded to MP3 by LAME. Real, intelligible speech with
 * no network and no key — robotic next to Polly or ElevenLabs, and named for what it is.
 * The local ElevenLabs and Polly servers speak through the same pool.
 */
import path from 'node:path';
import { Piscina } from 'piscina';
import type { SpeechAudio, SpeechModel, SpeechRequest } from '../core/ports';
import type { SpeechJob, SpeechResult } from './speech-worker.mjs';
import { OFFLINE_MAX_CHARS, OFFLINE_SPEECH_MODEL, OFFLINE_VOICE_IDS, OFFLINE_VOICES, OFFLINE_WORDS_PER_MINUTE } from './speech-voices';

export { OFFLINE_VOICES, OFFLINE_VOICE_IDS, OFFLINE_WORDS_PER_MINUTE } from './speech-voices';

export interface EspeakOptions {
  /** Worker threads (syntheses at once). */
  threads: number;
  /** Longest one synthesis may take before its worker is stopped. */
  timeoutMs: number;
}

/** The worker pool; `speak` takes eSpeak's own settings (the local TTS servers map their voices onto them). */
export class EspeakPool {
  private readonly pool: Piscina<SpeechJob, SpeechResult>;

  constructor(private readonly options: EspeakOptions) {
    this.pool = new Piscina({
      filename: path.join(__dirname, 'speech-worker.mts'),
      maxThreads: options.threads,
      minThreads: 0,
      // Plain Node in the workers (its own type stripping), whatever loader runs this process (tsx, jest).
      execArgv: [],
      // Idle workers go away, so a process that stops narrating does not keep 32 MB heaps per thread.
      idleTimeout: 30_000,
    });
  }

  async speak(job: SpeechJob, signal?: AbortSignal): Promise<SpeechResult> {
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    try {
      return await this.pool.run(job, { signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
    } catch (err) {
      if (deadline.aborted && !signal?.aborted) throw new Error(`the offline speech synthesizer took longer than ${this.options.timeoutMs} ms`);
      throw err;
    }
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

export class OfflineSpeechSynthesizer implements SpeechModel {
  readonly provider = 'offline-speech-synthesizer';
  readonly maxChars = OFFLINE_MAX_CHARS;

  constructor(
    private readonly pool: EspeakPool,
    readonly voices: readonly string[] = OFFLINE_VOICE_IDS,
  ) {
    const unknown = voices.filter((v) => !(v in OFFLINE_VOICES));
    if (unknown.length > 0) throw new Error(`the offline speech synthesizer has no voice ${unknown.join(', ')} (it has ${OFFLINE_VOICE_IDS.join(', ')})`);
  }

  async synthesize(req: SpeechRequest): Promise<SpeechAudio> {
    const voice = OFFLINE_VOICES[req.voice];
    if (!voice) throw new Error(`unknown offline voice ${req.voice}`);
    const out = await this.pool.speak(
      { text: req.text, ssml: false, espeakVoice: voice.espeak, pitch: voice.pitch, speed: OFFLINE_WORDS_PER_MINUTE, pauseMs: req.pauseAfterMs, sampleRate: 24_000, kbps: 48 },
      req.signal,
    );
    return { mp3: out.mp3, durationSeconds: out.samples / out.sampleRate, model: OFFLINE_SPEECH_MODEL };
  }
}
