// The Redis copy of each wallet's balance: written through after every ledger change, filled on
// a miss, and never overwritten by an older version (two writers can finish in either order).
import type { Redis } from 'ioredis';
import type { Metrics } from '../metrics';
import type { RedisKeys } from '../redis';
import { controlsArgs, LUA_CONTROL_FIELDS, type WalletControls } from '../wallet/wallet-controls';

export interface CachedBalance {
  balance: number;
  version: number;
  currency: string;
  /**
   * The spend controls at this version (shared/wallet/wallet-controls.ts). A snapshot without
   * them removes the cached ones, so the gate misses and fills from Postgres: never a balance
   * of one version beside the daily spend or limits of another.
   */
  controls?: WalletControls | undefined;
}


/*
 * wallet_cache_put
 * KEYS[1]  the wallet hash
 * ARGV     version, balance, currency, ttl in ms, then optionally the controls (controlsArgs():
 *          frozen, spend_day, spend, lim_cc, lim_daily, lim_secs)
 * Returns  1 when stored, 0 when the cache already holds this version or a newer one (the same
 *          version is stored again only to add controls it lacks).
 * Effects  replaces balance/version/currency and the controls (or removes the controls when
 *          none are given: the gate then misses and fills) and resets the TTL; leaves the rest.
 */
export const WALLET_CACHE_PUT_LUA = `
local current = redis.call('HGET', KEYS[1], 'version')
if current then
  local c, v = tonumber(current), tonumber(ARGV[1])
  if c > v then return 0 end
  if c == v and (#ARGV < 10 or redis.call('HEXISTS', KEYS[1], 'spend_day') == 1) then return 0 end
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'balance', ARGV[2], 'currency', ARGV[3])
if #ARGV >= 10 then
  redis.call('HSET', KEYS[1], 'frozen', ARGV[5], 'spend_day', ARGV[6], 'spend', ARGV[7], 'lim_cc', ARGV[8], 'lim_daily', ARGV[9], 'lim_secs', ARGV[10])
else
  redis.call('HDEL', KEYS[1], ${LUA_CONTROL_FIELDS})
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

type WithPut = Redis & { walletCachePut(key: string, version: number, balance: number, currency: string, ttlMs: number, ...controls: Array<string | number>): Promise<number> };

export class BalanceCache {
  private readonly redis: WithPut;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
    private readonly metrics: Metrics,
  ) {
    if (!('walletCachePut' in redis)) redis.defineCommand('walletCachePut', { numberOfKeys: 1, lua: WALLET_CACHE_PUT_LUA });
    this.redis = redis as WithPut;
  }

  /** Stores the snapshot unless a newer one is cached. Returns whether it was stored. */
  async put(orgId: string, snap: CachedBalance): Promise<boolean> {
    const controls = snap.controls === undefined ? [] : controlsArgs(snap.controls);
    const stored = await this.redis.walletCachePut(this.keys.wallet(orgId), snap.version, snap.balance, snap.currency, this.ttlSeconds * 1000, ...controls);
    this.metrics.balanceCache.inc({ result: stored === 1 ? 'write' : 'stale' });
    return stored === 1;
  }

  /** Removes the cached wallet, so that the next read misses and fills from Postgres. */
  async invalidate(orgId: string): Promise<void> {
    await this.redis.del(this.keys.wallet(orgId));
  }

  /** Calls `listener` every time the connection is (re)established and ready for commands. */
  onReady(listener: () => void): () => void {
    this.redis.on('ready', listener);
    return () => {
      this.redis.off('ready', listener);
    };
  }

  async get(orgId: string): Promise<CachedBalance | undefined> {
    const h = await this.redis.hmget(this.keys.wallet(orgId), 'balance', 'version', 'currency');
    const [balance, version, currency] = h;
    if (balance === null || balance === undefined || version === null || version === undefined || !currency) {
      this.metrics.balanceCache.inc({ result: 'miss' });
      return undefined;
    }
    this.metrics.balanceCache.inc({ result: 'hit' });
    return { balance: Number(balance), version: Number(version), currency };
  }
}
