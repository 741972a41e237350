/** The offline speech synthesizer's voices and limits (no engine here: knowing them loads nothing). */
import { availableParallelism } from 'node:os';

/**
 * Worker threads for `concurrency` syntheses at once: never every core of the machine, so the
 * thread that serves requests (and its garbage collector) always has one — busy workers on
 * every core stretched its pauses past 300 ms on a 2-core machine.
 */
export function speechThreads(concurrency: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(concurrency, cores - 1));
}

/** An offline voice: an eSpeak language and variant at a pitch, chosen to sound distinct from the others. */
export interface OfflineVoice {
  espeak: string;
  pitch: number;
}

/** In default casting order: the narrator first, then voices far apart in pitch and accent. */
export const OFFLINE_VOICES: Readonly<Record<string, OfflineVoice>> = {
  'en-us-michael': { espeak: 'en-us+Michael', pitch: 35 },
  'en-us-steph': { espeak: 'en-us+steph', pitch: 60 },
  'en-029-andy': { espeak: 'en-029+Andy', pitch: 20 },
  'en-gb-linda': { espeak: 'en-gb+linda', pitch: 90 },
  'en-gb-annie': { espeak: 'en-gb+Annie', pitch: 75 },
  'en-us-max': { espeak: 'en-us+max', pitch: 60 },
  'en-gb-robert': { espeak: 'en-gb+robert', pitch: 30 },
  'en-gb-scotland-john': { espeak: 'en-gb-scotland+john', pitch: 50 },
};
export const OFFLINE_VOICE_IDS = Object.keys(OFFLINE_VOICES);

/**
 * eSpeak's speed setting (its nominal words per minute). It speaks story text faster than the
 * number says — about 160 real words a minute at 130 — close to the 150 audio stories are sized for.
 */
export const OFFLINE_WORDS_PER_MINUTE = 130;
export const OFFLINE_MAX_CHARS = 2000;
export const OFFLINE_SPEECH_MODEL = 'espeak-ng';

