/** The text providers that run on AWS (a module of its own, so only the images that write text carry them). */
import type { ChatModel, TextModel } from '../core/ports';
import { resilienceSettings, type ProviderEntry } from './providers';

export const BEDROCK_TEXT: ProviderEntry<TextModel> = {
  provider: 'bedrock',
  async load(config, telemetry) {
    const [{ BedrockTextModel }, { bedrockRuntimeClient }] = await Promise.all([import('../providers/bedrock-text.js'), import('../aws/model-clients.js')]);
    return new BedrockTextModel(bedrockRuntimeClient(config), resilienceSettings(config, telemetry));
  },
};

export const AWS_TEXT = { bedrock: BEDROCK_TEXT } as const;

/** The project chat's model on Bedrock (ConverseStream), chosen by `STORY42_TEXT_PROVIDER` like the text model. */
export const BEDROCK_CHAT: ProviderEntry<ChatModel> = {
  provider: 'bedrock',
  async load(config, telemetry) {
    const [{ BedrockChatModel }, { bedrockRuntimeClient }] = await Promise.all([import('../providers/bedrock-text.js'), import('../aws/model-clients.js')]);
    return new BedrockChatModel(bedrockRuntimeClient(config), resilienceSettings(config, telemetry));
  },
};

export const AWS_CHAT = { bedrock: BEDROCK_CHAT } as const;
