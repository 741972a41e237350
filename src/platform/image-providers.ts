/** The image providers that run on AWS (a module of its own, so only the images that draw carry them). */
import type { ImageModel } from '../core/ports';
import { resilienceSettings, type ProviderEntry } from './providers';

export const BEDROCK_IMAGE: ProviderEntry<ImageModel> = {
  provider: 'bedrock',
  async load(config, telemetry) {
    const [{ BedrockImageModel }, { bedrockRuntimeClient }] = await Promise.all([import('../providers/bedrock-image.js'), import('../aws/model-clients.js')]);
    return new BedrockImageModel(bedrockRuntimeClient(config), config.bedrockImageModel, resilienceSettings(config, telemetry));
  },
};

export const GEMINI_IMAGE: ProviderEntry<ImageModel> = {
  provider: 'gemini',
  async load(config, telemetry) {
    const [{ GeminiImageModel }, { secretKeySource }, { secretsManagerClient }] = await Promise.all([
      import('../providers/gemini-image.js'),
      import('../providers/secret-key.js'),
      import('../aws/model-clients.js'),
    ]);
    const key = secretKeySource(secretsManagerClient(config), config.gemini.apiKeySecret ?? '', 'image model');
    return new GeminiImageModel(key, config.gemini.model, config.endpoints.gemini, resilienceSettings(config, telemetry));
  },
};

export const AWS_IMAGE = { bedrock: BEDROCK_IMAGE, gemini: GEMINI_IMAGE } as const;
