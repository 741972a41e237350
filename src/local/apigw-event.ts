/** The REST API (v1) Lambda proxy event API Gateway builds for one request, with the Cognito authorizer's claims. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Route } from '../core/routes';

export interface EventInput {
  route: Route;
  path: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  params: Record<string, string>;
  body: Buffer;
  /** The authorizer's claims (every value a string), or undefined on a route without authorizer. */
  claims?: Record<string, string>;
  requestId: string;
  sourceIp: string;
}

const nonEmpty = <T extends object>(o: T): T | null => (Object.keys(o).length > 0 ? o : null);

export function restEvent(i: EventInput): APIGatewayProxyEvent {
  const { route } = i;
  return {
    resource: route.path,
    path: i.path,
    httpMethod: route.method,
    headers: i.headers,
    multiValueHeaders: {},
    queryStringParameters: nonEmpty(i.query),
    multiValueQueryStringParameters: null,
    pathParameters: nonEmpty(i.params),
    stageVariables: null,
    body: i.body.length > 0 ? i.body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: i.claims ? { claims: i.claims } : null,
      protocol: 'HTTP/1.1',
      httpMethod: route.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: i.sourceIp,
        user: null,
        userAgent: i.headers['user-agent'] ?? null,
        userArn: null,
      },
      path: `/local${i.path}`,
      stage: 'local',
      requestId: i.requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: route.path,
    },
  };
}
