/**
 * Phase 1 — the foundation, always deployed: ECR, VPC, S3, DynamoDB, Cognito, Secrets
 * Manager, CloudFront for the static site.
 */
import { Construct } from 'constructs';
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate';
import { AcmCertificateValidation } from '@cdktf/provider-aws/lib/acm-certificate-validation';
import { CloudfrontDistribution, type CloudfrontDistributionOrderedCacheBehavior, type CloudfrontDistributionOrigin } from '@cdktf/provider-aws/lib/cloudfront-distribution';
import { CloudfrontFunction } from '@cdktf/provider-aws/lib/cloudfront-function';
import { CloudfrontResponseHeadersPolicy } from '@cdktf/provider-aws/lib/cloudfront-response-headers-policy';
import { S3BucketCorsConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-cors-configuration';
import { CloudfrontOriginAccessControl } from '@cdktf/provider-aws/lib/cloudfront-origin-access-control';
import { CognitoUser } from '@cdktf/provider-aws/lib/cognito-user';
import { CognitoUserGroup } from '@cdktf/provider-aws/lib/cognito-user-group';
import { CognitoUserInGroup } from '@cdktf/provider-aws/lib/cognito-user-in-group';
import { CognitoUserPool } from '@cdktf/provider-aws/lib/cognito-user-pool';
import { CognitoUserPoolClient } from '@cdktf/provider-aws/lib/cognito-user-pool-client';
import { CognitoUserPoolDomain } from '@cdktf/provider-aws/lib/cognito-user-pool-domain';
import { DataAwsAvailabilityZones } from '@cdktf/provider-aws/lib/data-aws-availability-zones';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcrRepositoryPolicy } from '@cdktf/provider-aws/lib/ecr-repository-policy';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Route } from '@cdktf/provider-aws/lib/route';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';
import { BudgetsBudget } from '@cdktf/provider-aws/lib/budgets-budget';
import { Fn } from 'cdktf';
import { LAMBDA_NAMES } from '../src/core/routes';
import { SESSIONS_SCHEMA } from '../src/aws/sessions-schema';
import { SEARCH_CACHE_SCHEMA } from '../src/aws/search-cache';
import { CHAT_HISTORY_SCHEMA, PROJECTS_SCHEMA, PROMPT_CARDS_SCHEMA, type TableSchema } from '../src/aws/projects-schema';
import type { EnvironmentConfig } from './environment';
import { policyJson, type Statement } from './iam';
import { cognitoDomainPrefix } from './environment';
import { siteCsp, SPA_REWRITE_FUNCTION, type CspSources } from './site';

export { LAMBDA_NAMES, type LambdaName } from '../src/core/routes';
export const REPOSITORIES = [...LAMBDA_NAMES, 'agent'] as const;
export type RepositoryName = (typeof REPOSITORIES)[number];

/** ECR repository names (suffix after the prefix) per component. */
export const REPOSITORY_SUFFIX: Record<RepositoryName, string> = {
  'text-regen': 'story-text-regen',
  'image-regen': 'story-image-regen',
  'data-ops': 'data-ops',
  agent: 'story-agent',
};

/**
 * The projects feature's tables (issue 11: projects, prompt cards, chat): this stack's name for
 * each, and its key schema. The key schemas are the application's (src/aws/projects-schema.ts,
 * which the DynamoDB store queries by and the local bootstrap creates its tables from), as the
 * sessions table's are (SESSIONS_SCHEMA): a schema change is one edit there, and the tables, the
 * index grants (terraform/access.ts) and the policy suite follow it.
 */
export const PROJECT_TABLES = {
  /** One item per project; a user's projects, newest first, through its index. */
  projects: { suffix: 'projects', schema: PROJECTS_SCHEMA },
  /** A project's prompt cards (each card's text is `<project_id>/<prompt_id>.txt` in the prompts bucket). */
  promptCards: { suffix: 'prompt-cards', schema: PROMPT_CARDS_SCHEMA },
  /** Chat exchanges per chat session, expiring by TTL; a project's exchanges through its index. */
  chatHistory: { suffix: 'chat-history', schema: CHAT_HISTORY_SCHEMA },
} as const satisfies Record<string, { suffix: string; schema: ProjectTableSchema }>;
export type ProjectTableSchema = TableSchema & { readonly ttlAttribute?: string };
export type ProjectTable = keyof typeof PROJECT_TABLES;
export const PROJECT_TABLE_KEYS = Object.keys(PROJECT_TABLES) as ProjectTable[];

export interface Names {
  prefix: string;
  of(thing: string): string;
}

/** Deletion protection on the tables, the user pool and the ALB: the file's setting, on for prod by default. */
export function deletionProtection(cfg: EnvironmentConfig): boolean {
  return cfg.deletion_protection ?? cfg.environment === 'prod';
}

export function namesFor(cfg: EnvironmentConfig): Names {
  const prefix = `${cfg.project_name}-${cfg.environment}-${cfg.region}`;
  return { prefix, of: (thing) => `${prefix}-${thing}` };
}

class SecureBucket extends Construct {
  readonly bucket: S3Bucket;

  /**
   * `noncurrentDays`: a replaced version expires this long after it was replaced. (A count limit,
   * `NewerNoncurrentVersions`, is left out: the deploy rehearsal's emulator cannot apply it.)
   */
  constructor(scope: Construct, id: string, name: string, opts: { expireDays?: number; noncurrentDays: number; forceDestroy: boolean; deferPolicy?: boolean }, extra: Statement[] = []) {
    super(scope, id);
    this.bucket = new S3Bucket(this, 'bucket', { bucket: name, forceDestroy: opts.forceDestroy });
    new S3BucketPublicAccessBlock(this, 'public-access', {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'sse', {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }],
    });
    new S3BucketVersioningA(this, 'versioning', { bucket: this.bucket.id, versioningConfiguration: { status: 'Enabled' } });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: this.bucket.id,
      rule: [
        {
          id: 'expire-old-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          noncurrentVersionExpiration: [{ noncurrentDays: opts.noncurrentDays }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
          ...(opts.expireDays ? { expiration: [{ days: opts.expireDays }] } : {}),
        },
      ],
    });
    if (!opts.deferPolicy) this.addPolicy(extra);
  }

  /** The bucket policy: TLS only, plus `extra` (once; a bucket created with deferPolicy gets it later). */
  addPolicy(extra: Statement[]): void {
    new S3BucketPolicy(this, 'policy', {
      bucket: this.bucket.id,
      policy: policyJson([
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        ...extra,
      ]),
    });
  }
}

export class Foundation extends Construct {
  readonly repositories: Record<RepositoryName, EcrRepository>;
  readonly vpc: Vpc;
  readonly publicSubnets: Subnet[];
  readonly privateSubnets: Subnet[];
  readonly imagesBucket: S3Bucket;
  readonly promptsBucket: S3Bucket;
  readonly siteBucket: S3Bucket;
  readonly table: DynamodbTable;
  /** The story agent's web search cache (one item per normalised query, expiring by TTL). */
  readonly searchCacheTable: DynamodbTable;
  /** Projects, prompt cards and chat history (PROJECT_TABLES). */
  readonly projectTables: Record<ProjectTable, DynamodbTable>;
  readonly userPool: CognitoUserPool;
  readonly userPoolClient: CognitoUserPoolClient;
  readonly userPoolDomain: CognitoUserPoolDomain;
  readonly adminUser: CognitoUser;
  readonly imageKeySecret: SecretsmanagerSecret;
  readonly ttsKeySecret: SecretsmanagerSecret;
  /** Set by publishSite (the stack calls it once, after the compute, if any). */
  distribution!: CloudfrontDistribution;
  /** The site's certificate when we create it (custom domain with a hosted zone, no certificate given). */
  readonly siteCertificate?: AcmCertificate;
  /** The site's origin (https://…, no trailing slash). Set by publishSite. */
  siteUrl!: string;
  /** The site's security headers (CSP and the rest) on the default behaviour. Set by publishSite. */
  responseHeadersPolicy!: CloudfrontResponseHeadersPolicy;
  private readonly site: { cfg: EnvironmentConfig; names: Names; oac: CloudfrontOriginAccessControl; bucket: SecureBucket; certificateArn?: string; zoneId?: string };

  constructor(scope: Construct, id: string, cfg: EnvironmentConfig, names: Names, accountId: string) {
    super(scope, id);
    // S3 bucket names and Cognito domain prefixes are global across all AWS accounts: each carries
    // this account's id, so the same environment file deploys in another account without a clash.
    const globalName = (thing: string) => `${names.of(thing)}-${accountId}`;

    // ---- ECR ------------------------------------------------------------------------
    const repos = {} as Record<RepositoryName, EcrRepository>;
    for (const key of REPOSITORIES) {
      const repo = new EcrRepository(this, `ecr-${key}`, {
        name: names.of(REPOSITORY_SUFFIX[key]),
        imageTagMutability: 'IMMUTABLE',
        forceDelete: cfg.force_destroy,
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: [{ encryptionType: 'AES256' }],
      });
      new EcrLifecyclePolicy(this, `ecr-${key}-lifecycle`, {
        repository: repo.name,
        policy: JSON.stringify({
          // Untagged images only: every deploy runs an immutable commit tag (image_tag, recorded in
          // the environment file), so no rule may ever select a tagged image a Lambda or the agent
          // task may still run. Untagged ones are what a re-push or a manifest replacement leaves.
          rules: ecrLifecycleRules(cfg.ecr_keep_images),
        }),
      });
      if (key !== 'agent') {
        // Lambda pulls the function image with the service principal; only this stack's functions.
        new EcrRepositoryPolicy(this, `ecr-${key}-lambda-pull`, {
          repository: repo.name,
          policy: policyJson([
            {
              Sid: 'LambdaPull',
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
              Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
              Condition: { StringLike: { 'aws:sourceArn': `arn:aws:lambda:${cfg.region}:${accountId}:function:${names.prefix}-*` } },
            },
          ]),
        });
      }
      repos[key] = repo;
    }
    this.repositories = repos;

    // ---- VPC --------------------------------------------------------------------------
    const azs = new DataAwsAvailabilityZones(this, 'azs', { state: 'available' });
    this.vpc = new Vpc(this, 'vpc', { cidrBlock: cfg.network.vpc_cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: names.of('vpc') } });
    const igw = new InternetGateway(this, 'igw', { vpcId: this.vpc.id, tags: { Name: names.of('igw') } });
    const publicRoutes = new RouteTable(this, 'public-routes', { vpcId: this.vpc.id, tags: { Name: names.of('public') } });
    new Route(this, 'public-default', { routeTableId: publicRoutes.id, destinationCidrBlock: '0.0.0.0/0', gatewayId: igw.id });
    const base = cfg.network.vpc_cidr.split('.').slice(0, 2).join('.');
    this.publicSubnets = [0, 1].map((i) => {
      const subnet = new Subnet(this, `public-${i}`, {
        vpcId: this.vpc.id,
        cidrBlock: `${base}.${i}.0/24`,
        availabilityZone: Fn.element(azs.names, i),
        mapPublicIpOnLaunch: true,
        tags: { Name: names.of(`public-${i}`) },
      });
      new RouteTableAssociation(this, `public-${i}-routes`, { subnetId: subnet.id, routeTableId: publicRoutes.id });
      return subnet;
    });
    this.privateSubnets = [];
    let privateRoutes: RouteTable | undefined;
    if (cfg.network.private_subnets_with_nat) {
      const eip = new Eip(this, 'nat-ip', { domain: 'vpc', tags: { Name: names.of('nat') } });
      const nat = new NatGateway(this, 'nat', { allocationId: eip.id, subnetId: (this.publicSubnets[0] as Subnet).id, tags: { Name: names.of('nat') } });
      const routes = new RouteTable(this, 'private-routes', { vpcId: this.vpc.id, tags: { Name: names.of('private') } });
      privateRoutes = routes;
      new Route(this, 'private-default', { routeTableId: routes.id, destinationCidrBlock: '0.0.0.0/0', natGatewayId: nat.id });
      this.privateSubnets = [0, 1].map((i) => {
        const subnet = new Subnet(this, `private-${i}`, {
          vpcId: this.vpc.id,
          cidrBlock: `${base}.${10 + i}.0/24`,
          availabilityZone: Fn.element(azs.names, i),
          tags: { Name: names.of(`private-${i}`) },
        });
        new RouteTableAssociation(this, `private-${i}-routes`, { subnetId: subnet.id, routeTableId: routes.id });
        return subnet;
      });
    }

    // S3 and DynamoDB gateway endpoints (free) on the route tables the workloads' subnets use:
    // the private ones behind the NAT gateway (their S3/DynamoDB traffic then skips the NAT's
    // per-GB charge), the public one when the tasks run in public subnets.
    const workloadRoutes = privateRoutes ? [privateRoutes] : [publicRoutes];
    for (const service of ['s3', 'dynamodb']) {
      new VpcEndpoint(this, `${service}-endpoint`, {
        vpcId: this.vpc.id,
        serviceName: `com.amazonaws.${cfg.region}.${service}`,
        vpcEndpointType: 'Gateway',
        routeTableIds: workloadRoutes.map((r) => r.id),
        tags: { Name: names.of(service) },
      });
    }

    // ---- Budget: monthly cost, actual 80 % and forecast 100 % to the operators ----------
    if (cfg.monthly_budget_usd !== undefined) {
      const to = [cfg.alarm_email ?? cfg.admin_email];
      new BudgetsBudget(this, 'monthly-budget', {
        name: names.of('monthly-cost'),
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        limitAmount: cfg.monthly_budget_usd.toFixed(2),
        limitUnit: 'USD',
        notification: [
          { notificationType: 'ACTUAL', comparisonOperator: 'GREATER_THAN', threshold: 80, thresholdType: 'PERCENTAGE', subscriberEmailAddresses: to },
          { notificationType: 'FORECASTED', comparisonOperator: 'GREATER_THAN', threshold: 100, thresholdType: 'PERCENTAGE', subscriberEmailAddresses: to },
        ],
      });
    }

    // ---- S3 ---------------------------------------------------------------------------
    this.imagesBucket = new SecureBucket(this, 'images', globalName('story-images'), { expireDays: cfg.image_retention_days, noncurrentDays: 30, forceDestroy: cfg.force_destroy }).bucket;
    // System prompts (prompts/<assistant>/<name>.md, written by the admin routes) and prompt
    // cards' text (<project_id>/<prompt_id>.txt). Every edit is a version: the admin routes list
    // and read old ones; `prompts.*` bounds how many are kept and for how long.
    this.promptsBucket = new SecureBucket(this, 'prompts', globalName('prompts'), {
      noncurrentDays: cfg.prompts.noncurrent_version_days,
      forceDestroy: cfg.force_destroy,
    }).bucket;
    const oac = new CloudfrontOriginAccessControl(this, 'site-oac', {
      name: names.of('site'),
      originAccessControlOriginType: 's3',
      signingBehavior: 'always',
      signingProtocol: 'sigv4',
    });

    // ---- DynamoDB ---------------------------------------------------------------------
    this.table = new DynamodbTable(this, 'sessions', {
      name: names.of('story-sessions'),
      billingMode: 'PAY_PER_REQUEST',
      hashKey: SESSIONS_SCHEMA.hashKey,
      rangeKey: SESSIONS_SCHEMA.rangeKey,
      attribute: SESSIONS_SCHEMA.attributes.map((a) => ({ ...a })),
      globalSecondaryIndex: SESSIONS_SCHEMA.indexes.map((i) => ({ ...i, projectionType: 'ALL' })),
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
      ttl: { attributeName: SESSIONS_SCHEMA.ttlAttribute, enabled: true },
      deletionProtectionEnabled: deletionProtection(cfg),
    });
    // The search cache's layout is the application's (src/aws/search-cache.ts): partition key
    // `query`, TTL on `expires_at` (the cache also ignores expired items DynamoDB has yet to delete).
    this.searchCacheTable = new DynamodbTable(this, 'search-cache', {
      name: names.of('search-cache'),
      billingMode: 'PAY_PER_REQUEST',
      hashKey: SEARCH_CACHE_SCHEMA.hashKey,
      attribute: SEARCH_CACHE_SCHEMA.attributes.map((a) => ({ ...a })),
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
      ttl: { attributeName: SEARCH_CACHE_SCHEMA.ttlAttribute, enabled: true },
      deletionProtectionEnabled: deletionProtection(cfg),
    });

    // Projects, prompt cards and chat history: the application's key schemas (PROJECT_TABLES).
    const projectTables = {} as Record<ProjectTable, DynamodbTable>;
    for (const key of PROJECT_TABLE_KEYS) {
      const { suffix, schema }: { suffix: string; schema: ProjectTableSchema } = PROJECT_TABLES[key];
      projectTables[key] = new DynamodbTable(this, suffix, {
        name: names.of(suffix),
        billingMode: 'PAY_PER_REQUEST',
        hashKey: schema.hashKey,
        rangeKey: schema.rangeKey,
        attribute: schema.attributes.map((a) => ({ ...a })),
        globalSecondaryIndex: schema.indexes.length > 0 ? schema.indexes.map((i) => ({ ...i })) : undefined,
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true },
        ttl: schema.ttlAttribute ? { attributeName: schema.ttlAttribute, enabled: true } : undefined,
        deletionProtectionEnabled: deletionProtection(cfg),
      });
    }
    this.projectTables = projectTables;

    // ---- Cognito ----------------------------------------------------------------------
    this.userPool = new CognitoUserPool(this, 'users', {
      name: names.of('user-pool'),
      usernameAttributes: ['email'],
      autoVerifiedAttributes: ['email'],
      mfaConfiguration: 'OPTIONAL',
      softwareTokenMfaConfiguration: { enabled: true },
      passwordPolicy: { minimumLength: 12, requireLowercase: true, requireUppercase: true, requireNumbers: true, requireSymbols: true, temporaryPasswordValidityDays: 3 },
      accountRecoverySetting: { recoveryMechanism: [{ name: 'verified_email', priority: 1 }] },
      // Sign-up is closed: only the admin creates users (aws cognito-idp admin-create-user, or the
      // console); the environment schema has no way to open self sign-up.
      adminCreateUserConfig: { allowAdminCreateUserOnly: true },
      deletionProtection: deletionProtection(cfg) ? 'ACTIVE' : 'INACTIVE',
    });
    this.userPoolClient = new CognitoUserPoolClient(this, 'web-client', {
      name: names.of('web'),
      userPoolId: this.userPool.id,
      generateSecret: false,
      explicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      preventUserExistenceErrors: 'ENABLED',
      supportedIdentityProviders: ['COGNITO'],
      allowedOauthFlowsUserPoolClient: true,
      allowedOauthFlows: ['code'],
      allowedOauthScopes: ['openid', 'email', 'profile'],
      callbackUrls: [cfg.domain ? `https://${cfg.domain.name}/` : 'http://localhost:3000/'],
      logoutUrls: [cfg.domain ? `https://${cfg.domain.name}/` : 'http://localhost:3000/'],
    });
    this.userPoolDomain = new CognitoUserPoolDomain(this, 'hosted-ui', { domain: `${cognitoDomainPrefix(cfg)}-${accountId}`, userPoolId: this.userPool.id });
    const groups = ['admin', 'user'].map((g) => new CognitoUserGroup(this, `group-${g}`, { name: g, userPoolId: this.userPool.id, description: `Story42 ${g}s` }));
    // No password in code or state: Cognito emails the admin a temporary one.
    this.adminUser = new CognitoUser(this, 'admin', {
      userPoolId: this.userPool.id,
      username: cfg.admin_email,
      attributes: { email: cfg.admin_email, email_verified: 'true' },
      desiredDeliveryMediums: ['EMAIL'],
    });
    new CognitoUserInGroup(this, 'admin-in-admin', { userPoolId: this.userPool.id, username: this.adminUser.username, groupName: (groups[0] as CognitoUserGroup).name });

    // ---- Secrets (created empty: the operator puts the values) --------------------------
    this.imageKeySecret = new SecretsmanagerSecret(this, 'image-key', {
      name: `${names.prefix}/google-api-key`,
      description: 'Image model API key (Gemini). Set the value with: aws secretsmanager put-secret-value',
      recoveryWindowInDays: 7,
    });
    this.ttsKeySecret = new SecretsmanagerSecret(this, 'tts-key', {
      name: `${names.prefix}/tts-api-key`,
      description: 'Text-to-speech API key. Set the value with: aws secretsmanager put-secret-value',
      recoveryWindowInDays: 7,
    });

    // ---- CloudFront in front of the static site ------------------------------------------
    // A custom domain needs a us-east-1 certificate: given, or created here and validated in
    // the hosted zone.
    let siteCertificateArn = cfg.domain?.cloudfront_certificate_arn;
    const zoneId = cfg.domain?.hosted_zone_id;
    if (cfg.domain && zoneId && !siteCertificateArn) {
      const usEast1 = new AwsProvider(this, 'aws-us-east-1', { alias: 'us_east_1', region: 'us-east-1', defaultTags: [{ tags: { Project: cfg.project_name, Environment: cfg.environment, ManagedBy: 'cdktf', Stack: names.prefix } }] });
      const cert = new AcmCertificate(this, 'site-cert', { provider: usEast1, domainName: cfg.domain.name, validationMethod: 'DNS', lifecycle: { createBeforeDestroy: true } });
      const dvo = cert.domainValidationOptions.get(0);
      const record = new Route53Record(this, 'site-cert-validation', {
        zoneId,
        name: dvo.resourceRecordName,
        type: dvo.resourceRecordType,
        records: [dvo.resourceRecordValue],
        ttl: 300,
        allowOverwrite: true,
      });
      const validated = new AcmCertificateValidation(this, 'site-cert-validated', { provider: usEast1, certificateArn: cert.arn, validationRecordFqdns: [record.fqdn] });
      this.siteCertificate = cert;
      siteCertificateArn = validated.certificateArn;
    }
    const siteBucket = new SecureBucket(this, 'site', globalName('site'), { noncurrentDays: 30, forceDestroy: cfg.force_destroy, deferPolicy: true });
    this.siteBucket = siteBucket.bucket;
    this.site = { cfg, names, oac, bucket: siteBucket, certificateArn: siteCertificateArn, zoneId };
  }

  /**
   * CloudFront in front of the site bucket (origin access control), with the security headers
   * and CSP (`csp`: the origins the app may connect to, known once the compute exists), the SPA
   * rewrite on the default behaviour only, and, when the agent has no HTTPS host of its own, a
   * `/agent/*` behaviour to its ALB (`agentAlbDnsName`) so the browser reaches it over HTTPS on the
   * site's own origin. Also the images bucket's CORS for the site's origin (presigned GETs).
   */
  publishSite(opts: { csp: Omit<CspSources, 'region' | 'imagesBucket'>; agentAlbDnsName?: string }): void {
    const { cfg, names, oac, bucket, certificateArn, zoneId } = this.site;
    const siteOrigin = 'site-bucket';
    const agentOrigin = 'agent-alb';
    const origins: CloudfrontDistributionOrigin[] = [{ originId: siteOrigin, domainName: this.siteBucket.bucketRegionalDomainName, originAccessControlId: oac.id }];
    const behaviours: CloudfrontDistributionOrderedCacheBehavior[] = [];
    if (opts.agentAlbDnsName) {
      // CloudFront -> ALB over HTTP inside AWS's network (the ALB has no certificate); the ALB
      // accepts only CloudFront's origin-facing addresses (compute.ts). Reads wait up to 60 s
      // between bytes: SSE streams send a keep-alive every 15 s.
      origins.push({
        originId: agentOrigin,
        domainName: opts.agentAlbDnsName,
        customOriginConfig: { httpPort: 80, httpsPort: 443, originProtocolPolicy: 'http-only', originSslProtocols: ['TLSv1.2'], originReadTimeout: 60, originKeepaliveTimeout: 60 },
      });
      behaviours.push({
        pathPattern: '/agent/*',
        targetOriginId: agentOrigin,
        viewerProtocolPolicy: 'https-only',
        allowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'],
        cachedMethods: ['GET', 'HEAD'],
        // Server-sent events must reach the browser as they are written: no compression (it buffers), no caching.
        compress: false,
        cachePolicyId: MANAGED_POLICIES.cachingDisabled,
        // Authorization, Accept, Content-Type, query strings: everything the viewer sent but Host.
        originRequestPolicyId: MANAGED_POLICIES.allViewerExceptHostHeader,
      });
    }
    const spa = new CloudfrontFunction(this, 'site-spa-rewrite', {
      name: names.of('spa-rewrite'),
      runtime: 'cloudfront-js-2.0',
      comment: 'App routes (no file extension) get /index.html',
      code: SPA_REWRITE_FUNCTION,
      publish: true,
    });
    const csp = siteCsp({ ...opts.csp, region: cfg.region, imagesBucket: this.imagesBucket.bucket });
    this.responseHeadersPolicy = new CloudfrontResponseHeadersPolicy(this, 'site-headers', {
      name: names.of('site-headers'),
      comment: 'Story42 web studio: security headers and CSP',
      securityHeadersConfig: {
        strictTransportSecurity: { accessControlMaxAgeSec: 63072000, includeSubdomains: true, preload: false, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: 'DENY', override: true },
        referrerPolicy: { referrerPolicy: 'strict-origin-when-cross-origin', override: true },
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
      },
    });
    this.distribution = new CloudfrontDistribution(this, 'site-cdn', {
      enabled: true,
      comment: names.of('site'),
      defaultRootObject: 'index.html',
      priceClass: 'PriceClass_100',
      // An apply does not wait the minutes CloudFront takes to spread a change to every edge:
      // nothing after it needs that (deploy.sh's sync and invalidation work on a distribution
      // still InProgress), and a destroy waits for it anyway, as CloudFront requires.
      waitForDeployment: false,
      aliases: cfg.domain && certificateArn ? [cfg.domain.name] : undefined,
      origin: origins,
      defaultCacheBehavior: {
        targetOriginId: siteOrigin,
        viewerProtocolPolicy: 'redirect-to-https',
        allowedMethods: ['GET', 'HEAD', 'OPTIONS'],
        cachedMethods: ['GET', 'HEAD'],
        compress: true,
        cachePolicyId: MANAGED_POLICIES.cachingOptimized,
        responseHeadersPolicyId: this.responseHeadersPolicy.id,
        // App routes -> /index.html here only (a custom error response would rewrite /agent/* errors too).
        functionAssociation: [{ eventType: 'viewer-request', functionArn: spa.arn }],
      },
      orderedCacheBehavior: behaviours.length > 0 ? behaviours : undefined,
      restrictions: { geoRestriction: { restrictionType: 'none' } },
      viewerCertificate: certificateArn
        ? { acmCertificateArn: certificateArn, sslSupportMethod: 'sni-only', minimumProtocolVersion: 'TLSv1.2_2021' }
        : { cloudfrontDefaultCertificate: true },
    });
    this.siteUrl = cfg.domain && certificateArn ? `https://${cfg.domain.name}` : `https://${this.distribution.domainName}`;
    if (cfg.domain && zoneId && certificateArn) {
      new Route53Record(this, 'site-alias', {
        zoneId,
        name: cfg.domain.name,
        type: 'A',
        alias: { name: this.distribution.domainName, zoneId: this.distribution.hostedZoneId, evaluateTargetHealth: false },
      });
    }
    bucket.addPolicy([
      {
        Sid: 'AllowCloudFrontRead',
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: `${this.siteBucket.arn}/*`,
        Condition: { StringEquals: { 'AWS:SourceArn': this.distribution.arn } },
      },
    ]);
    // The app shows story images and plays narration from presigned GET URLs on the images bucket.
    new S3BucketCorsConfiguration(this, 'images-cors', {
      bucket: this.imagesBucket.id,
      corsRule: [{ allowedOrigins: [this.siteUrl], allowedMethods: ['GET', 'HEAD'], allowedHeaders: ['*'], maxAgeSeconds: 3600 }],
    });
  }
}

/** AWS managed CloudFront policies (fixed, documented ids). */
export const MANAGED_POLICIES = {
  cachingOptimized: '658327ea-f89d-4fab-a63d-7e88639e58f6',
  cachingDisabled: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
  allViewerExceptHostHeader: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
} as const;

/** The ECR lifecycle rules: untagged images beyond the newest `keep` expire; tagged images never. */
export function ecrLifecycleRules(keep: number): Array<{ rulePriority: number; description: string; selection: { tagStatus: 'untagged'; countType: 'imageCountMoreThan'; countNumber: number }; action: { type: 'expire' } }> {
  return [
    {
      rulePriority: 1,
      description: `keep the last ${keep} untagged images; tagged (deployed) images are never expired`,
      selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: keep },
      action: { type: 'expire' },
    },
  ];
}
