/**
 * The providers of the local platform and the tests: the AWS ones (pointed at local protocol
 * servers when configured) plus the offline engines, which never ship in a deployed bundle.
 */
import type { ImageModel, TextModel } from '../core/ports';
import type { Config } from '../platform/config';
import { createPlatform, type Platform, type PlatformParts } from '../platform/platform';
import { AWS_IMAGE } from '../platform/image-providers';
import type { ProviderEntry, ProviderSet } from '../platform/providers';
import { AWS_TEXT } from '../platform/text-providers';

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

export const LOCAL_PROVIDERS: ProviderSet = {
  text: { offline: OFFLINE_TEXT, ...AWS_TEXT },
  image: { offline: OFFLINE_IMAGE, ...AWS_IMAGE },
};

export function createLocalPlatform(config: Config, parts: PlatformParts = {}): Platform {
  return createPlatform(config, LOCAL_PROVIDERS, { service: 'story42-local', ...parts });
}
