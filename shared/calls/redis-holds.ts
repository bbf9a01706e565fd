// The hot copy of the holds: one Redis hash per organisation (keys.holds(orgId)), next to the
// cached wallet hash (keys.wallet(orgId), written by shared/cache/balance-cache.ts). Both keys
// carry the {orgId} hash tag, so each script below touches one slot and runs atomically.
//
// A hold entry is  field = call id,  value = "<state>|<amount>|<maxDurationSeconds>|<expiresAtMs>"
// with state h (held: counts against the balance) or r (released: remembered until it expires,
// so a repeated assistant-request for the call gets the same answer and no second hold).
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis';
import type { HoldStep, StoredHold } from './call-store';

/*
 * call_gate_admit
 * KEYS[1]  wallet hash {balance, version, currency}      KEYS[2]  holds hash of the same org
 * ARGV     call id, now (ms), hold amount ('' = probe only), max duration (s), hold expiry (ms),
 *          CALL_MIN_BALANCE
 * Returns  {'miss'}                                        wallet not cached
 *          {'existing', amount, maxDuration, 'held'|'released'}   this call already has an entry
 *          {'available', available}                        probe, or available < max(amount, min)
 *          {'held', amount, maxDuration, availableAfter}   hold placed
 * Effects  deletes expired or unreadable entries; places at most one hold per call id; keeps
 *          the holds key alive at least until its newest hold expires.
 */
export const CALL_GATE_ADMIT_LUA = `
local balance = redis.call('HGET', KEYS[1], 'balance')
if not balance then return {'miss'} end
local now = tonumber(ARGV[2])
local entries = redis.call('HGETALL', KEYS[2])
local held = 0
local existing = nil
for i = 1, #entries, 2 do
  local state, amount, maxd, exp = string.match(entries[i + 1], '^([hr])|(%d+)|(%d+)|(%d+)$')
  if not state or tonumber(exp) <= now then
    redis.call('HDEL', KEYS[2], entries[i])
  else
    if entries[i] == ARGV[1] then existing = {state, amount, maxd} end
    if state == 'h' then held = held + tonumber(amount) end
  end
end
if existing then
  local state = 'held'
  if existing[1] == 'r' then state = 'released' end
  return {'existing', existing[2], existing[3], state}
end
local available = tonumber(balance) - held
if ARGV[3] == '' or available < math.max(tonumber(ARGV[3]), tonumber(ARGV[6])) then
  return {'available', string.format('%.0f', available)}
end
redis.call('HSET', KEYS[2], ARGV[1], 'h|' .. ARGV[3] .. '|' .. ARGV[4] .. '|' .. ARGV[5])
local want = tonumber(ARGV[5]) - now
if redis.call('PTTL', KEYS[2]) < want then redis.call('PEXPIRE', KEYS[2], want) end
return {'held', ARGV[3], ARGV[4], string.format('%.0f', available - tonumber(ARGV[3]))}
`;

/*
 * call_gate_release
 * KEYS[1]  holds hash       ARGV  call id, now (ms), keep-until (ms) for the released entry
 * Returns  1 when a held entry was released, 0 otherwise.
 * Effects  turns the call's entry into a released one (it stops counting) that expires at
 *          keep-until; leaves unknown calls alone.
 */
export const CALL_GATE_RELEASE_LUA = `
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return 0 end
local state, amount, maxd = string.match(value, '^([hr])|(%d+)|(%d+)|')
if state ~= 'h' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], 'r|' .. amount .. '|' .. maxd .. '|' .. ARGV[3])
local want = tonumber(ARGV[3]) - tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < want then redis.call('PEXPIRE', KEYS[1], want) end
return 1
`;

/*
 * call_gate_fill
 * KEYS[1]  wallet hash      KEYS[2]  holds hash
 * ARGV     version, balance, currency, wallet ttl (ms), now (ms), then per hold from Postgres:
 *          call id, amount, max duration (s), expiry (ms)
 * Returns  1 when the wallet was stored, 0 when the cache already held this version or newer.
 * Effects  the wallet as in balance-cache.ts (never replaced by an older version); each
 *          unexpired Postgres hold added unless Redis already has an entry for that call
 *          (Redis's own entry, held or released, is newer knowledge).
 */
export const CALL_GATE_FILL_LUA = `
local stored = 0
local current = redis.call('HGET', KEYS[1], 'version')
if not current or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'version', ARGV[1], 'balance', ARGV[2], 'currency', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  stored = 1
end
local now = tonumber(ARGV[5])
for i = 6, #ARGV, 4 do
  local exp = tonumber(ARGV[i + 3])
  if exp > now then
    redis.call('HSETNX', KEYS[2], ARGV[i], 'h|' .. ARGV[i + 1] .. '|' .. ARGV[i + 2] .. '|' .. ARGV[i + 3])
    if redis.call('PTTL', KEYS[2]) < exp - now then redis.call('PEXPIRE', KEYS[2], exp - now) end
  end
end
return stored
`;

/*
 * call_gate_held
 * KEYS[1]  holds hash       ARGV  now (ms)
 * Returns  the sum of the unexpired held amounts (as a string).
 * Effects  none.
 */
export const CALL_GATE_HELD_LUA = `
local now = tonumber(ARGV[1])
local entries = redis.call('HGETALL', KEYS[1])
local held = 0
for i = 2, #entries, 2 do
  local state, amount, exp = string.match(entries[i], '^([hr])|(%d+)|%d+|(%d+)$')
  if state == 'h' and tonumber(exp) > now then held = held + tonumber(amount) end
end
return string.format('%.0f', held)
`;

type Commands = {
  callGateAdmit(wallet: string, holds: string, ...args: Array<string | number>): Promise<string[]>;
  callGateRelease(holds: string, callId: string, nowMs: number, keepUntilMs: number): Promise<number>;
  callGateFill(wallet: string, holds: string, ...args: Array<string | number>): Promise<number>;
  callGateHeld(holds: string, nowMs: number): Promise<string>;
};

function withCommands(redis: Redis): Redis & Commands {
  if (!('callGateAdmit' in redis)) {
    redis.defineCommand('callGateAdmit', { numberOfKeys: 2, lua: CALL_GATE_ADMIT_LUA });
    redis.defineCommand('callGateRelease', { numberOfKeys: 1, lua: CALL_GATE_RELEASE_LUA });
    redis.defineCommand('callGateFill', { numberOfKeys: 2, lua: CALL_GATE_FILL_LUA });
    redis.defineCommand('callGateHeld', { numberOfKeys: 1, lua: CALL_GATE_HELD_LUA });
  }
  return redis as Redis & Commands;
}

export type RedisHoldStep = HoldStep | { outcome: 'miss' };

function toStep(reply: string[]): RedisHoldStep {
  const [kind, a, b, c] = reply;
  switch (kind) {
    case 'miss':
      return { outcome: 'miss' };
    case 'existing':
      return { outcome: 'existing', hold_amount: Number(a), max_duration_seconds: Number(b), hold_state: c === 'released' ? 'released' : 'held' };
    case 'available':
      return { outcome: 'available', available: Number(a) };
    case 'held':
      return { outcome: 'held', hold_amount: Number(a), max_duration_seconds: Number(b), available: Number(c) };
    default:
      throw new Error(`invariant violated: call_gate_admit returned ${JSON.stringify(reply)}`);
  }
}

export interface WalletFill {
  balance: number;
  version: number;
  currency: string;
  holds: StoredHold[];
}

export function createRedisHolds(redis: Redis, keys: RedisKeys, walletTtlSeconds: number) {
  const r = withCommands(redis);
  return {
    /** One atomic admission step (see call_gate_admit). amount null = probe. */
    async step(orgId: string, callId: string, amount: number | null, maxDurationSeconds: number, expiresAtMs: number, minBalance: number, nowMs = Date.now()): Promise<RedisHoldStep> {
      const reply = await r.callGateAdmit(keys.wallet(orgId), keys.holds(orgId), callId, nowMs, amount ?? '', maxDurationSeconds, expiresAtMs, minBalance);
      return toStep(reply);
    },
    async release(orgId: string, callId: string, keepUntilMs: number, nowMs = Date.now()): Promise<boolean> {
      return (await r.callGateRelease(keys.holds(orgId), callId, nowMs, keepUntilMs)) === 1;
    },
    async fill(orgId: string, snap: WalletFill, nowMs = Date.now()): Promise<boolean> {
      const holdArgs = snap.holds.flatMap((h) => [h.call_id, h.amount, h.max_duration_seconds, h.expires_at_ms]);
      const stored = await r.callGateFill(keys.wallet(orgId), keys.holds(orgId), snap.version, snap.balance, snap.currency, walletTtlSeconds * 1000, nowMs, ...holdArgs);
      return stored === 1;
    },
    async held(orgId: string, nowMs = Date.now()): Promise<number> {
      return Number(await r.callGateHeld(keys.holds(orgId), nowMs));
    },
  };
}

export type RedisHolds = ReturnType<typeof createRedisHolds>;
