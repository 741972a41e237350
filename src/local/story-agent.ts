/**
 * The story agent as the local platform runs it: on Strands, with the local web search engines
 * (the offline index too). Apart from `platform.ts` so that processes that serve no agent (most
 * tests) never load the agent framework.
 */
import { strandsAgent } from '../../agent/strands-runner';
import type { AgentWiring } from '../platform/agent-wiring';
import type { Config } from '../platform/config';
import { LOCAL_SEARCH } from './providers';

export function localStoryAgent(config: Config, engine?: string): AgentWiring {
  return strandsAgent(config, engine, LOCAL_SEARCH);
}
