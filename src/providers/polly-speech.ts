/**
 * Amazon Polly (neural engine) through `@aws-sdk/client-polly`'s `SynthesizeSpeech`: one
 * voice, one piece of text, one MP3 at 24 kHz. The text goes as SSML — escaped, with the
 * pause between speakers as a `<break>` — and every call runs through `resilient` (the
 * client makes one attempt; throttling and 5xx are retried here).
 */
import { SynthesizeSpeechCommand, type PollyClient, type VoiceId } from '@aws-sdk/client-polly';
import type { SpeechAudio, SpeechModel, SpeechRequest } from '../core/ports';
import { POLLY_MAX_CHARS } from '../platform/speech-providers';
import type { ResilienceSettings } from './bedrock-text';
import { MalformedOutputError, resilient } from './resilience';
import { asAttempt, readAudio, requireMp3 } from './speech-audio';

export const POLLY_SPEECH_MODEL = 'polly/neural';
/** Polly's longest `<break>`. */
const MAX_BREAK_MS = 10_000;

/** Text as SSML character data: `&`, `<` and `>` escaped (quotes need no escaping outside attributes). */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The SSML Polly speaks: the escaped text, then the pause (none when 0). */
export function pollySsml(text: string, pauseAfterMs: number): string {
  const pause = Math.min(MAX_BREAK_MS, Math.max(0, Math.round(pauseAfterMs)));
  return `<speak>${escapeXml(text)}${pause > 0 ? `<break time="${pause}ms"/>` : ''}</speak>`;
}

export class PollySpeechModel implements SpeechModel {
  readonly provider = 'polly';
  readonly maxChars = POLLY_MAX_CHARS;

  constructor(
    private readonly client: PollyClient,
    readonly voices: readonly string[],
    private readonly resilience: ResilienceSettings,
  ) {}

  synthesize(req: SpeechRequest): Promise<SpeechAudio> {
    const command = new SynthesizeSpeechCommand({
      Engine: 'neural',
      OutputFormat: 'mp3',
      SampleRate: '24000',
      TextType: 'ssml',
      Text: pollySsml(req.text, req.pauseAfterMs),
      // Voice ids are configuration (STORY42_SPEECH_VOICES); Polly itself rejects one it does not have.
      VoiceId: req.voice as VoiceId,
    });
    return resilient(
      'Polly speech',
      (attemptSignal) =>
        asAttempt('Polly', attemptSignal, async () => {
          const out = await this.client.send(command, { abortSignal: attemptSignal });
          if (!out.AudioStream) throw new MalformedOutputError('Polly answered without an audio stream');
          const mp3 = await readAudio(out.AudioStream.transformToWebStream(), 'Polly');
          const info = requireMp3(mp3, 'Polly');
          return { mp3, durationSeconds: info.durationSeconds, model: POLLY_SPEECH_MODEL };
        }),
      { ...this.resilience, signal: req.signal },
    );
  }
}
