/**
 * The providers of the local platform and the tests: the AWS ones (pointed at local protocol
 * servers when configured) plus the offline engines, which never ship in a deployed bundle.
 */
import type { ChatModel, ImageModel, TextModel, WebSearch } from '../core/ports';
import type { Config } from '../platform/config';
import { createPlatform, type Platform, type PlatformParts } from '../platform/platform';
import { AWS_IMAGE } from '../platform/image-providers';
import { speechVoices, type ProviderEntry, type ProviderSet, type SpeechProviderEntry } from '../platform/providers';
import { AWS_SEARCH } from '../platform/search-providers';
import { AWS_SPEECH } from '../platform/speech-providers';
import { OFFLINE_MAX_CHARS, OFFLINE_VOICE_IDS, speechThreads } from '../offline/speech-voices';
import { AWS_CHAT, AWS_TEXT } from '../platform/text-providers';

export const OFFLINE_TEXT: ProviderEntry<TextModel> = {
  provider: 'offline-story-writer',
  async load() {
    const { OfflineStoryWriter } = await import('../offline/writer.js');
    return new OfflineStoryWriter();
  },
};

export const OFFLINE_IMAGE: ProviderEntry<ImageModel> = {
  provider: 'offline-illustrator',
  async load(config) {
    const { OfflineIllustrator } = await import('../offline/illustrator.js');
    return new OfflineIllustrator({ latencyMs: config.offlineImageLatencyMs });
  },
};

export const OFFLINE_SPEECH: SpeechProviderEntry = {
  provider: 'offline-speech-synthesizer',
  voices: OFFLINE_VOICE_IDS,
  maxChars: OFFLINE_MAX_CHARS,
  async load(config) {
    const { EspeakPool, OfflineSpeechSynthesizer } = await import('../offline/speech.js');
    return new OfflineSpeechSynthesizer(new EspeakPool({ threads: speechThreads(config.speech.concurrency), timeoutMs: config.models.timeoutMs }), speechVoices(config, OFFLINE_SPEECH));
  },
};

export const OFFLINE_SEARCH: ProviderEntry<WebSearch> = {
  provider: 'offline-search-index',
  async load() {
    const { OfflineSearchIndex } = await import('../offline/search-index.js');
    return new OfflineSearchIndex();
  },
};

/** The project chat's offline engine: follows the active cards, answers with the offline writer's sentences. */
export const OFFLINE_CHAT: ProviderEntry<ChatModel> = {
  provider: 'offline-chat-responder',
  async load() {
    const { OfflineChatResponder } = await import('../offline/chat-responder.js');
    return new OfflineChatResponder();
  },
};

/** The web search engines of the local platform: the offline search index and DuckDuckGo. */
export const LOCAL_SEARCH = { offline: OFFLINE_SEARCH, ...AWS_SEARCH };

export const LOCAL_PROVIDERS: ProviderSet = {
  text: { offline: OFFLINE_TEXT, ...AWS_TEXT },
  image: { offline: OFFLINE_IMAGE, ...AWS_IMAGE },
  speech: { offline: OFFLINE_SPEECH, ...AWS_SPEECH },
  chat: { offline: OFFLINE_CHAT, ...AWS_CHAT },
};

export function createLocalPlatform(config: Config, parts: PlatformParts = {}): Platform {
  return createPlatform(config, LOCAL_PROVIDERS, { service: 'story42-local', ...parts });
}
