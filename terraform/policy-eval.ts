/**
 * Test support: a small evaluator of identity-policy statements, for the questions the policy
 * suite asks ("may this role do X to Y?"). It follows IAM's rules for what it supports: an
 * explicit Deny wins, else any matching Allow; `*` and `?` wildcards (actions case-insensitive,
 * resources case-sensitive); every condition operator of a statement must hold. Terraform
 * references (`${aws_s3_bucket.x.arn}`) are compared as the literal strings they are in the JSON.
 * A condition operator it does not know fails loudly rather than guessing.
 */
import type { Statement } from './iam';

export interface Request {
  action: string;
  resource: string;
  /** Request context keys (s3:prefix, dynamodb:LeadingKeys, bedrock:InferenceProfileArn, ...). */
  context?: Record<string, string | string[]>;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM's wildcard match: `*` any run of characters (including "/" and none), `?` one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, ignoreCase ? 'is' : 's');
  return re.test(value);
}

function conditionHolds(operator: string, key: string, expected: string[], context: Record<string, string | string[]>): boolean {
  const present = key in context;
  const values = list(context[key]);
  const [qualifier, op] = operator.includes(':') ? (operator.split(':') as [string, string]) : [undefined, operator];
  const compare = (value: string, pattern: string): boolean => {
    switch (op) {
      case 'StringEquals':
        return value === pattern;
      case 'StringLike':
      case 'ArnLike':
        return wildcardMatch(pattern, value);
      case 'Bool':
        return value.toLowerCase() === pattern.toLowerCase();
      default:
        throw new Error(`policy-eval: condition operator ${operator} is not supported`);
    }
  };
  const matchesAny = (value: string) => expected.some((pattern) => compare(value, pattern));
  if (qualifier === 'ForAllValues') return values.every(matchesAny); // true when the key is absent, as in IAM
  if (qualifier === 'ForAnyValue') return values.some(matchesAny);
  if (qualifier !== undefined) throw new Error(`policy-eval: condition qualifier ${qualifier} is not supported`);
  if (!present || values.length !== 1) return false;
  return matchesAny(values[0] as string);
}

function statementApplies(st: Statement, req: Request): boolean {
  if (!list(st.Action).some((a) => wildcardMatch(a, req.action, true))) return false;
  if (!list(st.Resource).some((r) => wildcardMatch(r, req.resource))) return false;
  const context = req.context ?? {};
  for (const [operator, keys] of Object.entries(st.Condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      if (!conditionHolds(operator, key, list(expected), context)) return false;
    }
  }
  return true;
}

/** Would these statements (one role's identity policies) allow the request? */
export function allows(statements: readonly Statement[], req: Request): boolean {
  const applying = statements.filter((st) => statementApplies(st, req));
  return applying.some((st) => st.Effect === 'Allow') && !applying.some((st) => st.Effect === 'Deny');
}
