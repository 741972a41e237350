/**
 * One stack per environment/region file, named `<project>-<env>-<region>`. Phase 1 always;
 * phase 2 when `images_ready` is true.
 */
import path from 'node:path';
import { Construct } from 'constructs';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, LocalBackend, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import { ROUTES, type Route } from '../src/core/routes';
import { Compute } from './compute';
import { stackName, type EnvironmentConfig } from './environment';
import { Foundation, namesFor } from './foundation';

export const NOT_DEPLOYED = 'Not deployed - set images_ready = true';

/**
 * The hashicorp/aws version every stack requires, exactly. @cdktf/provider-aws 21.22 is generated
 * from 6.25.0; 6.27.0 is a later 6.x (a superset of its schema) whose official hashes are in the
 * committed lock file, terraform/.terraform.lock.hcl (the synth and the deploy scripts copy it into
 * each stack's folder before `terraform init`). Change both together (a test compares them).
 */
export const AWS_PROVIDER_VERSION = '6.27.0';
/** The committed dependency lock file. */
export const LOCK_FILE = path.resolve(__dirname, '.terraform.lock.hcl');

/**
 * Local state (no `state_backend`) lives in terraform/state/<stack>.tfstate (git-ignored), not
 * in cdktf.out, which is a build output anyone may delete.
 */
export const LOCAL_STATE_DIR = path.resolve(__dirname, 'state');

export class Story42Stack extends TerraformStack {
  readonly foundation: Foundation;
  readonly compute?: Compute;

  /** `routes`: the route table (a test passes an extended copy to see a new route reach the API). */
  constructor(scope: Construct, cfg: EnvironmentConfig, routes: readonly Route[] = ROUTES) {
    const name = stackName(cfg);
    super(scope, name);
    const names = namesFor(cfg);
    this.addOverride('terraform.required_providers.aws.version', AWS_PROVIDER_VERSION);
    new AwsProvider(this, 'aws', {
      region: cfg.region,
      defaultTags: [{ tags: { Project: cfg.project_name, Environment: cfg.environment, ManagedBy: 'cdktf', Stack: name } }],
    });
    if (cfg.state_backend) {
      new S3Backend(this, {
        bucket: cfg.state_backend.bucket,
        key: `${cfg.state_backend.key_prefix}/${cfg.environment}/${cfg.region}/terraform.tfstate`,
        region: cfg.state_backend.region ?? cfg.region,
        encrypt: true,
      });
      // S3-native state locking (Terraform >= 1.10): a lock file next to the state, no DynamoDB
      // lock table. cdktf's S3BackendConfig has no useLockfile yet, hence the override.
      this.addOverride('terraform.backend.s3.use_lockfile', true);
      this.addOverride('terraform.required_version', '>= 1.10.0');
    } else {
      // Relative to the folder terraform runs in (cdktf.out/stacks/<stack>), so the JSON is machine-independent.
      const stackDir = path.join(App.of(this).outdir, 'stacks', name);
      new LocalBackend(this, { path: path.relative(path.resolve(stackDir), path.join(LOCAL_STATE_DIR, `${name}.tfstate`)) });
    }
    const identity = new DataAwsCallerIdentity(this, 'account');
    const f = new Foundation(this, 'foundation', cfg, names, identity.accountId);
    this.foundation = f;
    if (cfg.images_ready) this.compute = new Compute(this, 'compute', cfg, names, f, identity.accountId, routes);
    const c = this.compute;
    // The site: its CSP allows the API (phase 2) and the agent's own origin when it has one; without
    // one, CloudFront routes /agent/* to the ALB and the agent is the site's own origin.
    f.publishSite({
      csp: { apiOrigin: c?.apiOrigin, agentOrigin: c?.agentDirectUrl },
      agentAlbDnsName: c && !c.agentDirectUrl ? c.alb.dnsName : undefined,
    });

    const out = (id: string, value: string | number, description?: string) => new TerraformOutput(this, id, { value, description });
    const compute = (id: string, value: (c: Compute) => string | number) => out(id, c ? value(c) : NOT_DEPLOYED);
    const apiBase = (c: Compute) => `https://${c.api.id}.execute-api.${cfg.region}.amazonaws.com/${c.stage.stageName}`;

    out('region', cfg.region);
    compute('api_endpoint', apiBase);
    // One URL per story route (the POST routes), named after its path: /generate-story -> generate_story_endpoint.
    for (const route of routes.filter((r) => r.method === 'POST')) {
      compute(`${route.path.slice(1).replace(/-/g, '_')}_endpoint`, (c) => `${apiBase(c)}${route.path}`);
    }
    out('cognito_user_pool_id', f.userPool.id);
    out('cognito_user_pool_client_id', f.userPoolClient.id);
    out('cognito_user_pool_domain', `${f.userPoolDomain.domain}.auth.${cfg.region}.amazoncognito.com`);
    out('admin_username', cfg.admin_email);
    compute('lambda_function_name', (c) => c.functions['text-regen'].functionName);
    compute('story_image_lambda_function_name', (c) => c.functions['image-regen'].functionName);
    compute('data_ops_lambda_function_name', (c) => c.functions['data-ops'].functionName);
    out('image_tag', cfg.image_tag);
    out('lambda_ecr_repository_url', f.repositories['text-regen'].repositoryUrl);
    out('story_image_lambda_ecr_repository_url', f.repositories['image-regen'].repositoryUrl);
    out('data_ops_ecr_repository_url', f.repositories['data-ops'].repositoryUrl);
    out('ecs_ecr_repository_url', f.repositories.agent.repositoryUrl);
    out('story_images_bucket_name', f.imagesBucket.bucket);
    out('s3_bucket_name', f.imagesBucket.bucket);
    out('dynamodb_table_name', f.table.name);
    out('dynamodb_table_arn', f.table.arn);
    out('search_cache_table_name', f.searchCacheTable.name, "The story agent's web search cache (STORY42_SEARCH_CACHE_TABLE)");
    out('search_cache_table_arn', f.searchCacheTable.arn);
    out('projects_table_name', f.projectTables.projects.name, 'Projects (STORY42_PROJECTS_TABLE)');
    out('projects_table_arn', f.projectTables.projects.arn);
    out('prompt_cards_table_name', f.projectTables.promptCards.name, "Projects' prompt cards (STORY42_PROMPT_CARDS_TABLE)");
    out('prompt_cards_table_arn', f.projectTables.promptCards.arn);
    out('chat_history_table_name', f.projectTables.chatHistory.name, 'Project chat history (STORY42_CHAT_HISTORY_TABLE)');
    out('chat_history_table_arn', f.projectTables.chatHistory.arn);
    out('google_api_key_secret_name', f.imageKeySecret.name);
    out('tts_api_key_secret_name', f.ttsKeySecret.name);
    compute('ecs_cluster_name', (c) => c.cluster.name);
    compute('ecs_service_name', (c) => c.service.name);
    compute('ecs_alb_dns_name', (c) => c.alb.dnsName);
    compute('ecs_service_endpoint', (c) => c.agentEndpoint);
    compute('ecs_desired_count', () => cfg.ecs.desired_count);
    compute('ecs_log_group_name', (c) => c.agentLogGroup.name);
    // The agent's base URL for browsers (HTTPS): its own host, or the site through CloudFront (/agent/*).
    compute('agent_url', (c) => c.agentDirectUrl ?? f.siteUrl);
    // The web studio's /config.json (scripts/deploy.sh writes it with `terraform output -json web_config`).
    if (c) {
      new TerraformOutput(this, 'web_config', {
        description: "The web studio's config.json",
        value: { apiUrl: apiBase(c), agentUrl: c.agentDirectUrl ?? f.siteUrl, region: cfg.region, userPoolId: f.userPool.id, userPoolClientId: f.userPoolClient.id },
      });
    } else out('web_config', NOT_DEPLOYED);
    out('cloudfront_distribution_id', f.distribution.id);
    out('cloudfront_domain_name', f.distribution.domainName);
    out('website_url', f.siteUrl);
    out('site_bucket_name', f.siteBucket.bucket);
    out('prompts_bucket_name', f.promptsBucket.bucket);
  }
}
