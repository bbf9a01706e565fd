// Builds the long-lived parts every process shares (data adapter, Redis, cache, wallet service,
// metrics, logger) from a Config, and closes them in order. Tests build the same thing against
// their own database and key prefix (test/support/context.ts).
import { BalanceCache } from '../cache/balance-cache';
import type { Config } from '../config';
import { createPool } from '../db/pool';
import { pgRpc, supabaseRpc, type Rpc } from '../db/rpc';
import { createLedgerStore, type LedgerStore } from '../ledger/ledger-store';
import { createLogger, type Logger } from '../logger';
import { createMetrics, type Metrics } from '../metrics';
import { createRedis, redisKeys, type RedisKeys, type RedisClient } from '../redis';
import { WalletService } from '../wallet/wallet-service';
import { createHoldsReader, type HoldsReader } from '../calls/holds';
import { createQueues, type Queues } from '../queues/queues';
import { createTwilioClient, type TwilioClient } from '../clients/twilio-client';
import { createVapiClient, type VapiClient } from '../clients/vapi-client';
import { createProvisioningStore, type ProvisioningStore } from '../provisioning/provisioning-store';
import { createCallServices, type CallServices } from '../calls/call-services';
import { createCallRates, type CallRates } from '../calls/call-rates';
import { createOutboundCalls, type OutboundCalls } from '../calls/outbound-calls';
import { createOutboundStore, type OutboundStore } from '../calls/outbound-store';
import { createSpendControlsStore, type SpendControlsStore } from '../wallet/spend-controls-store';
import { createStripeClient, type StripeClient } from '../clients/stripe-client';
import { createMoneyInStore, type MoneyInStore } from '../money-in/money-in-store';
import { createUsageStore, type UsageStore } from '../usage/usage-store';
import { createRentalStore, type RentalStore } from '../rental/rental-store';
import { createBillingClock, type BillingClock } from '../rental/billing-clock';

export interface Services {
  config: Config;
  log: Logger;
  metrics: Metrics;
  rpc: Rpc;
  store: LedgerStore;
  /** Fail-fast connection for request handlers. */
  redis: RedisClient;
  keys: RedisKeys;
  cache: BalanceCache;
  wallet: WalletService;
  holds: HoldsReader;
  /** Producers, on the fail-fast connection: an outage is a quick error, never a hung request. */
  queues: Queues;
  /** Provisioning: the request state machine (SQL) and the two third parties it calls. */
  provisioning: ProvisioningStore;
  twilio: TwilioClient;
  vapi: VapiClient;
  /** The call gate: admission, holds, reports, billing, the Vapi call client (issue 4). */
  calls: CallServices;
  /** Outbound calls (CONTRACT §10): their gate, placement and lost answers; the rate table and dialing permissions. */
  outbound: OutboundCalls;
  outboundStore: OutboundStore;
  /** The rate table, cached briefly in this process (GET /api/rates). */
  rates: CallRates;
  /** Spend controls and freezes (CONTRACT §8): operators' limits, wallet_freeze/unfreeze. */
  controls: SpendControlsStore;
  /** Money in (issue 11): the Stripe SDK and the top-up, recharge, alert and event SQL functions. */
  stripe: StripeClient;
  moneyIn: MoneyInStore;
  /** Usage at a glance (CONTRACT §12): daily usage, monthly statements, the calls list. */
  usage: UsageStore;
  /** Monthly number rental (issue 24): rents, the numbers' lifecycle, listing and release. */
  rental: RentalStore;
  /** The billing clock (shared by every process through Postgres; sandbox mode can move it). */
  billingClock: BillingClock;
  close(): Promise<void>;
}

export interface ServiceOverrides {
  log?: Logger;
  metrics?: Metrics;
  rpc?: Rpc;
  redis?: RedisClient;
  /** The call gate's clock (tests cross the UTC day boundary with it). */
  clock?: () => number;
}

export function createRpc(config: Config): Rpc {
  return config.data.kind === 'postgres'
    ? pgRpc(createPool(config.data.databaseUrl))
    : supabaseRpc(config.data.url, config.data.serviceRoleKey);
}

export function createServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const log = overrides.log ?? createLogger(config.logLevel);
  const metrics = overrides.metrics ?? createMetrics({ defaultMetrics: true });
  const rpc = overrides.rpc ?? createRpc(config);
  const redis = overrides.redis ?? createRedis(config.redis, 'fail-fast', 'api');
  const keys = redisKeys(config.redis.keyPrefix);
  const store = createLedgerStore(rpc);
  const cache = new BalanceCache(redis, keys, config.limits.balanceCacheTtlSeconds, metrics);
  const wallet = new WalletService(store, cache, metrics, log);
  const queues = createQueues(redis, keys.bullPrefixFor);
  const vapi = createVapiClient({ ...config.vapi, timeoutMs: config.callGate.vapiApiTimeoutMs });
  const rental = createRentalStore(rpc);
  const billingClock = createBillingClock({ store: rental, sandbox: config.sandbox.enabled, log });
  const calls = createCallServices({ config, rpc, redis, keys, wallet, queues, metrics, log, vapi, clock: overrides.clock, billingOffsetMs: billingClock.offsetMs });
  const outboundStore = createOutboundStore(rpc);
  const outbound = createOutboundCalls({ config, store: outboundStore, calls, vapi, metrics, log, clock: calls.clock });
  return {
    config,
    log,
    metrics,
    rpc,
    store,
    redis,
    keys,
    cache,
    wallet,
    holds: createHoldsReader(redis, keys, rpc, config.callGate.redisTimeoutMs),
    queues,
    provisioning: createProvisioningStore(rpc),
    twilio: createTwilioClient(config.twilio),
    vapi,
    calls,
    outbound,
    outboundStore,
    rates: createCallRates(outboundStore, config.pricing),
    controls: createSpendControlsStore(rpc),
    stripe: createStripeClient(config.stripe),
    moneyIn: createMoneyInStore(rpc),
    usage: createUsageStore(rpc),
    rental,
    billingClock,
    async close() {
      billingClock.close();
      // Pending hold records are written before the pool they need closes.
      await calls.close();
      await queues.close();
      wallet.close();
      // quit() fails when Redis is unreachable; disconnect() then stops the reconnect loop.
      await Promise.allSettled([rpc.close(), redis.quit().catch(() => redis.disconnect())]);
    },
  };
}
