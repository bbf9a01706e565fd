// The Redis copy of each wallet's balance: written through after every ledger change, filled on
// a miss, and never overwritten by an older version (two writers can finish in either order).
import { join } from 'node:path';
import { loadLuaScript } from '../load-lua-script';
import type { Metrics } from '../metrics';
import type { RedisClient, RedisKeys } from '../redis';
import { controlsArgs, type WalletControls } from '../wallet/wallet-controls';

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


// The version-guarded write (KEYS, ARGV and effects in its header), read once at module load.
const WALLET_CACHE_PUT = loadLuaScript(join(__dirname, 'wallet-cache-put-1.lua'));

type WithPut = RedisClient & { walletCachePut(key: string, version: number, balance: number, currency: string, ttlMs: number, ...controls: Array<string | number>): Promise<number> };

export class BalanceCache {
  private readonly redis: WithPut;

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
    private readonly metrics: Metrics,
  ) {
    if (!('walletCachePut' in redis)) redis.defineCommand('walletCachePut', WALLET_CACHE_PUT);
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
