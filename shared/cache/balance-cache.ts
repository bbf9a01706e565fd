// The Redis copy of each wallet's balance: written through after every ledger change, filled on
// a miss, and never overwritten by an older version (two writers can finish in either order).
import type { Redis } from 'ioredis';
import type { Metrics } from '../metrics';
import type { RedisKeys } from '../redis';

export interface CachedBalance {
  balance: number;
  version: number;
  currency: string;
  /** Frozen wallets admit no call (CONTRACT §8). Undefined = this snapshot does not say: the cached flag stays. */
  frozen?: boolean;
}

/** The frozen argument of the cache scripts: '1', '0', or '' when the snapshot does not say. */
export const frozenArg = (frozen: boolean | undefined): string => (frozen === undefined ? '' : frozen ? '1' : '0');

/*
 * wallet_cache_put
 * KEYS[1]  the wallet hash
 * ARGV     version, balance, currency, ttl in ms, frozen ('1' | '0' | '' = unknown, leave as is)
 * Returns  1 when stored, 0 when the cache already holds this version or a newer one.
 * Effects  replaces balance/version/currency (and frozen when known) and resets the TTL; leaves
 *          other fields alone.
 */
export const WALLET_CACHE_PUT_LUA = `
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'balance', ARGV[2], 'currency', ARGV[3])
if ARGV[5] == '1' or ARGV[5] == '0' then redis.call('HSET', KEYS[1], 'frozen', ARGV[5]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

type WithPut = Redis & { walletCachePut(key: string, version: number, balance: number, currency: string, ttlMs: number, frozen: string): Promise<number> };

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
    const stored = await this.redis.walletCachePut(this.keys.wallet(orgId), snap.version, snap.balance, snap.currency, this.ttlSeconds * 1000, frozenArg(snap.frozen));
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
