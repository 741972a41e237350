/** AWS SDK v3 clients for the stores, pointed at local emulators when the config names their endpoints. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../platform/config';

/** The fixed key pair the local servers accept (s3rver checks it; the others accept any). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Servers on this machine get the local key pair; anything else uses the default chain. */
export function localCredentials(endpoint: string | undefined): typeof LOCAL_CREDENTIALS | undefined {
  if (!endpoint) return undefined;
  const host = new URL(endpoint).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' ? LOCAL_CREDENTIALS : undefined;
}

/** Client settings for one service: the region, and a local endpoint with its credentials when configured. */
export function clientSettings(config: Config, endpoint: string | undefined): { region: string; endpoint?: string; credentials?: typeof LOCAL_CREDENTIALS } {
  return { region: config.region, ...(endpoint ? { endpoint, credentials: localCredentials(endpoint) } : {}) };
}

/**
 * A store client's deadlines: each attempt must connect and answer within the storage timeout,
 * and the SDK makes at most `maxAttempts` (so a stopped or stalled service is an error in
 * bounded time, never a hang).
 */
export function storeSettings(config: Config, endpoint: string | undefined) {
  const { timeoutMs, maxAttempts } = config.storage;
  return { ...clientSettings(config, endpoint), maxAttempts, requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true } };
}

export function s3Client(config: Config): S3Client {
  const endpoint = config.endpoints.s3;
  return new S3Client({ ...storeSettings(config, endpoint), ...(endpoint ? { forcePathStyle: true } : {}) });
}

export function dynamoDocumentClient(config: Config): DynamoDBDocumentClient {
  const client = new DynamoDBClient(storeSettings(config, config.endpoints.dynamodb));
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
}
