/** AWS SDK v3 clients, pointed at local emulators when the config names their endpoints. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../platform/config';

/** The fixed key pair the local servers accept (s3rver checks it; the others accept any). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Servers on this machine get the local key pair; anything else uses the default chain. */
function localCredentials(endpoint: string | undefined) {
  if (!endpoint) return undefined;
  const host = new URL(endpoint).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' ? LOCAL_CREDENTIALS : undefined;
}

export function s3Client(config: Config): S3Client {
  const endpoint = config.endpoints.s3;
  return new S3Client({
    region: config.region,
    ...(endpoint ? { endpoint, forcePathStyle: true, credentials: localCredentials(endpoint) } : {}),
  });
}

export function dynamoDocumentClient(config: Config): DynamoDBDocumentClient {
  const endpoint = config.endpoints.dynamodb;
  const client = new DynamoDBClient({
    region: config.region,
    ...(endpoint ? { endpoint, credentials: localCredentials(endpoint) } : {}),
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
}

/** Bedrock runtime; one attempt per call, because our resilience layer does the retrying. */
export function bedrockRuntimeClient(config: Config): BedrockRuntimeClient {
  const endpoint = config.endpoints.bedrock;
  return new BedrockRuntimeClient({
    region: config.region,
    maxAttempts: 1,
    ...(endpoint ? { endpoint, credentials: localCredentials(endpoint) } : {}),
  });
}

export function secretsManagerClient(config: Config): SecretsManagerClient {
  const endpoint = config.endpoints.secretsManager;
  return new SecretsManagerClient({ region: config.region, ...(endpoint ? { endpoint, credentials: localCredentials(endpoint) } : {}) });
}
