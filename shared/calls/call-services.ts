// The call gate's long-lived parts, built once per process from the shared services.
import type { Redis } from 'ioredis';
import type { Config } from '../config';
import type { Rpc } from '../db/rpc';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { RedisKeys } from '../redis';
import type { WalletService } from '../wallet/wallet-service';
import type { Queues } from '../queues/queues';
import type { VapiCallsClient } from '../clients/vapi-client';
import type { CallBillingDeps } from './call-billing';
import { createCallGate, type CallGate } from './call-gate';
import type { CallReportDeps } from './call-reports';
import { createCallStore, type CallStore } from './call-store';
import { createNumberResolver, NUMBER_LOCAL_CACHE_MS } from './number-resolver';
import { StoreTimeoutError } from './timeout';
import { createRedisHolds, type RedisHolds } from './redis-holds';

export interface CallServices {
  store: CallStore;
  hot: RedisHolds;
  gate: CallGate;
  reports: CallReportDeps;
  billing: CallBillingDeps;
  vapiCalls: VapiCallsClient;
  /** Shutdown: writes the Redis-path holds still waiting for their batch. Await before the pool closes. */
  close(): Promise<void>;
}

export interface CallServiceParts {
  config: Config;
  rpc: Rpc;
  redis: Redis;
  keys: RedisKeys;
  wallet: WalletService;
  queues: Queues;
  metrics: Metrics;
  log: Logger;
  vapi: VapiCallsClient;
}

export function createCallServices(p: CallServiceParts): CallServices {
  const { config, metrics, log } = p;
  const store = createCallStore(p.rpc);
  const hot = createRedisHolds(p.redis, p.keys, config.limits.balanceCacheTtlSeconds);
  const numbers = createNumberResolver({
    redis: p.redis,
    keys: p.keys,
    store,
    ttlSeconds: config.callGate.numberCacheTtlSeconds,
    localCacheMs: NUMBER_LOCAL_CACHE_MS,
    redisTimeoutMs: config.callGate.redisTimeoutMs,
    databaseTimeoutMs: config.callGate.databaseTimeoutMs,
    onRedisFailure: (err) => metrics.fallbacks.inc({ gate: 'call', to: 'database', reason: err instanceof StoreTimeoutError ? 'redis_timeout' : 'redis_error' }),
  });
  const gate = createCallGate({ config, metrics, log, store, numbers, hot });
  const holdGraceSeconds = config.callGate.holdGraceSeconds;
  return {
    store,
    hot,
    gate,
    reports: { store, queues: p.queues, hot, log, metrics, holdGraceSeconds },
    billing: { store, wallet: p.wallet, hot, pricing: config.pricing, metrics, log, holdGraceSeconds },
    vapiCalls: p.vapi,
    close: () => gate.close(),
  };
}
