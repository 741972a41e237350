/**
 * Which Bedrock model ids each region offers (on-demand foundation models and system-defined
 * cross-region inference profiles), for the models this project's environment files and the
 * application's defaults use (src/platform/config.ts DEFAULT_MODELS, the image model, the agent
 * model). The environment schema rejects a model a stack's region does not offer, so a typo or a
 * region without the model fails at synth instead of as AccessDenied/ValidationException at run time.
 *
 * Source: the Bedrock user guide's "Supported foundation models in Amazon Bedrock" and
 * "Supported Regions and models for inference profiles" tables. AWS adds regions over time: to use
 * a model somewhere new, add it here (a test checks every profile routes only inside its geography).
 */

/** A system-defined cross-region inference profile: where it may be called from, and the regions it routes requests to. */
export interface ProfileEntry {
  /** The regions that offer the profile (where the stack may call it). */
  sources: readonly string[];
  /** The regions the profile routes to (where the foundation model then runs). */
  destinations: readonly string[];
}

const US = ['us-east-1', 'us-east-2', 'us-west-2'] as const;
const EU = ['eu-central-1', 'eu-west-1', 'eu-west-3', 'eu-north-1'] as const;

/** Foundation model id -> the regions that offer it on demand (invoked by its own ARN). */
export const FOUNDATION_MODELS: Readonly<Record<string, readonly string[]>> = {
  'amazon.nova-pro-v1:0': ['us-east-1'],
  'amazon.nova-lite-v1:0': ['us-east-1'],
  'amazon.nova-micro-v1:0': ['us-east-1'],
  // Image models (STORY42_BEDROCK_IMAGE_MODEL): the application speaks TEXT_IMAGE / IMAGE_VARIATION, which both take.
  'amazon.nova-canvas-v1:0': ['us-east-1', 'eu-west-1', 'ap-northeast-1'],
  'amazon.titan-image-generator-v2:0': ['us-east-1', 'us-west-2'],
  'openai.gpt-oss-120b-1:0': ['us-west-2'],
  'openai.gpt-oss-20b-1:0': ['us-west-2'],
  'anthropic.claude-3-5-sonnet-20241022-v2:0': ['us-west-2'],
};

/** Inference profile id (`<geography>.<model id>`) -> where it is offered and where it routes. */
export const INFERENCE_PROFILES: Readonly<Record<string, ProfileEntry>> = {
  'us.amazon.nova-pro-v1:0': { sources: US, destinations: US },
  'us.amazon.nova-lite-v1:0': { sources: US, destinations: US },
  'us.amazon.nova-micro-v1:0': { sources: US, destinations: US },
  'eu.amazon.nova-pro-v1:0': { sources: EU, destinations: EU },
  'eu.amazon.nova-lite-v1:0': { sources: EU, destinations: EU },
  'eu.amazon.nova-micro-v1:0': { sources: EU, destinations: EU },
  'us.openai.gpt-oss-120b-1:0': { sources: US, destinations: US },
  'us.anthropic.claude-3-5-sonnet-20241022-v2:0': { sources: US, destinations: US },
};

/** Does `region` offer this bare Bedrock id (a foundation model or an inference profile)? */
export function offeredIn(region: string, id: string): boolean {
  return (FOUNDATION_MODELS[id]?.includes(region) ?? false) || (INFERENCE_PROFILES[id]?.sources.includes(region) ?? false);
}

/** The ids this region offers, for error messages. */
export function modelsOfferedIn(region: string): string[] {
  return [...Object.keys(FOUNDATION_MODELS), ...Object.keys(INFERENCE_PROFILES)].filter((id) => offeredIn(region, id)).sort();
}
