/**
 * Which text, image and speech engines a process can run, and how each is built from the config.
 *
 * Every entrypoint passes the set it ships: a Lambda bundle names only the AWS providers of
 * its routes, the agent the AWS ones, the local platform and the tests add the offline engines
 * (src/local/providers.ts). The implementations are loaded with `import()` on first use, so a
 * bundle carries each one in its own chunk and a process loads only the configured one.
 */
import type { ChatCall, ChatModel, ChatReply, GeneratedImage, ImageEditRequest, ImageModel, ImageRequest, SpeechAudio, SpeechModel, SpeechRequest, Telemetry, TextCall, TextModel, TextOutput } from '../core/ports';
import type { ResilienceSettings } from '../providers/bedrock-text';
import { Semaphore } from '../providers/resilience';
import { ConfigError, type Config, type IMAGE_PROVIDERS, type SPEECH_PROVIDERS, type TEXT_PROVIDERS } from './config';

export type TextProviderName = (typeof TEXT_PROVIDERS)[number];
export type ImageProviderName = (typeof IMAGE_PROVIDERS)[number];
export type SpeechProviderName = (typeof SPEECH_PROVIDERS)[number];

export interface ProviderEntry<M> {
  /** The name results report in `metadata.provider` (e.g. `bedrock`, `offline-story-writer`). */
  provider: string;
  load(config: Config, telemetry: Telemetry): Promise<M>;
}

/** A speech provider also says, before it is loaded, which voices it has and how much text one call takes. */
export interface SpeechProviderEntry extends ProviderEntry<SpeechModel> {
  voices: readonly string[];
  maxChars: number;
}

export interface ProviderSet {
  text?: Partial<Record<TextProviderName, ProviderEntry<TextModel>>>;
  image?: Partial<Record<ImageProviderName, ProviderEntry<ImageModel>>>;
  speech?: Partial<Record<SpeechProviderName, SpeechProviderEntry>>;
  /** The project chat's model, chosen by `STORY42_TEXT_PROVIDER` (the processes that serve the chat route). */
  chat?: Partial<Record<TextProviderName, ProviderEntry<ChatModel>>>;
}

/** The voices a speech provider casts from: the configured list, else its own. */
export function speechVoices(config: Config, entry: Pick<SpeechProviderEntry, 'voices'>): readonly string[] {
  return config.speech.voices ?? entry.voices;
}

/**
 * Timeouts, retries and concurrency from the config (`limit` calls in flight: the models'
 * concurrency unless given); retries and failures are counted (`model_retries`,
 * `model_throttled`, `model_unavailable`, `model_timeout`, `model_malformed`).
 */
export function resilienceSettings(config: Config, telemetry: Telemetry, limit = config.models.concurrency): ResilienceSettings {
  const m = config.models;
  return {
    policy: { maxAttempts: m.maxAttempts, baseDelayMs: m.backoffMs, maxDelayMs: m.maxBackoffMs, timeoutMs: m.timeoutMs },
    limiter: new Semaphore(limit),
    onRetry: () => telemetry.count('model_retries'),
    onFailure: (failure) => telemetry.count(`model_${failure}`),
  };
}

/** Loads the implementation on first use (a failed load is retried by the next call). */
export class Deferred<M> {
  private loading?: Promise<M>;

  constructor(
    private readonly entry: ProviderEntry<M>,
    private readonly config: Config,
    private readonly telemetry: Telemetry,
  ) {}

  get(): Promise<M> {
    if (!this.loading) {
      this.loading = this.entry.load(this.config, this.telemetry);
      this.loading.catch(() => {
        this.loading = undefined;
      });
    }
    return this.loading;
  }
}

class DeferredTextModel implements TextModel {
  readonly provider: string;
  private readonly model: Deferred<TextModel>;

  constructor(entry: ProviderEntry<TextModel>, config: Config, telemetry: Telemetry) {
    this.provider = entry.provider;
    this.model = new Deferred(entry, config, telemetry);
  }

  ready(): Promise<unknown> {
    return this.model.get();
  }

  async generate(call: TextCall): Promise<TextOutput> {
    return (await this.model.get()).generate(call);
  }
}

class DeferredChatModel implements ChatModel {
  readonly provider: string;
  private readonly model: Deferred<ChatModel>;

  constructor(entry: ProviderEntry<ChatModel>, config: Config, telemetry: Telemetry) {
    this.provider = entry.provider;
    this.model = new Deferred(entry, config, telemetry);
  }

  ready(): Promise<unknown> {
    return this.model.get();
  }

  async chat(call: ChatCall): Promise<ChatReply> {
    return (await this.model.get()).chat(call);
  }
}

class DeferredImageModel implements ImageModel {
  readonly provider: string;
  private readonly model: Deferred<ImageModel>;

  constructor(entry: ProviderEntry<ImageModel>, config: Config, telemetry: Telemetry) {
    this.provider = entry.provider;
    this.model = new Deferred(entry, config, telemetry);
  }

  ready(): Promise<unknown> {
    return this.model.get();
  }

  async generate(req: ImageRequest): Promise<GeneratedImage> {
    return (await this.model.get()).generate(req);
  }

  async edit(req: ImageEditRequest): Promise<GeneratedImage> {
    return (await this.model.get()).edit(req);
  }
}

class DeferredSpeechModel implements SpeechModel {
  readonly provider: string;
  readonly voices: readonly string[];
  readonly maxChars: number;
  private readonly model: Deferred<SpeechModel>;

  constructor(entry: SpeechProviderEntry, config: Config, telemetry: Telemetry) {
    this.provider = entry.provider;
    this.voices = speechVoices(config, entry);
    this.maxChars = entry.maxChars;
    this.model = new Deferred(entry, config, telemetry);
  }

  ready(): Promise<unknown> {
    return this.model.get();
  }

  async synthesize(req: SpeechRequest): Promise<SpeechAudio> {
    return (await this.model.get()).synthesize(req);
  }
}

/** Stands in where a process serves no route of that kind (e.g. images in the text Lambda). */
class AbsentModel implements TextModel, ImageModel, SpeechModel, ChatModel {
  readonly provider = 'none';
  readonly voices: readonly string[] = [];
  readonly maxChars = 0;

  constructor(private readonly kind: string) {}

  ready(): Promise<unknown> {
    return Promise.resolve();
  }

  private refuse(): never {
    throw new ConfigError(`This process serves no ${this.kind} routes: no ${this.kind} provider is loaded`);
  }

  generate(): never {
    return this.refuse();
  }

  edit(): never {
    return this.refuse();
  }

  synthesize(): never {
    return this.refuse();
  }

  chat(): never {
    return this.refuse();
  }
}

function choose<E>(kind: 'text' | 'image' | 'speech' | 'chat', variable: string, wanted: string, entries: Partial<Record<string, E>> | undefined): E | undefined {
  if (!entries) return undefined;
  const entry = entries[wanted];
  if (!entry) {
    const available = Object.keys(entries).join(', ');
    throw new ConfigError(`Invalid configuration:\n  - ${variable}=${wanted}: this build has no ${kind} provider "${wanted}" (available: ${available})`);
  }
  return entry;
}

export interface Models {
  text: TextModel & { ready(): Promise<unknown> };
  image: ImageModel & { ready(): Promise<unknown> };
  speech: SpeechModel & { ready(): Promise<unknown> };
  chat: ChatModel & { ready(): Promise<unknown> };
}

/** The configured models from the set this process ships; unknown choices fail at start-up. */
export function modelsFor(config: Config, set: ProviderSet, telemetry: Telemetry): Models {
  const text = choose('text', 'STORY42_TEXT_PROVIDER', config.textProvider, set.text);
  const image = choose('image', 'STORY42_IMAGE_PROVIDER', config.imageProvider, set.image);
  const speech = choose('speech', 'STORY42_SPEECH_PROVIDER', config.speechProvider, set.speech);
  const chat = choose('chat', 'STORY42_TEXT_PROVIDER', config.textProvider, set.chat);
  return {
    text: text ? new DeferredTextModel(text, config, telemetry) : new AbsentModel('text'),
    image: image ? new DeferredImageModel(image, config, telemetry) : new AbsentModel('image'),
    speech: speech ? new DeferredSpeechModel(speech, config, telemetry) : new AbsentModel('speech'),
    chat: chat ? new DeferredChatModel(chat, config, telemetry) : new AbsentModel('chat'),
  };
}
