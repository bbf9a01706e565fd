// The hot copy of the holds, per organisation, next to the cached wallet hash (keys.wallet(orgId),
// written by shared/cache/balance-cache.ts). All keys carry the {orgId} hash tag, so each script
// below touches one slot and runs atomically:
//   H = keys.holds(orgId)            hash   call id → "<state>|<amount>|<maxDurationSeconds>|<expiresAtMs>"
//   E = keys.holds(orgId) + ':expiry' zset   call id → expiresAtMs (finds expired entries in O(log n))
//   S = keys.holds(orgId) + ':sum'   string  Σ amount of the entries in state h
// state h (held) counts against the balance; r (released) is remembered until it expires, so a
// repeated assistant-request for the call gets the same answer and no second hold. Keeping S and
// E makes an admission cost O(log n + expired) rather than a scan of every call in progress.

import type { Redis } from 'ioredis';
import { VAPI_MAX_DURATION_SECONDS, VAPI_MIN_DURATION_SECONDS } from '../pricing';
import type { RedisKeys } from '../redis';
import type { HoldStep, StoredHold } from './call-store';

// Shared by the scripts below (prepended to each). Not a script of its own.
const LUA_LIB = `
local function extend(ms)
  for i = 2, 4 do
    if redis.call('PTTL', KEYS[i]) < ms then redis.call('PEXPIRE', KEYS[i], ms) end
  end
end
local function sum_from_scratch()
  local entries = redis.call('HGETALL', KEYS[2])
  local held = 0
  for i = 2, #entries, 2 do
    local state, amount = string.match(entries[i], '^([hr])|(%d+)|')
    if state == 'h' then held = held + tonumber(amount) end
  end
  -- Stored only beside an existing hash, and no longer than it lives (no key per idle org).
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('SET', KEYS[4], string.format('%.0f', held), 'PX', ttl) end
  return held
end
local function purge(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
  for _, id in ipairs(expired) do
    local v = redis.call('HGET', KEYS[2], id)
    if v then
      local state, amount = string.match(v, '^([hr])|(%d+)|')
      if state == 'h' then redis.call('DECRBY', KEYS[4], amount) end
      redis.call('HDEL', KEYS[2], id)
    end
    redis.call('ZREM', KEYS[3], id)
  end
  local held = tonumber(redis.call('GET', KEYS[4]) or '-1')
  -- Missing (expired or never written) or inconsistent: rebuild from the hash.
  if held < 0 then held = sum_from_scratch() end
  return held
end
`;

// The hold policy of shared/calls/hold-policy.ts over shared/pricing.ts, so that one script call
// can probe, plan and hold. Not a second source of prices: every price and bound comes in as an
// argument from Config.pricing and pricing.ts, and Lua numbers are IEEE doubles like JavaScript's,
// so the same floor/ceil over the same operands gives the same integers (test/calls proves the
// result equal to planHold() for many inputs). Returns amount, seconds; or nil when refused.
export const LUA_PLAN = `
local function plan_hold(available, rate, min_balance, margin, min_seconds, max_seconds)
  if available < min_balance then return nil end
  local affordable = math.floor((math.max(available, 0) * 60) / rate) - margin
  local seconds = math.min(max_seconds, math.max(min_seconds, affordable))
  local amount = math.max(math.ceil((seconds * rate) / 60), min_balance)
  if amount > available then return nil end
  return amount, seconds
end
`;

/*
 * call_gate_plan (for tests: the plan alone, no keys)
 * ARGV     available, rate per minute, CALL_MIN_BALANCE, safety margin (s), Vapi min, max (s)
 * Returns  {amount, seconds} or {} when refused.
 */
export const CALL_GATE_PLAN_LUA = LUA_PLAN + `
local amount, seconds = plan_hold(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
if not amount then return {} end
return {string.format('%.0f', amount), string.format('%.0f', seconds)}
`;

/*
 * call_gate_decide: the whole Redis-side admission in one call (probe, plan, hold).
 * KEYS     wallet hash, H, E, S (see above)
 * ARGV     call id, now (ms), rate per minute, CALL_MIN_BALANCE, safety margin (s),
 *          hold grace (s), Vapi's min and max duration (s)
 * Returns  {'miss'}                                        wallet not cached
 *          {'existing', amount, maxDuration, 'held'|'released'}   this call already has an entry
 *          {'available', available}                        refused: not enough for any hold
 *          {'held', amount, maxDuration, availableAfter, expiresAtMs}   hold placed
 * Effects  removes expired entries; places at most one hold per call id,
 *          expiring at now + (maxDuration + grace) s; keeps H, E and S alive until it expires.
 */
export const CALL_GATE_DECIDE_LUA = LUA_LIB + LUA_PLAN + `
local balance = redis.call('HGET', KEYS[1], 'balance')
if not balance then return {'miss'} end
local now = tonumber(ARGV[2])
local held = purge(now)
local value = redis.call('HGET', KEYS[2], ARGV[1])
if value then
  local state, amount, maxd = string.match(value, '^([hr])|(%d+)|(%d+)|')
  if state then
    local name = 'held'
    if state == 'r' then name = 'released' end
    return {'existing', amount, maxd, name}
  end
end
local available = tonumber(balance) - held
local amount, seconds = plan_hold(available, tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7]), tonumber(ARGV[8]))
if not amount then return {'available', string.format('%.0f', available)} end
local expires = now + (seconds + tonumber(ARGV[6])) * 1000
local a, s, e = string.format('%.0f', amount), string.format('%.0f', seconds), string.format('%.0f', expires)
redis.call('HSET', KEYS[2], ARGV[1], 'h|' .. a .. '|' .. s .. '|' .. e)
redis.call('ZADD', KEYS[3], e, ARGV[1])
redis.call('INCRBY', KEYS[4], a)
extend(expires - now)
return {'held', a, s, string.format('%.0f', available - amount), e}
`;

/*
 * call_gate_release
 * KEYS     wallet hash (unused), H, E, S
 * ARGV     call id, now (ms), keep-until (ms) for the released entry
 * Returns  1 when a held entry was released, 0 otherwise.
 * Effects  turns the call's held entry into a released one (it stops counting in S) that expires
 *          at keep-until; leaves unknown calls alone.
 */
export const CALL_GATE_RELEASE_LUA = LUA_LIB + `
local now = tonumber(ARGV[2])
purge(now)
local value = redis.call('HGET', KEYS[2], ARGV[1])
if not value then return 0 end
local state, amount, maxd = string.match(value, '^([hr])|(%d+)|(%d+)|')
if state ~= 'h' then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], 'r|' .. amount .. '|' .. maxd .. '|' .. ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('DECRBY', KEYS[4], amount)
extend(tonumber(ARGV[3]) - now)
return 1
`;

/*
 * call_gate_fill
 * KEYS     wallet hash, H, E, S
 * ARGV     version, balance, currency, wallet ttl (ms), now (ms), then per hold from Postgres:
 *          call id, amount, max duration (s), expiry (ms)
 * Returns  1 when the wallet was stored, 0 when the cache already held this version or newer.
 * Effects  the wallet as in balance-cache.ts (never replaced by an older version); each
 *          unexpired Postgres hold added unless Redis already has an entry for that call
 *          (Redis's own entry, held or released, is newer knowledge).
 */
export const CALL_GATE_FILL_LUA = LUA_LIB + `
local stored = 0
local current = redis.call('HGET', KEYS[1], 'version')
if not current or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'version', ARGV[1], 'balance', ARGV[2], 'currency', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  stored = 1
end
local now = tonumber(ARGV[5])
purge(now)
for i = 6, #ARGV, 4 do
  local exp = tonumber(ARGV[i + 3])
  if exp > now and redis.call('HSETNX', KEYS[2], ARGV[i], 'h|' .. ARGV[i + 1] .. '|' .. ARGV[i + 2] .. '|' .. ARGV[i + 3]) == 1 then
    redis.call('ZADD', KEYS[3], exp, ARGV[i])
    redis.call('INCRBY', KEYS[4], ARGV[i + 1])
    extend(exp - now)
  end
end
return stored
`;

/*
 * call_gate_held
 * KEYS     wallet hash (unused), H, E, S
 * ARGV     now (ms)
 * Returns  the sum of the unexpired held amounts (as a string).
 * Effects  removes expired entries (as every script here does).
 */
export const CALL_GATE_HELD_LUA = LUA_LIB + `
return string.format('%.0f', purge(tonumber(ARGV[1])))
`;

type Keys = [wallet: string, holds: string, expiry: string, sum: string];
type Commands = {
  callGateDecide(...args: [...Keys, ...Array<string | number>]): Promise<string[]>;
  callGateRelease(...args: [...Keys, callId: string, nowMs: number, keepUntilMs: number]): Promise<number>;
  callGateFill(...args: [...Keys, ...Array<string | number>]): Promise<number>;
  callGateHeld(...args: [...Keys, nowMs: number]): Promise<string>;
};

function withCommands(redis: Redis): Redis & Commands {
  if (!('callGateDecide' in redis)) {
    redis.defineCommand('callGateDecide', { numberOfKeys: 4, lua: CALL_GATE_DECIDE_LUA });
    redis.defineCommand('callGateRelease', { numberOfKeys: 4, lua: CALL_GATE_RELEASE_LUA });
    redis.defineCommand('callGateFill', { numberOfKeys: 4, lua: CALL_GATE_FILL_LUA });
    redis.defineCommand('callGateHeld', { numberOfKeys: 4, lua: CALL_GATE_HELD_LUA });
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
      throw new Error(`invariant violated: call_gate_decide returned ${JSON.stringify(reply)}`);
  }
}

/** What the decide script needs to plan a hold: Config.pricing and the gate's settings. */
export interface HoldTerms {
  ratePerMinute: number;
  minBalance: number;
  safetyMarginSeconds: number;
  holdGraceSeconds: number;
}

export type RedisDecision =
  | Exclude<RedisHoldStep, { outcome: 'held' }>
  | { outcome: 'held'; hold_amount: number; max_duration_seconds: number; available: number; expires_at_ms: number };

export interface WalletFill {
  balance: number;
  version: number;
  currency: string;
  holds: StoredHold[];
}

export function createRedisHolds(redis: Redis, keys: RedisKeys, walletTtlSeconds: number) {
  const r = withCommands(redis);
  const k = (orgId: string): Keys => {
    const holds = keys.holds(orgId);
    return [keys.wallet(orgId), holds, `${holds}:expiry`, `${holds}:sum`];
  };
  return {
    /** Probe, plan and hold in one atomic call (see call_gate_decide). */
    async decide(orgId: string, callId: string, t: HoldTerms, nowMs = Date.now()): Promise<RedisDecision> {
      const reply = await r.callGateDecide(...k(orgId), callId, nowMs, t.ratePerMinute, t.minBalance, t.safetyMarginSeconds, t.holdGraceSeconds, VAPI_MIN_DURATION_SECONDS, VAPI_MAX_DURATION_SECONDS);
      if (reply[0] === 'held') {
        const [, a, b, c, e] = reply;
        return { outcome: 'held', hold_amount: Number(a), max_duration_seconds: Number(b), available: Number(c), expires_at_ms: Number(e) };
      }
      const step = toStep(reply);
      if (step.outcome === 'held') throw new Error('invariant violated: call_gate_decide returned a hold without its expiry');
      return step;
    },
    async release(orgId: string, callId: string, keepUntilMs: number, nowMs = Date.now()): Promise<boolean> {
      return (await r.callGateRelease(...k(orgId), callId, nowMs, keepUntilMs)) === 1;
    },
    async fill(orgId: string, snap: WalletFill, nowMs = Date.now()): Promise<boolean> {
      const holdArgs = snap.holds.flatMap((h) => [h.call_id, h.amount, h.max_duration_seconds, h.expires_at_ms]);
      const stored = await r.callGateFill(...k(orgId), snap.version, snap.balance, snap.currency, walletTtlSeconds * 1000, nowMs, ...holdArgs);
      return stored === 1;
    },
    async held(orgId: string, nowMs = Date.now()): Promise<number> {
      return Number(await r.callGateHeld(...k(orgId), nowMs));
    },
  };
}

export type RedisHolds = ReturnType<typeof createRedisHolds>;
