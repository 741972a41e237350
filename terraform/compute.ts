/**
 * Phase 2 — compute, once the images are in ECR (`images_ready`): the three Lambda
 * functions, the REST API with a Cognito authorizer on every route, and the story agent on
 * ECS Fargate behind an ALB.
 */
import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { ApiGatewayAccount } from '@cdktf/provider-aws/lib/api-gateway-account';
import { ApiGatewayAuthorizer } from '@cdktf/provider-aws/lib/api-gateway-authorizer';
import { ApiGatewayDeployment } from '@cdktf/provider-aws/lib/api-gateway-deployment';
import { ApiGatewayGatewayResponse } from '@cdktf/provider-aws/lib/api-gateway-gateway-response';
import { ApiGatewayIntegration } from '@cdktf/provider-aws/lib/api-gateway-integration';
import { ApiGatewayIntegrationResponse } from '@cdktf/provider-aws/lib/api-gateway-integration-response';
import { ApiGatewayMethod } from '@cdktf/provider-aws/lib/api-gateway-method';
import { ApiGatewayMethodResponse } from '@cdktf/provider-aws/lib/api-gateway-method-response';
import { ApiGatewayMethodSettings } from '@cdktf/provider-aws/lib/api-gateway-method-settings';
import { ApiGatewayResource } from '@cdktf/provider-aws/lib/api-gateway-resource';
import { ApiGatewayRestApi } from '@cdktf/provider-aws/lib/api-gateway-rest-api';
import { ApiGatewayStage } from '@cdktf/provider-aws/lib/api-gateway-stage';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { EcsCluster } from '@cdktf/provider-aws/lib/ecs-cluster';
import { EcsService } from '@cdktf/provider-aws/lib/ecs-service';
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { DataAwsEc2ManagedPrefixList } from '@cdktf/provider-aws/lib/data-aws-ec2-managed-prefix-list';
import { Wafv2WebAcl, type Wafv2WebAclRule } from '@cdktf/provider-aws/lib/wafv2-web-acl';
import { Wafv2WebAclAssociation } from '@cdktf/provider-aws/lib/wafv2-web-acl-association';
import type { ITerraformDependable } from 'cdktf';
import { agentModelId, allowedModelIds, defaultImageModel, imageModelId, type EnvironmentConfig } from './environment';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_ORIGIN, corsMethods } from '../src/core/cors';
import { LAMBDA_NAMES, ROUTES, routeNamed, type LambdaName, type Route } from '../src/core/routes';
import { deletionProtection, type Foundation, type Names } from './foundation';
import { dataAccess, PROJECT_WORKLOADS, type AccessTargets } from './access';
import { assumeRolePolicy, policyJson, type Statement } from './iam';

/** Where API Gateway invokes a Lambda with InvokeWithResponseStream (STREAM transfer mode). */
export function streamingInvokeUri(region: string, functionArn: string): string {
  return `arn:aws:apigateway:${region}:lambda:path/2021-11-15/functions/${functionArn}/response-streaming-invocations`;
}

/**
 * The longest integration timeout the AWS provider accepts in the versions the bindings were
 * generated from (6.25.0, @cdktf/provider-aws 21.22): it checks timeout_milliseconds against
 * 50-300000 even with response streaming, where API Gateway allows 900000
 * (hashicorp/terraform-provider-aws#45472). The stack now pins 6.27.0 (stack.ts
 * AWS_PROVIDER_VERSION, for its published lock-file hashes); whether that release has the fix is
 * not verified here, so the cap stays: above it `terraform validate` and `plan` would fail.
 */
export const PROVIDER_MAX_INTEGRATION_TIMEOUT_MS = 300_000;

/**
 * The Bedrock image model the application uses: its default (STORY42_BEDROCK_IMAGE_MODEL is not
 * set), read from the application's own configuration so the grant follows it.
 */
export function bedrockImageModel(): string {
  return defaultImageModel();
}

/**
 * How long the ALB waits for a deregistering agent task's in-flight requests (deploys, scale-in)
 * before cutting them. Kept short so a rolling deploy settles well within `aws ecs wait
 * services-stable` (10 minutes, scripts/rebuild_and_deploy.sh); an agent stream still open then
 * is cut (its session stays in S3). Below the idle timeout's minimum (60 s), so a drained
 * connection never outlives what the ALB would allow an idle one.
 */
export const AGENT_DEREGISTRATION_DELAY_SECONDS = 30;
/** The target group's health check (GET /health): a check every 15 s, each answered within 5 s. */
export const AGENT_HEALTH_CHECK = { interval: 15, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 } as const;

/** `API-Gateway-Execution-Logs_<rest api id>/<stage>`: where API Gateway writes a stage's execution logs. */
export const apiExecutionLogGroupName = (restApiId: string, stage: string) => `API-Gateway-Execution-Logs_${restApiId}/${stage}`;

/** The alarm topic's key: the account administers it; CloudWatch (from this account) may use it to publish alarms. */
export function alarmKeyPolicy(accountId: string): Statement[] {
  return [
    { Sid: 'AccountAdmin', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: 'kms:*', Resource: '*' },
    {
      Sid: 'CloudWatchAlarms',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
    },
  ];
}

/** The alarm topic's policy: only this stack's CloudWatch alarms (by name prefix) may publish to it. */
export function alarmTopicPolicy(topicArn: string, region: string, accountId: string, prefix: string): Statement[] {
  return [
    {
      Sid: 'CloudWatchAlarms',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: topicArn,
      Condition: { StringEquals: { 'aws:SourceAccount': accountId }, ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${region}:${accountId}:alarm:${prefix}-*` } },
    },
  ];
}

/** CloudFront's origin-facing addresses (an AWS-managed prefix list): the only sources the ALB accepts when CloudFront routes /agent/*. */
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = 'com.amazonaws.global.cloudfront.origin-facing';

/** The agent's HTTPS certificate and host name, if it has them (domain.* or alb.*). */
export function agentTls(cfg: EnvironmentConfig): { certificateArn: string; host: string } | undefined {
  const certificateArn = cfg.domain?.certificate_arn ?? cfg.alb?.certificate_arn;
  const host = cfg.domain?.agent_host ?? cfg.alb?.host;
  return certificateArn && host ? { certificateArn, host } : undefined;
}

/**
 * The per-user limits (env `waf.*`), as WAF rate-based rules over 5 minutes, blocked with 429:
 *  1. per bearer token (a custom key on the Authorization header): one signed-in user's session.
 *     The API and the agent authenticate every call with the user's Cognito token, so this is the
 *     limit that follows the user, whatever address they call from. Requests without the header
 *     are not counted by it (WAF skips a request that lacks a custom key).
 *  2. per client IP, a fallback for those and for clients that rotate tokens. Behind CloudFront
 *     (the agent's ALB with /agent/* routed through the site) the peer is a CloudFront edge, so
 *     there it counts the X-Forwarded-For client address instead (best effort: a client can
 *     prepend a forged address, which rule 1 still limits).
 */
// `statement` is untyped in the provider bindings (a recursive block), so it is written in Terraform's own snake_case.
export function rateRules(cfg: EnvironmentConfig, ipKey: 'IP' | 'FORWARDED_IP', metricPrefix: string): Wafv2WebAclRule[] {
  const visibility = (name: string) => ({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: `${metricPrefix}-${name}` });
  const block = { block: { customResponse: { responseCode: 429 } } };
  return [
    {
      name: 'per-user-token',
      priority: 1,
      action: block,
      statement: {
        rate_based_statement: {
          limit: cfg.waf.requests_per_user_5min,
          aggregate_key_type: 'CUSTOM_KEYS',
          custom_key: [{ header: { name: 'authorization', text_transformation: [{ priority: 0, type: 'NONE' }] } }],
        },
      },
      visibilityConfig: visibility('per-user-token'),
    },
    {
      name: 'per-client-ip',
      priority: 2,
      action: block,
      statement: {
        rate_based_statement: {
          limit: cfg.waf.requests_per_ip_5min,
          aggregate_key_type: ipKey,
          ...(ipKey === 'FORWARDED_IP' ? { forwarded_ip_config: { header_name: 'X-Forwarded-For', fallback_behavior: 'MATCH' } } : {}),
        },
      },
      visibilityConfig: visibility('per-client-ip'),
    },
  ];
}

/** The resource path API Gateway builds, without the leading slash (`jobs/{job_id}`). */
const resourcePath = (route: Route) => route.path.replace(/^\//, '');
const idOf = (path: string) => path.replace(/[{}.]/g, '').replace(/\//g, '-');

export class Compute extends Construct {
  readonly functions: Record<LambdaName, LambdaFunction>;
  readonly api: ApiGatewayRestApi;
  readonly stage: ApiGatewayStage;
  readonly cluster: EcsCluster;
  readonly service: EcsService;
  readonly alb: Lb;
  readonly agentLogGroup: CloudwatchLogGroup;
  readonly httpsEnabled: boolean;
  /** The ALB's own URL: https://<agent host> with a certificate, http://<ALB DNS name> otherwise. */
  readonly agentEndpoint: string;
  /** The agent's HTTPS origin for browsers when it has its own host and certificate; undefined when CloudFront routes /agent/* to the ALB. */
  readonly agentDirectUrl?: string;
  /** The API's origin (https://<id>.execute-api.<region>.amazonaws.com). */
  readonly apiOrigin: string;
  readonly webAcls: Wafv2WebAcl[];

  constructor(scope: Construct, id: string, cfg: EnvironmentConfig, names: Names, f: Foundation, accountId: string, routes: readonly Route[] = ROUTES) {
    super(scope, id);
    const region = cfg.region;
    const access: AccessTargets = {
      region,
      accountId,
      tableArn: f.table.arn,
      searchCacheTableArn: f.searchCacheTable.arn,
      imagesBucketArn: f.imagesBucket.arn,
      promptsBucketArn: f.promptsBucket.arn,
      projectTableArns: { projects: f.projectTables.projects.arn, promptCards: f.projectTables.promptCards.arn, chatHistory: f.projectTables.chatHistory.arn },
      imageKeySecretArn: f.imageKeySecret.arn,
      ttsKeySecretArn: f.ttsKeySecret.arn,
      speechProvider: cfg.speech.provider,
      textModels: allowedModelIds(cfg),
      agentModel: agentModelId(cfg),
      imageModel: imageModelId(cfg),
    };

    // The application's configuration (src/platform/config.ts). AWS_REGION is Lambda's own
    // (reserved); only the ECS task sets it. Secrets go by name only: the code reads the value
    // at run time, so no secret value is ever in the Terraform JSON or state.
    const appEnv: Record<string, string> = {
      STORY42_IMAGES_BUCKET: f.imagesBucket.bucket,
      STORY42_SESSIONS_TABLE: f.table.name,
      STORY42_TEXT_PROVIDER: cfg.providers.text,
      STORY42_IMAGE_PROVIDER: cfg.providers.image,
      STORY42_IMAGE_API_KEY_SECRET: f.imageKeySecret.name,
      STORY42_TTS_API_KEY_SECRET: f.ttsKeySecret.name,
      STORY42_IMAGE_CONCURRENCY: String(cfg.image_concurrency),
      ...(cfg.bedrock_image_model ? { STORY42_BEDROCK_IMAGE_MODEL: imageModelId(cfg) } : {}),
      STORY42_SPEECH_PROVIDER: cfg.speech.provider,
      ...(cfg.speech.voices ? { STORY42_SPEECH_VOICES: cfg.speech.voices.join(',') } : {}),
      ...(cfg.speech.concurrency !== undefined ? { STORY42_SPEECH_CONCURRENCY: String(cfg.speech.concurrency) } : {}),
      STORY42_COGNITO_USER_POOL_ID: f.userPool.id,
      STORY42_COGNITO_CLIENT_ID: f.userPoolClient.id,
      STORY42_ENVIRONMENT: cfg.environment,
      ...(cfg.allowed_models ? { STORY42_ALLOWED_MODELS: cfg.allowed_models.join(',') } : {}),
      // Prompts as data: every process reads its system prompts from the bucket, cached this long.
      STORY42_PROMPTS_BUCKET: f.promptsBucket.bucket,
      STORY42_PROMPT_CACHE_TTL_MS: String(cfg.prompts.cache_ttl_ms),
    };
    // Projects, prompt cards and chat: only the workloads with the tables' grants (PROJECT_WORKLOADS).
    const projectEnv: Record<string, string> = {
      STORY42_PROJECTS_TABLE: f.projectTables.projects.name,
      STORY42_PROMPT_CARDS_TABLE: f.projectTables.promptCards.name,
      STORY42_CHAT_HISTORY_TABLE: f.projectTables.chatHistory.name,
      STORY42_CHAT_HISTORY_TTL_DAYS: String(cfg.chat.history_ttl_days),
    };

    // ---- Lambda functions -------------------------------------------------------------
    const fnNames: Record<LambdaName, string> = {
      'text-regen': names.of('story-text-regen'),
      'image-regen': names.of('story-image-regen'),
      'data-ops': names.of('data-ops'),
    };
    const fns = {} as Record<LambdaName, LambdaFunction>;
    const timeoutSeconds = (key: LambdaName) => (key === 'image-regen' ? cfg.lambda.image_timeout_seconds : cfg.lambda.timeout_seconds);
    for (const key of LAMBDA_NAMES) {
      const fnName = fnNames[key];
      const logs = new CloudwatchLogGroup(this, `${key}-logs`, { name: `/aws/lambda/${fnName}`, retentionInDays: cfg.log_retention_days });
      const role = new IamRole(this, `${key}-role`, { name: `${fnName}-role`, assumeRolePolicy: assumeRolePolicy('lambda.amazonaws.com') });
      const policy = new IamRolePolicy(this, `${key}-policy`, {
        role: role.id,
        name: `${fnName}-access`,
        policy: policyJson([
          { Sid: 'Logs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${logs.arn}:*` },
          ...dataAccess(key, access),
        ]),
      });
      const image = key === 'image-regen';
      fns[key] = new LambdaFunction(this, `${key}-fn`, {
        functionName: fnName,
        packageType: 'Image',
        imageUri: `${f.repositories[key].repositoryUrl}:${cfg.image_tag}`,
        role: role.arn,
        memorySize: image ? cfg.lambda.image_memory_mb : cfg.lambda.memory_mb,
        timeout: timeoutSeconds(key),
        architectures: ['x86_64'],
        environment: { variables: { ...appEnv, ...(PROJECT_WORKLOADS.includes(key) ? projectEnv : {}) } },
        // The log group first (or Lambda creates one without retention), and the policy before the first invocation.
        dependsOn: [logs, policy],
      });
    }
    this.functions = fns;

    // ---- REST API with a Cognito authorizer on every route --------------------------------
    this.api = new ApiGatewayRestApi(this, 'api', { name: names.of('api'), endpointConfiguration: { types: ['REGIONAL'] } });
    const authorizer = new ApiGatewayAuthorizer(this, 'cognito', {
      name: names.of('cognito'),
      restApiId: this.api.id,
      type: 'COGNITO_USER_POOLS',
      providerArns: [f.userPool.arn],
      identitySource: 'method.request.header.Authorization',
    });
    const resources = new Map<string, ApiGatewayResource>();
    const resourceFor = (path: string): ApiGatewayResource => {
      const existing = resources.get(path);
      if (existing) return existing;
      const parts = path.split('/');
      const parentPath = parts.slice(0, -1).join('/');
      const parentId = parentPath ? resourceFor(parentPath).id : this.api.rootResourceId;
      const res = new ApiGatewayResource(this, `res-${idOf(path)}`, { restApiId: this.api.id, parentId, pathPart: parts.at(-1) as string });
      resources.set(path, res);
      return res;
    };
    // Every route of the table, to its Lambda through response streaming (SSE on the streaming
    // routes, plain JSON on the others; no 29-second limit). Each waits as long as its Lambda may run,
    // up to what the pinned provider accepts (PROVIDER_MAX_INTEGRATION_TIMEOUT_MS).
    const integrationTimeoutMs = (key: LambdaName) => Math.min(cfg.api.integration_timeout_ms, timeoutSeconds(key) * 1000, PROVIDER_MAX_INTEGRATION_TIMEOUT_MS);
    const deps: ITerraformDependable[] = [];
    // The agent's own routes (no Lambda) are served by the ALB, not API Gateway.
    for (const route of routes) {
      if (!route.lambda) continue;
      const lambda = route.lambda;
      const path = resourcePath(route);
      const res = resourceFor(path);
      const id = `${route.method.toLowerCase()}-${idOf(path)}`;
      const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => `method.request.path.${m[1]}`);
      const method = new ApiGatewayMethod(this, `method-${id}`, {
        restApiId: this.api.id,
        resourceId: res.id,
        httpMethod: route.method,
        ...(route.access === 'public' ? { authorization: 'NONE' } : { authorization: 'COGNITO_USER_POOLS', authorizerId: authorizer.id }),
        requestParameters: params.length > 0 ? Object.fromEntries(params.map((p) => [p, true])) : undefined,
      });
      const integration = new ApiGatewayIntegration(this, `integration-${id}`, {
        restApiId: this.api.id,
        resourceId: res.id,
        httpMethod: method.httpMethod,
        type: 'AWS_PROXY',
        integrationHttpMethod: 'POST',
        uri: streamingInvokeUri(region, fns[lambda].arn),
        responseTransferMode: 'STREAM',
        timeoutMilliseconds: integrationTimeoutMs(lambda),
      });
      deps.push(method, integration);
    }
    // CORS preflight on every resource: a MOCK integration, no authorizer (browsers send no token).
    const corsFor = (path: string) => ({
      'method.response.header.Access-Control-Allow-Origin': `'${CORS_ALLOW_ORIGIN}'`,
      'method.response.header.Access-Control-Allow-Headers': `'${CORS_ALLOW_HEADERS}'`,
      'method.response.header.Access-Control-Allow-Methods': `'${corsMethods(routes.filter((r) => resourcePath(r) === path).map((r) => r.method))}'`,
    });
    for (const [path, res] of resources) {
      const id = idOf(path);
      const cors = corsFor(path);
      const options = new ApiGatewayMethod(this, `options-${id}`, { restApiId: this.api.id, resourceId: res.id, httpMethod: 'OPTIONS', authorization: 'NONE' });
      const mock = new ApiGatewayIntegration(this, `options-${id}-mock`, {
        restApiId: this.api.id,
        resourceId: res.id,
        httpMethod: options.httpMethod,
        type: 'MOCK',
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
      });
      const response = new ApiGatewayMethodResponse(this, `options-${id}-response`, {
        restApiId: this.api.id,
        resourceId: res.id,
        httpMethod: options.httpMethod,
        statusCode: '200',
        responseParameters: Object.fromEntries(Object.keys(cors).map((k) => [k, true])),
      });
      const integrationResponse = new ApiGatewayIntegrationResponse(this, `options-${id}-integration-response`, {
        restApiId: this.api.id,
        resourceId: res.id,
        httpMethod: options.httpMethod,
        statusCode: response.statusCode,
        responseParameters: cors,
        dependsOn: [mock],
      });
      deps.push(options, mock, response, integrationResponse);
    }
    const gatewayCors = { 'gatewayresponse.header.Access-Control-Allow-Origin': `'${CORS_ALLOW_ORIGIN}'`, 'gatewayresponse.header.Access-Control-Allow-Headers': `'${CORS_ALLOW_HEADERS}'` };
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      new ApiGatewayGatewayResponse(this, `cors-${type}`, { restApiId: this.api.id, responseType: type, responseParameters: gatewayCors });
    }
    for (const key of LAMBDA_NAMES) {
      new LambdaPermission(this, `${key}-invoke`, {
        statementId: 'AllowApiGatewayInvoke',
        action: 'lambda:InvokeFunction',
        functionName: fns[key].functionName,
        principal: 'apigateway.amazonaws.com',
        sourceArn: `${this.api.executionArn}/*/*`,
      });
    }
    const deployment = new ApiGatewayDeployment(this, 'deployment', {
      restApiId: this.api.id,
      // Redeploy when routes, CORS or the integration timeouts change.
      triggers: {
        redeployment: createHash('sha1')
          .update(JSON.stringify({ routes: routes.filter((r) => r.lambda).map((r) => [r.method, r.path, r.lambda, r.access]), cors: [...resources.keys()].map(corsFor), gatewayCors, timeouts: LAMBDA_NAMES.map(integrationTimeoutMs), mode: 'STREAM' }))
          .digest('hex'),
      },
      lifecycle: { createBeforeDestroy: true },
      dependsOn: deps,
    });
    // Access logs need the account-level CloudWatch role for API Gateway.
    const apiLogsRole = new IamRole(this, 'api-logs-role', { name: names.of('apigw-logs'), assumeRolePolicy: assumeRolePolicy('apigateway.amazonaws.com') });
    new IamRolePolicyAttachment(this, 'api-logs-policy', { role: apiLogsRole.name, policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs' });
    const account = new ApiGatewayAccount(this, 'api-account', { cloudwatchRoleArn: apiLogsRole.arn });
    const accessLogs = new CloudwatchLogGroup(this, 'api-access-logs', { name: `/aws/apigateway/${names.of('api')}`, retentionInDays: cfg.log_retention_days });
    // Execution logs (method settings' logging_level): API Gateway writes them to this name.
    const executionLogs = new CloudwatchLogGroup(this, 'api-execution-logs', { name: apiExecutionLogGroupName(this.api.id, cfg.environment), retentionInDays: cfg.log_retention_days });
    this.stage = new ApiGatewayStage(this, 'stage', {
      restApiId: this.api.id,
      deploymentId: deployment.id,
      stageName: cfg.environment,
      xrayTracingEnabled: true,
      accessLogSettings: {
        destinationArn: accessLogs.arn,
        format: JSON.stringify({ requestId: '$context.requestId', ip: '$context.identity.sourceIp', sub: '$context.authorizer.claims.sub', method: '$context.httpMethod', path: '$context.resourcePath', status: '$context.status', latency: '$context.responseLatency' }),
      },
      // The execution log group first, or API Gateway creates it without a retention.
      dependsOn: [account, executionLogs],
    });
    new ApiGatewayMethodSettings(this, 'stage-settings', {
      restApiId: this.api.id,
      stageName: this.stage.stageName,
      methodPath: '*/*',
      settings: { throttlingRateLimit: cfg.api.throttle_rate_limit, throttlingBurstLimit: cfg.api.throttle_burst_limit, metricsEnabled: true, loggingLevel: 'INFO', dataTraceEnabled: false },
    });

    // ---- ECS Fargate story agent behind an ALB ---------------------------------------------
    // With a certificate and a host name the agent serves HTTPS itself (HTTP redirects). Without,
    // the ALB serves plain HTTP to CloudFront only: browsers reach the agent as /agent/* on the
    // site's HTTPS origin (publishSite), never over plain HTTP.
    const tls = agentTls(cfg);
    this.httpsEnabled = tls !== undefined;
    const cloudfrontOnly = tls ? undefined : new DataAwsEc2ManagedPrefixList(this, 'cloudfront-origin-facing', { name: CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST });
    const albSg = new SecurityGroup(this, 'alb-sg', {
      name: names.of('alb'),
      vpcId: f.vpc.id,
      description: tls ? 'Story42 ALB: HTTPS (and HTTP redirects) from the internet' : 'Story42 ALB: HTTP from CloudFront only',
      ingress: cloudfrontOnly
        ? [{ description: 'HTTP from CloudFront (origin-facing)', protocol: 'tcp', fromPort: 80, toPort: 80, prefixListIds: [cloudfrontOnly.id] }]
        : [
            { description: 'HTTP (redirects to HTTPS)', protocol: 'tcp', fromPort: 80, toPort: 80, cidrBlocks: ['0.0.0.0/0'] },
            { description: 'HTTPS', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] },
          ],
      egress: [{ description: 'to the agent tasks', protocol: 'tcp', fromPort: cfg.ecs.container_port, toPort: cfg.ecs.container_port, cidrBlocks: [cfg.network.vpc_cidr] }],
    });
    const taskSg = new SecurityGroup(this, 'task-sg', {
      name: names.of('agent-tasks'),
      vpcId: f.vpc.id,
      description: 'Story42 agent tasks: only the ALB may connect',
      ingress: [{ description: 'from the ALB', protocol: 'tcp', fromPort: cfg.ecs.container_port, toPort: cfg.ecs.container_port, securityGroups: [albSg.id] }],
      egress: [{ description: 'HTTPS to AWS APIs and model providers', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }],
    });
    this.alb = new Lb(this, 'alb', {
      name: names.of('alb'),
      loadBalancerType: 'application',
      internal: false,
      securityGroups: [albSg.id],
      subnets: f.publicSubnets.map((s) => s.id),
      dropInvalidHeaderFields: true,
      enableDeletionProtection: deletionProtection(cfg),
      // A connection may carry no bytes for this long (agent.idle_timeout_seconds, 900 s by
      // default). Agent streams (SSE) are never that quiet: the agent writes an SSE comment
      // every 15 s (AGENT_SSE_KEEPALIVE_SECONDS) as a keep-alive, and the schema keeps this at
      // 4 or more of them (60-4000 s). What it bounds is the JSON routes, silent until their
      // answer (model calls and retries), and dead streams. The agent's own HTTP keep-alive
      // timeout should exceed it, else the ALB may reuse a connection the task has just closed
      // (a 502).
      idleTimeout: cfg.agent.idle_timeout_seconds,
    });
    const targets = new LbTargetGroup(this, 'agent-targets', {
      name: names.of('tg'),
      port: cfg.ecs.container_port,
      protocol: 'HTTP',
      targetType: 'ip',
      vpcId: f.vpc.id,
      healthCheck: { path: routeNamed('health').path, matcher: '200', ...AGENT_HEALTH_CHECK },
      deregistrationDelay: String(AGENT_DEREGISTRATION_DELAY_SECONDS),
    });
    const listeners: LbListener[] = [];
    if (tls) {
      listeners.push(
        new LbListener(this, 'https', {
          loadBalancerArn: this.alb.arn,
          port: 443,
          protocol: 'HTTPS',
          // TLS 1.3 and 1.2 with forward-secret ciphers only.
          sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
          certificateArn: tls.certificateArn,
          defaultAction: [{ type: 'forward', targetGroupArn: targets.arn }],
        }),
        new LbListener(this, 'http-redirect', {
          loadBalancerArn: this.alb.arn,
          port: 80,
          protocol: 'HTTP',
          defaultAction: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } }],
        }),
      );
    } else {
      listeners.push(new LbListener(this, 'http', { loadBalancerArn: this.alb.arn, port: 80, protocol: 'HTTP', defaultAction: [{ type: 'forward', targetGroupArn: targets.arn }] }));
    }

    if (cfg.domain?.agent_host && cfg.domain.hosted_zone_id) {
      new Route53Record(this, 'agent-alias', {
        zoneId: cfg.domain.hosted_zone_id,
        name: cfg.domain.agent_host,
        type: 'A',
        alias: { name: this.alb.dnsName, zoneId: this.alb.zoneId, evaluateTargetHealth: true },
      });
    }
    this.agentEndpoint = tls ? `https://${tls.host}` : `http://${this.alb.dnsName}`;
    this.agentDirectUrl = tls ? `https://${tls.host}` : undefined;
    this.apiOrigin = `https://${this.api.id}.execute-api.${region}.amazonaws.com`;

    // ---- Per-user limits: WAF on the API stage and the ALB -----------------------------------
    const acl = (id: string, ipKey: 'IP' | 'FORWARDED_IP') =>
      new Wafv2WebAcl(this, id, {
        name: names.of(id),
        description: `Story42 ${id}: per-user (bearer token) and per-IP request limits`,
        scope: 'REGIONAL',
        defaultAction: { allow: {} },
        rule: rateRules(cfg, ipKey, names.of(id)),
        visibilityConfig: { cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: names.of(id) },
      });
    const apiAcl = acl('api-waf', 'IP');
    new Wafv2WebAclAssociation(this, 'api-waf-stage', { resourceArn: this.stage.arn, webAclArn: apiAcl.arn });
    const albAcl = acl('agent-waf', tls ? 'IP' : 'FORWARDED_IP');
    new Wafv2WebAclAssociation(this, 'agent-waf-alb', { resourceArn: this.alb.arn, webAclArn: albAcl.arn });
    this.webAcls = [apiAcl, albAcl];

    this.cluster = new EcsCluster(this, 'cluster', { name: names.of('ecs-cluster'), setting: [{ name: 'containerInsights', value: 'enabled' }] });
    this.agentLogGroup = new CloudwatchLogGroup(this, 'agent-logs', { name: `/ecs/${names.of('story-agent')}`, retentionInDays: cfg.log_retention_days });
    const executionRole = new IamRole(this, 'agent-execution-role', { name: names.of('agent-exec'), assumeRolePolicy: assumeRolePolicy('ecs-tasks.amazonaws.com') });
    new IamRolePolicy(this, 'agent-execution-policy', {
      role: executionRole.id,
      name: names.of('agent-exec'),
      policy: policyJson([
        { Sid: 'EcrAuth', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
        { Sid: 'EcrPull', Effect: 'Allow', Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'], Resource: f.repositories.agent.arn },
        { Sid: 'Logs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${this.agentLogGroup.arn}:*` },
      ]),
    });
    const taskRole = new IamRole(this, 'agent-task-role', { name: names.of('agent-task'), assumeRolePolicy: assumeRolePolicy('ecs-tasks.amazonaws.com') });
    new IamRolePolicy(this, 'agent-task-policy', { role: taskRole.id, name: names.of('agent-task'), policy: policyJson(dataAccess('agent', access)) });
    const container = 'story-agent';
    // The agent's own model and its web search (src/platform/config.ts loadSearchConfig):
    // DuckDuckGo over HTTPS (the tasks' egress), results cached in the search cache table.
    const env = {
      ...appEnv,
      AWS_REGION: region,
      PORT: String(cfg.ecs.container_port),
      STORY42_AGENT_MODEL: agentModelId(cfg),
      STORY42_SEARCH_PROVIDER: 'duckduckgo',
      STORY42_SEARCH_CACHE_TABLE: f.searchCacheTable.name,
      STORY42_SEARCH_CACHE_TTL_SECONDS: String(cfg.agent.search.cache_ttl_seconds),
      STORY42_SEARCH_BUDGET_PER_MINUTE: String(cfg.agent.search.budget_per_minute),
    };
    const task = new EcsTaskDefinition(this, 'agent-task', {
      family: names.of('story-agent'),
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: String(cfg.ecs.cpu),
      memory: String(cfg.ecs.memory_mb),
      executionRoleArn: executionRole.arn,
      taskRoleArn: taskRole.arn,
      runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
      // The root filesystem is read-only; /tmp is a task-local scratch volume.
      volume: [{ name: 'tmp' }],
      containerDefinitions: JSON.stringify([
        {
          name: container,
          image: `${f.repositories.agent.repositoryUrl}:${cfg.image_tag}`,
          essential: true,
          portMappings: [{ containerPort: cfg.ecs.container_port, protocol: 'tcp' }],
          environment: Object.entries(env).map(([name, value]) => ({ name, value })),
          readonlyRootFilesystem: true,
          mountPoints: [{ sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false }],
          user: 'node',
          healthCheck: {
            command: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${cfg.ecs.container_port}${routeNamed('health').path}').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))`],
            interval: 30,
            timeout: 5,
            retries: 3,
            startPeriod: 20,
          },
          logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': this.agentLogGroup.name, 'awslogs-region': region, 'awslogs-stream-prefix': 'agent' } },
        },
      ]),
    });
    const usePrivate = f.privateSubnets.length > 0;
    this.service = new EcsService(this, 'agent-service', {
      name: names.of('story-generator'),
      cluster: this.cluster.id,
      taskDefinition: task.arn,
      desiredCount: cfg.ecs.desired_count,
      launchType: 'FARGATE',
      healthCheckGracePeriodSeconds: 60,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      networkConfiguration: {
        subnets: (usePrivate ? f.privateSubnets : f.publicSubnets).map((s) => s.id),
        securityGroups: [taskSg.id],
        assignPublicIp: !usePrivate,
      },
      loadBalancer: [{ targetGroupArn: targets.arn, containerName: container, containerPort: cfg.ecs.container_port }],
      // The apply finishes only when the service runs its desired count on the new task
      // definition (a broken image or health check fails the apply instead of passing silently).
      waitForSteadyState: true,
      dependsOn: listeners,
    });

    // ---- Alarms to the operators' email ----------------------------------------------------
    if (cfg.alarm_email) {
      // A customer-managed key: the AWS-managed alias/aws/sns key's policy does not let CloudWatch
      // use it, so alarms published to a topic encrypted with it never arrive.
      const key = new KmsKey(this, 'alarms-key', {
        description: `${names.prefix} alarm topic`,
        enableKeyRotation: true,
        deletionWindowInDays: 7,
        policy: policyJson(alarmKeyPolicy(accountId)),
      });
      new KmsAlias(this, 'alarms-key-alias', { name: `alias/${names.of('alarms')}`, targetKeyId: key.keyId });
      const topic = new SnsTopic(this, 'alarms', { name: names.of('alarms'), kmsMasterKeyId: key.arn });
      new SnsTopicPolicy(this, 'alarms-policy', { arn: topic.arn, policy: policyJson(alarmTopicPolicy(topic.arn, region, accountId, names.prefix)) });
      new SnsTopicSubscription(this, 'alarms-email', { topicArn: topic.arn, protocol: 'email', endpoint: cfg.alarm_email });
      const alarm = (id: string, namespace: string, metric: string, dimensions: Record<string, string>, threshold: number, opts: Partial<{ statistic: string; period: number; evaluationPeriods: number; comparisonOperator: string; treatMissingData: string }> = {}) =>
        new CloudwatchMetricAlarm(this, id, {
          alarmName: names.of(id),
          namespace,
          metricName: metric,
          dimensions,
          statistic: 'Sum',
          period: 300,
          evaluationPeriods: 1,
          threshold,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
          // No data = no requests or invocations: nothing failed.
          treatMissingData: 'notBreaching',
          ...opts,
          alarmActions: [topic.arn],
        });
      for (const key of LAMBDA_NAMES) {
        alarm(`${key}-errors`, 'AWS/Lambda', 'Errors', { FunctionName: fns[key].functionName }, 5);
        // Any throttle means a request was turned away (account or reserved concurrency).
        alarm(`${key}-throttles`, 'AWS/Lambda', 'Throttles', { FunctionName: fns[key].functionName }, 1);
      }
      alarm('api-5xx', 'AWS/ApiGateway', '5XXError', { ApiName: this.api.name, Stage: this.stage.stageName }, 5);
      // The ALB's own 5xx (no healthy target, timeouts) and the agent's.
      alarm('alb-5xx', 'AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', { LoadBalancer: this.alb.arnSuffix }, 5);
      alarm('alb-target-5xx', 'AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', { LoadBalancer: this.alb.arnSuffix }, 5);
      if (cfg.ecs.desired_count > 0) {
        // Fewer tasks running than desired for 5 minutes (Container Insights, on for the cluster).
        // No data at all means no task reports: treated as breaching.
        alarm('agent-running-tasks', 'ECS/ContainerInsights', 'RunningTaskCount', { ClusterName: this.cluster.name, ServiceName: this.service.name }, cfg.ecs.desired_count, {
          statistic: 'Minimum',
          period: 60,
          evaluationPeriods: 5,
          comparisonOperator: 'LessThanThreshold',
          treatMissingData: 'breaching',
        });
      }
    }
  }
}
