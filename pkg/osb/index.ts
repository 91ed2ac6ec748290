export * from './types';
export * from './errors';
export { OSBMetrics, type OSBOutcome } from './metrics';
export { parseRetryAfter } from './retry-after';
export {
  OSBClient,
  originatingIdentityHeader,
  type BrokerAuth,
  type CallOptions,
  type DeleteOptions,
  type GetOptions,
  type MutateOptions,
  type OSBClientOptions,
  type PollOptions,
} from './client';
