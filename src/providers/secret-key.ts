/**
 * An API key kept in AWS Secrets Manager, for providers that are not on AWS (Gemini,
 * ElevenLabs). It is fetched on first use and cached for the life of the process; a failed
 * fetch is retried by the next call. The key is never logged, and no error here carries it.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The key of secret `secretId`, fetched once per process (a failed fetch is retried on the
 * next call). `what` names the key in errors, e.g. `image model` or `text-to-speech`.
 */
export function secretKeySource(client: SecretsManagerClient, secretId: string, what: string): () => Promise<string> {
  let key: Promise<string> | undefined;
  return () => {
    key ??= client.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
      const value = out.SecretString?.trim();
      if (!value) throw new Error(`secret ${secretId} has no value; put the ${what} API key in it`);
      return value;
    });
    key.catch(() => {
      key = undefined;
    });
    return key;
  };
}
