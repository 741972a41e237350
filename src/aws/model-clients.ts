/**
 * AWS SDK v3 clients the model providers use (kept apart from the stores' clients so a
 * bundle loads them only with a provider that needs them).
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { PollyClient } from '@aws-sdk/client-polly';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../platform/config';
import { clientSettings, storeSettings } from './clients';

/** Bedrock runtime; one attempt per call, because our resilience layer does the retrying. */
export function bedrockRuntimeClient(config: Config): BedrockRuntimeClient {
  return new BedrockRuntimeClient({ ...clientSettings(config, config.endpoints.bedrock), maxAttempts: 1 });
}

/** Amazon Polly; one attempt per call, like Bedrock (the speech provider's `resilient` retries). */
export function pollyClient(config: Config): PollyClient {
  return new PollyClient({ ...clientSettings(config, config.endpoints.polly), maxAttempts: 1 });
}

export function secretsManagerClient(config: Config): SecretsManagerClient {
  return new SecretsManagerClient(storeSettings(config, config.endpoints.secretsManager));
}
