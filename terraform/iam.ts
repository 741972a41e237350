/** IAM policy documents as plain JSON, so the policy suite can read every statement. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string | string[]>;
  Action: string | string[];
  /** Omitted only in ECR repository policies, where the repository is the implicit resource. */
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export function policyJson(statements: Statement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

export function assumeRolePolicy(service: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });
}

/**
 * Actions whose only valid resource is `*` (AWS supports no resource-level permissions for
 * them). The policy suite allows a `*` resource for these and nothing else.
 */
export const ACTIONS_REQUIRING_STAR_RESOURCE: Readonly<Record<string, string>> = {
  'ecr:GetAuthorizationToken': 'ECS execution role: the registry login token is account-wide, AWS accepts only Resource "*"',
  'polly:SynthesizeSpeech': 'narration (speech.provider "polly"): no resource-level permissions (the only resource type is a lexicon, and we use none); limited to the stack\'s region by aws:RequestedRegion',
};

/**
 * AWS managed policies we attach, and why. Anything else attached fails the policy suite.
 */
export const MANAGED_POLICY_ALLOWLIST: Readonly<Record<string, string>> = {
  'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs':
    "API Gateway's account-level CloudWatch role (required for stage execution/access logging; AWS's documented policy)",
};
