/**
 * The sessions table's key schema (spec: story-api.md, Tracking) in one place: the local
 * bootstrap creates it with the SDK and the CDKTF stack declares it for AWS.
 */
export const SESSIONS_SCHEMA = {
  hashKey: 'user_id',
  rangeKey: 'session_id',
  attributes: [
    { name: 'user_id', type: 'S' },
    { name: 'session_id', type: 'S' },
    { name: 'timestamp', type: 'N' },
    { name: 'route', type: 'S' },
  ],
  indexes: [
    { name: 'TimestampIndex', hashKey: 'user_id', rangeKey: 'timestamp' },
    { name: 'RouteTimestampIndex', hashKey: 'route', rangeKey: 'timestamp' },
  ],
  ttlAttribute: 'expires_at',
} as const;
