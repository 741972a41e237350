/** AWS SDK v3 clients, pointed at local emulators when the config names their endpoints. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../platform/config';

/** Local emulators accept any credentials; real AWS uses the default provider chain. */
function localCredentials(endpoint: string | undefined) {
  if (!endpoint || (process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY)) return undefined;
  return { accessKeyId: 'local', secretAccessKey: 'local' };
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
