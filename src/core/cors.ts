/** CORS answers of every door and of API Gateway's own responses (browsers call the API from the site). */
export const CORS_ALLOW_ORIGIN = '*';
export const CORS_ALLOW_HEADERS = 'Content-Type,Authorization';

/** The methods one resource path allows, as an Access-Control-Allow-Methods value. */
export function corsMethods(methods: readonly string[]): string {
  return [...new Set([...methods, 'OPTIONS'])].join(',');
}
