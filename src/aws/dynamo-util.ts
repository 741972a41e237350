/**
 * What both DynamoDB stores (tracking sessions, projects) need alike: every page of a query
 * (the SDK's paginator), batched deletes that send unprocessed keys again, opaque page cursors,
 * and telling a failed condition from a real error.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, paginateQuery, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import { storeCall } from './unavailable';

/** A conditional write whose condition did not hold (the SDK's class, or its name across copies of the SDK). */
export const isConditionFailure = (err: unknown): boolean => err instanceof ConditionalCheckFailedException || (err instanceof Error && err.name === 'ConditionalCheckFailedException');

/** A page cursor: the JSON of where the next page starts, base64url. */
export const encodeCursor = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A cursor's content when it decodes to `schema`'s shape; undefined for anything else. */
export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Every item of a query, page after page. */
export function queryAll(doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Record<string, unknown>[]> {
  return storeCall(async () => {
    const items: Record<string, unknown>[] = [];
    for await (const page of paginateQuery({ client: doc }, input)) items.push(...(page.Items ?? []));
    return items;
  });
}

/** Deletes the items with these keys (25 a call, unprocessed ones again, 5 tries at most); how many. */
export async function deleteKeys(doc: DynamoDBDocumentClient, table: string, keys: Array<Record<string, string | number>>): Promise<number> {
  for (let i = 0; i < keys.length; i += 25) {
    let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt === 5) throw new Error('DynamoDB kept returning unprocessed deletes');
      const out = await storeCall(() => doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } })));
      requests = (out.UnprocessedItems?.[table] ?? []).flatMap((r) => (r.DeleteRequest?.Key ? [{ DeleteRequest: { Key: r.DeleteRequest.Key as Record<string, string | number> } }] : []));
    }
  }
  return keys.length;
}
