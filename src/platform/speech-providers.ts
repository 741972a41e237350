/**
 * The speech providers that run on AWS: Amazon Polly (`polly`), and ElevenLabs through its
 * official SDK (`external`, its API key in Secrets Manager). A module of its own, so only the
 * images that narrate carry them; the voices and text limits are here, apart from the
 * implementations, so that knowing a provider's voices does not load its SDK.
 */
import type { SpeechModel } from '../core/ports';
import { resilienceSettings, speechVoices, type SpeechProviderEntry } from './providers';

/**
 * Polly's neural US English voices, the narrator first, then voices far apart in pitch and
 * manner (Kevin is a child's voice). All are `Engine: 'neural'` voices.
 */
export const POLLY_VOICES: readonly string[] = ['Matthew', 'Joanna', 'Stephen', 'Ruth', 'Kevin', 'Danielle', 'Gregory', 'Salli'];
/**
 * Polly takes 3000 billed characters (the text without SSML tags) and 6000 in all per call;
 * 2500 leaves room for the `<speak>` wrapper, the pause and escaped characters.
 */
export const POLLY_MAX_CHARS = 2500;

/**
 * ElevenLabs premade voices (ids, the same in every account): George (the narrator), Rachel,
 * Adam, Sarah, Josh, Nicole, Antoni, Arnold.
 */
export const ELEVENLABS_VOICES: readonly string[] = [
  'JBFqnCBsd6RMkjVDRZzb',
  '21m00Tcm4TlvDq8ikWAM',
  'pNInz6obpgDQGcFmaJgB',
  'EXAVITQu4vr4xnSDxsKL',
  'TxGEqnHWrfWFTfGW9XjX',
  'AZnzlk1XvdvUeBnXmlld',
  'ErXwobaYiR0Kefw4mtzv',
  'VR6AewLTigWG4xSOukaG',
];
/** ElevenLabs takes up to 10,000 characters per call (Multilingual v2); shorter calls start sooner and fail smaller. */
export const ELEVENLABS_MAX_CHARS = 2500;

export const POLLY_SPEECH: SpeechProviderEntry = {
  provider: 'polly',
  voices: POLLY_VOICES,
  maxChars: POLLY_MAX_CHARS,
  async load(config, telemetry): Promise<SpeechModel> {
    const [{ PollySpeechModel }, { pollyClient }] = await Promise.all([import('../providers/polly-speech.js'), import('../aws/model-clients.js')]);
    return new PollySpeechModel(pollyClient(config), speechVoices(config, POLLY_SPEECH), resilienceSettings(config, telemetry, config.speech.concurrency));
  },
};

export const ELEVENLABS_SPEECH: SpeechProviderEntry = {
  provider: 'elevenlabs',
  voices: ELEVENLABS_VOICES,
  maxChars: ELEVENLABS_MAX_CHARS,
  async load(config, telemetry): Promise<SpeechModel> {
    const [{ ElevenLabsSpeechModel }, { secretKeySource }, { secretsManagerClient }] = await Promise.all([
      import('../providers/elevenlabs-speech.js'),
      import('../providers/secret-key.js'),
      import('../aws/model-clients.js'),
    ]);
    const key = secretKeySource(secretsManagerClient(config), config.speech.tts.apiKeySecret ?? '', 'text-to-speech');
    return new ElevenLabsSpeechModel(
      key,
      { model: config.speech.tts.model, baseUrl: config.endpoints.tts, voices: speechVoices(config, ELEVENLABS_SPEECH) },
      resilienceSettings(config, telemetry, config.speech.concurrency),
    );
  },
};

/** What `STORY42_SPEECH_PROVIDER` names: `polly`, or `external` (ElevenLabs). */
export const AWS_SPEECH = { polly: POLLY_SPEECH, external: ELEVENLABS_SPEECH } as const;
