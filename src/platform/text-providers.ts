/** The text providers that run on AWS (a module of its own, so only the images that write text carry them). */
import type { TextModel } from '../core/ports';
import { resilienceSettings, type ProviderEntry } from './providers';

export const BEDROCK_TEXT: ProviderEntry<TextModel> = {
  provider: 'bedrock',
  async load(config, telemetry) {
    const [{ BedrockTextModel }, { bedrockRuntimeClient }] = await Promise.all([import('../providers/bedrock-text.js'), import('../aws/model-clients.js')]);
    return new BedrockTextModel(bedrockRuntimeClient(config), resilienceSettings(config, telemetry));
  },
};

export const AWS_TEXT = { bedrock: BEDROCK_TEXT } as const;
