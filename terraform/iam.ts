/** IAM policy documents as plain JSON, so the policy suite can read every statement. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string | string[]>;
  Action: string | string[];
  Resource: string | string[];
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
 * Actions whose only valid resource is `*` (AWS does not support resource-level
 * permissions for them). The policy suite allows `*` for these and nothing else.
 */
export const ACTIONS_REQUIRING_STAR_RESOURCE = ['ecr:GetAuthorizationToken'] as const;
