// The hot copy of the holds, per organisation, next to the cached wallet hash (keys.wallet(orgId),
// written by shared/cache/balance-cache.ts). All keys carry the {orgId} hash tag, so each script
// below touches one slot and runs atomically — except call_gate_decide's due set of first
// renewals (keys.meterDue), one key for every organisation (fine on one Redis; Cluster would need
// it per slot):
//   H = keys.holds(orgId)            hash   call id → "<state>|<amount>|<maxDuration s>|<expiresAtMs>|<admittedAtMs>|<cap>|<slices>"
//   E = keys.holds(orgId) + ':expiry' zset   call id → expiresAtMs (finds expired entries in O(log n))
//   S = keys.holds(orgId) + ':sum'   string  Σ amount of the entries that count (states h and e)
// States: h (held: the call is live; a metered hold is renewed), e (ended: its status-update
// "ended" came and the hold was sized to the time used; it counts until the charge replaces it),
// r (released: the charge is posted; remembered until it expires, so a repeated
// assistant-request for the call gets the same answer and no second hold). Keeping S and E makes
// an admission cost O(log n + expired) rather than a scan of every call in progress.
import type { Redis } from 'ioredis';
import { VAPI_MAX_DURATION_SECONDS, VAPI_MIN_DURATION_SECONDS } from '../pricing';
import type { RedisKeys } from '../redis';
import type { ControlRefusal, HoldStep, StoredHold } from './call-store';
import { controlsArgs, type LimitName, type WalletControls } from '../wallet/wallet-controls';
import { renewalLeadSeconds } from './hold-policy';

/**
 * n(x): a number as the decimal integer the hold entries and replies carry (Lua's own tostring
 * turns a millisecond timestamp into 1.8e+12). '%.0f' is right for any value but goes through
 * glibc's arbitrary-precision float printing, ≈ 15% of Redis's CPU on the cache path (`perf`,
 * bench a; about 20 calls per admission). Every value the scripts format is a whole number far
 * inside ±1e15, which '%d' (a C long in Redis's Lua) prints identically and cheaply; any other
 * value still goes through '%.0f'. The one difference is −0, now "0" (parse() reads no sign).
 * test/calls/lua-number-format.test.ts proves the two agree.
 */
export const LUA_NUMBER_FORMAT = `
local function n(x)
  if x == math.floor(x) and x > -1e15 and x < 1e15 then return string.format('%d', x) end
  return string.format('%.0f', x)
end
`;

// Shared by the scripts below (prepended to each). Not a script of its own.
const LUA_LIB = LUA_NUMBER_FORMAT + `
local function parse(v)
  if not v then return nil end
  local s, a, m, x, t, c, k = string.match(v, '^([her])|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)$')
  if not s then return nil end
  return {state = s, amount = tonumber(a), maxd = tonumber(m), expires = tonumber(x),
          admitted = tonumber(t), cap = tonumber(c), slices = tonumber(k)}
end
local function fmt(e)
  return e.state .. '|' .. n(e.amount) .. '|' .. n(e.maxd) .. '|' .. n(e.expires) .. '|' ..
         n(e.admitted) .. '|' .. n(e.cap) .. '|' .. n(e.slices)
end
local function counts(e) return e and (e.state == 'h' or e.state == 'e') end
local function extend(ms)
  for i = 2, 4 do
    if redis.call('PTTL', KEYS[i]) < ms then redis.call('PEXPIRE', KEYS[i], ms) end
  end
end
local function sum_from_scratch()
  local entries = redis.call('HGETALL', KEYS[2])
  local held = 0
  for i = 2, #entries, 2 do
    local e = parse(entries[i])
    if counts(e) then held = held + e.amount end
  end
  -- Stored only beside an existing hash, and no longer than it lives (no key per idle org).
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('SET', KEYS[4], n(held), 'PX', ttl) end
  return held
end
local function purge(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
  for _, id in ipairs(expired) do
    local e = parse(redis.call('HGET', KEYS[2], id))
    if counts(e) then redis.call('DECRBY', KEYS[4], n(e.amount)) end
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
  end
  local held = tonumber(redis.call('GET', KEYS[4]) or '-1')
  -- Missing (expired or never written) or inconsistent: rebuild from the hash.
  if held < 0 then held = sum_from_scratch() end
  return held
end
-- Moves an entry's amount to new_amount, keeping S in step.
local function resize(id, e, new_amount)
  redis.call('INCRBY', KEYS[4], n(new_amount - e.amount))
  e.amount = new_amount
  redis.call('HSET', KEYS[2], id, fmt(e))
end
-- The wallet's balance and spend controls at now (the hash fields of balance-cache.ts), or nil
-- when the wallet or its controls are not cached (the caller fills from Postgres: a miss). 'now'
-- here only picks the UTC day of the daily spend: the billing clock's (now + its offset).
local function wallet(now)
  local w = redis.call('HMGET', KEYS[1], 'balance', 'frozen', 'spend_day', 'spend', 'lim_cc', 'lim_daily', 'lim_secs')
  if not w[1] or not w[3] or not w[7] then return nil end
  local spent = 0
  if tonumber(w[3]) == math.floor(now / 86400000) then spent = tonumber(w[4]) end
  return {balance = tonumber(w[1]), frozen = w[2] == '1', spent = spent,
          cc = tonumber(w[5]), daily = tonumber(w[6]), secs = tonumber(w[7])}
end
-- Live calls (state h) admitted before entry e of call id (all of them when e is nil). A scan of
-- the organisation's entries: run only when maxConcurrentCalls is set.
local function live_before(id, e)
  local entries = redis.call('HGETALL', KEYS[2])
  local count = 0
  for i = 1, #entries, 2 do
    local o = parse(entries[i + 1])
    if o and o.state == 'h' and (e == nil or o.admitted < e.admitted or (o.admitted == e.admitted and entries[i] < id)) then
      count = count + 1
    end
  end
  return count
end
local function state_name(e)
  if e.state == 'h' then return 'held' elseif e.state == 'e' then return 'ended' end
  return 'released'
end
`;

// The hold policy of shared/calls/hold-policy.ts over shared/pricing.ts, so that one script call
// can probe, plan and hold. Not a second source of prices: every price and bound comes in as an
// argument from Config.pricing and pricing.ts, and Lua numbers are IEEE doubles like JavaScript's,
// so the same floor/ceil over the same operands gives the same integers (test/calls proves the
// result equal to planHold() for many inputs). Returns amount, seconds, cap, held seconds; or nil.
export const LUA_PLAN = `
local function plan_hold(available, rate, min_balance, margin, min_seconds, max_seconds, metered, hold_seconds)
  if available < min_balance then return nil end
  local affordable = math.floor((math.max(available, 0) * 60) / rate) - margin
  local seconds = math.min(max_seconds, math.max(min_seconds, affordable))
  local cap = math.ceil((seconds * rate) / 60)
  local slice = cap
  if metered then slice = math.min(math.ceil((hold_seconds * rate) / 60), cap) end
  local amount = math.max(slice, min_balance)
  if amount > available then return nil end
  return amount, seconds, cap, math.min(seconds, math.floor((amount * 60) / rate))
end
`;

/*
 * call_gate_plan (for tests: the plan alone, no keys)
 * ARGV     available, rate per minute, CALL_MIN_BALANCE, safety margin (s), Vapi min, max (s),
 *          policy ('metered' | 'full'), CALL_HOLD_SECONDS
 * Returns  {amount, seconds, cap, heldSeconds} or {} when refused.
 */
export const CALL_GATE_PLAN_LUA = LUA_PLAN + `
local amount, seconds, cap, held = plan_hold(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == 'metered', tonumber(ARGV[8]))
if not amount then return {} end
return {string.format('%.0f', amount), string.format('%.0f', seconds), string.format('%.0f', cap), string.format('%.0f', held)}
`;

/*
 * call_gate_decide: the whole Redis-side admission in one call (probe, spend controls, plan, hold).
 * KEYS     wallet hash, H, E, S (see above), D = keys.meterDue (the due set of first renewals:
 *          one key for every organisation, outside the {orgId} slot — see redis.ts)
 * ARGV     call id, now (ms), rate per minute, CALL_MIN_BALANCE, safety margin (s),
 *          hold grace (s), Vapi's min and max duration (s), policy, CALL_HOLD_SECONDS,
 *          renewal lead (ms), org id, the billing clock's offset (ms; the day of the daily spend
 *          is the day of now + offset, as SQL's billing_now(); 0 outside sandbox mode)
 * Returns  {'miss'}                                        wallet or its controls not cached
 *          {'existing', amount, maxDuration, 'held'|'ended'|'released'}   this call already has an entry
 *          {'refused', 'wallet_frozen'|'maxConcurrentCalls'|'dailySpendLimit'}   a spend control refused
 *          {'available', available}                        refused: not enough for any hold
 *          {'frozen'}                                      refused: the wallet is frozen (CONTRACT §8)
 *          {'held', amount, maxDuration, availableAfter, expiresAtMs, cap, heldSeconds}
 * Controls (as SQL call_gate_admit): frozen refuses; maxConcurrentCalls counts entries in state h;
 *          the plan runs on min(available, dailySpendLimit − today's posted spend − Σ holds), with
 *          Vapi's upper bound lowered to maxCallSeconds; refused as dailySpendLimit when only the
 *          limit stands in the way. Today's spend counts when the hash's spend_day is the UTC day
 *          of now + the billing clock's offset.
 * Effects  removes expired entries; places at most one hold per call id, expiring at
 *          now + (maxDuration + grace) s; keeps H, E and S alive until it expires. A metered
 *          hold that does not already pay for the whole call (held s < maxDuration and amount <
 *          cap, as call-meter.ts next()) gets its slice-2 renewal in D, scored at its due time
 *          now + held s − lead, as meter-due.ts dueMember(): the hold and its meter are one step.
 */
export const CALL_GATE_DECIDE_LUA = LUA_LIB + LUA_PLAN + `
local now = tonumber(ARGV[2])
local w = wallet(now + (tonumber(ARGV[13]) or 0))
if not w then return {'miss'} end
local held = purge(now)
local e = parse(redis.call('HGET', KEYS[2], ARGV[1]))
if e then return {'existing', n(e.amount), n(e.maxd), state_name(e)} end
if w.frozen then return {'refused', 'wallet_frozen'} end
if w.cc >= 0 and live_before(ARGV[1], nil) >= w.cc then return {'refused', 'maxConcurrentCalls'} end
local available = w.balance - held
local effective = available
if w.daily >= 0 then effective = math.min(available, w.daily - w.spent - held) end
local max_s = tonumber(ARGV[8])
if w.secs >= 0 then max_s = math.min(max_s, w.secs) end
local rate, minb, margin, min_s, metered, slice_s = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7]), ARGV[9] == 'metered', tonumber(ARGV[10])
local amount, seconds, cap, held_s = plan_hold(effective, rate, minb, margin, min_s, max_s, metered, slice_s)
if not amount then
  if effective < available and plan_hold(available, rate, minb, margin, min_s, max_s, metered, slice_s) then
    return {'refused', 'dailySpendLimit'}
  end
  return {'available', n(available)}
end
local entry = {state = 'h', amount = amount, maxd = seconds, expires = now + (seconds + tonumber(ARGV[6])) * 1000,
               admitted = now, cap = cap, slices = 1}
redis.call('HSET', KEYS[2], ARGV[1], fmt(entry))
redis.call('ZADD', KEYS[3], n(entry.expires), ARGV[1])
redis.call('INCRBY', KEYS[4], n(amount))
extend(entry.expires - now)
if metered and held_s < seconds and amount < cap then
  local due = now + held_s * 1000 - tonumber(ARGV[11])
  redis.call('ZADD', KEYS[5], n(due), '1|' .. ARGV[12] .. '|2|' .. n(now) .. '|' .. n(seconds) .. '|' ..
             n(entry.expires) .. '|' .. n(cap) .. '|' .. n(due) .. '|' .. ARGV[1])
end
return {'held', n(amount), n(seconds), n(available - amount), n(entry.expires), n(cap), n(held_s)}
`;

/*
 * call_meter_renew: grants a live metered call its next slice, if the wallet and its spend
 * controls allow it (the same order as SQL call_meter_renew).
 * KEYS     wallet hash, H, E, S
 * ARGV     call id, now (ms), slice number n (>= 2), slice amount, rate per minute, the billing
 *          clock's offset (ms: the daily spend's day is now + offset's)
 * Returns  {'renewed', amount, heldSeconds, availableAfter}   the hold grew (never beyond its cap)
 *          {'already', amount, heldSeconds, slices}           slice n was granted before (a replayed job)
 *          {'frozen', amount, heldSeconds}                    the wallet is frozen: end the call
 *          {'capped', amount, heldSeconds}                    the hold already pays for the whole call
 *          {'limited', limit, amount, heldSeconds}            maxCallSeconds reached, more than
 *                                                             maxConcurrentCalls admitted before it, or
 *                                                             the slice would pass dailySpendLimit: end it
 *          {'exhausted', amount, heldSeconds, available}      the wallet cannot cover the slice: end the call
 *          {'ended'} | {'released'}                           the call ended or is billed: stop metering
 *          {'missing'}                                        Redis does not know the call (lost data)
 *          {'miss'}                                           the wallet (or its controls) is not cached
 * Effects  one atomic step: renewals of many calls on one wallet never together exceed it. The
 *          hold never pays for more than maxCallSeconds.
 */
export const CALL_METER_RENEW_LUA = LUA_LIB + `
local now = tonumber(ARGV[2])
local held = purge(now)
local e = parse(redis.call('HGET', KEYS[2], ARGV[1]))
if not e then return {'missing'} end
if e.state ~= 'h' then return {state_name(e)} end
local rate = tonumber(ARGV[5])
local function held_s() return n(math.min(e.maxd, math.floor((e.amount * 60) / rate))) end
local slice_no = tonumber(ARGV[3])
if e.slices >= slice_no then return {'already', n(e.amount), held_s(), n(e.slices)} end
local w = wallet(now + (tonumber(ARGV[6]) or 0))
if not w then return {'miss'} end
if w.frozen then return {'frozen', n(e.amount), held_s()} end
if e.amount >= e.cap then return {'capped', n(e.amount), held_s()} end
local inc = math.min(tonumber(ARGV[4]), e.cap - e.amount)
if w.secs >= 0 then
  local lim_cap = math.ceil((w.secs * rate) / 60)
  if e.amount >= lim_cap then return {'limited', 'maxCallSeconds', n(e.amount), held_s()} end
  inc = math.min(inc, lim_cap - e.amount)
end
if w.cc >= 0 and live_before(ARGV[1], e) >= w.cc then return {'limited', 'maxConcurrentCalls', n(e.amount), held_s()} end
local available = w.balance - held
if available < inc then return {'exhausted', n(e.amount), held_s(), n(available)} end
if w.daily >= 0 and w.spent + held + inc > w.daily then return {'limited', 'dailySpendLimit', n(e.amount), held_s()} end
e.slices = slice_no
resize(ARGV[1], e, e.amount + inc)
return {'renewed', n(e.amount), held_s(), n(available - inc)}
`;

/*
 * call_gate_end: the call's status-update "ended" — its hold becomes the cost of the time used.
 * KEYS     wallet hash (unused), H, E, S
 * ARGV     call id, now (ms), rate per minute, hold grace (s)
 * Returns  {'ended', amount, admittedAtMs, maxDuration, expiresAtMs, cap, slices}   sized now
 *          {'already', ...same fields}                     an earlier "ended" sized it
 *          {'released'}                                    the charge is already posted
 *          {'missing'}                                     Redis does not know the call
 * Effects  amount := ceil(elapsed ms × rate ÷ 60000), elapsed from admission bounded by
 *          (maxDuration + grace), at least 1 (it counts until the charge replaces it); may grow
 *          a hold the call overran. State h → e: no more renewals.
 */
export const CALL_GATE_END_LUA = LUA_LIB + `
local now = tonumber(ARGV[2])
purge(now)
local e = parse(redis.call('HGET', KEYS[2], ARGV[1]))
if not e then return {'missing'} end
if e.state == 'r' then return {'released'} end
local outcome = 'already'
if e.state == 'h' then
  local elapsed = math.min(math.max(0, now - e.admitted), (e.maxd + tonumber(ARGV[4])) * 1000)
  e.state = 'e'
  resize(ARGV[1], e, math.max(1, math.ceil((elapsed * tonumber(ARGV[3])) / 60000)))
  outcome = 'ended'
end
return {outcome, n(e.amount), n(e.admitted), n(e.maxd), n(e.expires), n(e.cap), n(e.slices)}
`;

/*
 * call_gate_release
 * KEYS     wallet hash (unused), H, E, S
 * ARGV     call id, now (ms), keep-until (ms) for the released entry
 * Returns  1 when a counting entry was released, 0 otherwise.
 * Effects  turns the call's entry into a released one (it stops counting in S) that expires at
 *          keep-until; leaves unknown calls alone.
 */
export const CALL_GATE_RELEASE_LUA = LUA_LIB + `
local now = tonumber(ARGV[2])
purge(now)
local e = parse(redis.call('HGET', KEYS[2], ARGV[1]))
if not counts(e) then return 0 end
redis.call('DECRBY', KEYS[4], n(e.amount))
e.state = 'r'
e.expires = tonumber(ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], fmt(e))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
extend(tonumber(ARGV[3]) - now)
return 1
`;

/*
 * call_gate_cancel: takes back a hold placed for a call that was refused after all (the store
 * answered after the gate had given up on it, failure mode 24).
 * KEYS     wallet hash (unused), H, E, S
 * ARGV     call id, now (ms)
 * Returns  1 when an unrenewed live hold was removed, 0 otherwise (a renewed or ended call is real).
 */
export const CALL_GATE_CANCEL_LUA = LUA_LIB + `
purge(tonumber(ARGV[2]))
local e = parse(redis.call('HGET', KEYS[2], ARGV[1]))
if not e or e.state ~= 'h' or e.slices ~= 1 then return 0 end
redis.call('DECRBY', KEYS[4], n(e.amount))
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`;

/*
 * call_gate_fill
 * KEYS     wallet hash, H, E, S
 * ARGV     store wallet ('1' | '0'), version, balance, currency, wallet ttl (ms), now (ms), the
 *          six controls of wallet-controls.ts controlsArgs() (ignored unless storing), then per
 *          hold from Postgres: call id, state (h|e), amount, max duration (s), expiry (ms),
 *          admitted (ms), cap, slices
 * Returns  1 when the wallet was stored, 0 when not asked to or the cache held this version or
 *          newer (the same version is stored again when the cache lacks its controls).
 * Effects  the wallet and its controls as in balance-cache.ts (never replaced by an older
 *          version); each unexpired Postgres hold added unless Redis already has an entry for
 *          that call (Redis's own entry is newer knowledge).
 */
export const CALL_GATE_FILL_LUA = LUA_LIB + `
local stored = 0
if ARGV[1] == '1' then
  local current = redis.call('HGET', KEYS[1], 'version')
  if not current or tonumber(current) < tonumber(ARGV[2])
     or (tonumber(current) == tonumber(ARGV[2]) and redis.call('HEXISTS', KEYS[1], 'spend_day') == 0) then
    redis.call('HSET', KEYS[1], 'version', ARGV[2], 'balance', ARGV[3], 'currency', ARGV[4],
               'frozen', ARGV[7], 'spend_day', ARGV[8], 'spend', ARGV[9], 'lim_cc', ARGV[10], 'lim_daily', ARGV[11], 'lim_secs', ARGV[12])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    stored = 1
  end
end
local now = tonumber(ARGV[6])
purge(now)
for i = 13, #ARGV, 8 do
  local e = {state = ARGV[i + 1], amount = tonumber(ARGV[i + 2]), maxd = tonumber(ARGV[i + 3]), expires = tonumber(ARGV[i + 4]),
             admitted = tonumber(ARGV[i + 5]), cap = tonumber(ARGV[i + 6]), slices = tonumber(ARGV[i + 7])}
  if e.expires > now and redis.call('HSETNX', KEYS[2], ARGV[i], fmt(e)) == 1 then
    redis.call('ZADD', KEYS[3], n(e.expires), ARGV[i])
    redis.call('INCRBY', KEYS[4], n(e.amount))
    extend(e.expires - now)
  end
end
return stored
`;

/*
 * call_gate_held
 * KEYS     wallet hash (unused), H, E, S
 * ARGV     now (ms)
 * Returns  the sum of the unexpired counting amounts (as a string).
 * Effects  removes expired entries (as every script here does).
 */
export const CALL_GATE_HELD_LUA = LUA_LIB + `
return n(purge(tonumber(ARGV[1])))
`;

type Keys = [wallet: string, holds: string, expiry: string, sum: string];
type Args = Array<string | number>;
type Commands = {
  callGateDecide(...args: [...Keys, due: string, ...Args]): Promise<string[]>;
  callMeterRenew(...args: [...Keys, ...Args]): Promise<string[]>;
  callGateEnd(...args: [...Keys, ...Args]): Promise<string[]>;
  callGateRelease(...args: [...Keys, callId: string, nowMs: number, keepUntilMs: number]): Promise<number>;
  callGateCancel(...args: [...Keys, callId: string, nowMs: number]): Promise<number>;
  callGateFill(...args: [...Keys, ...Args]): Promise<number>;
  callGateHeld(...args: [...Keys, nowMs: number]): Promise<string>;
};

function withCommands(redis: Redis): Redis & Commands {
  if (!('callMeterRenew' in redis)) {
    redis.defineCommand('callGateDecide', { numberOfKeys: 5, lua: CALL_GATE_DECIDE_LUA });
    redis.defineCommand('callMeterRenew', { numberOfKeys: 4, lua: CALL_METER_RENEW_LUA });
    redis.defineCommand('callGateEnd', { numberOfKeys: 4, lua: CALL_GATE_END_LUA });
    redis.defineCommand('callGateRelease', { numberOfKeys: 4, lua: CALL_GATE_RELEASE_LUA });
    redis.defineCommand('callGateCancel', { numberOfKeys: 4, lua: CALL_GATE_CANCEL_LUA });
    redis.defineCommand('callGateFill', { numberOfKeys: 4, lua: CALL_GATE_FILL_LUA });
    redis.defineCommand('callGateHeld', { numberOfKeys: 4, lua: CALL_GATE_HELD_LUA });
  }
  return redis as Redis & Commands;
}

/** What the decide script needs to plan a hold: Config.pricing and the gate's settings. */
export interface HoldTerms {
  ratePerMinute: number;
  minBalance: number;
  safetyMarginSeconds: number;
  holdGraceSeconds: number;
  policy: 'metered' | 'full';
  holdSeconds: number;
}

export type RedisDecision =
  | { outcome: 'miss' }
  | Exclude<HoldStep, { outcome: 'held' } | { outcome: 'not_found' }>
  | { outcome: 'held'; hold_amount: number; max_duration_seconds: number; available: number; expires_at_ms: number; cap: number; held_seconds: number };

export type RenewOutcome =
  | { outcome: 'renewed' | 'already' | 'capped' | 'exhausted' | 'frozen'; amount: number; heldSeconds: number }
  | { outcome: 'limited'; limit: LimitName; amount: number; heldSeconds: number }
  | { outcome: 'ended' | 'released' | 'missing' | 'miss' };

/** A call's hold as Redis knows it after its "ended" (what Postgres needs to record the same). */
export type EndOutcome =
  | { outcome: 'ended' | 'already'; amount: number; admittedAtMs: number; maxDurationSeconds: number; expiresAtMs: number; cap: number; slices: number }
  | { outcome: 'released' | 'missing' };

export interface WalletFill {
  balance: number;
  version: number;
  currency: string;
  controls: WalletControls;
  holds: StoredHold[];
}

const num = (s: string | undefined) => Number(s);

function existingState(s: string | undefined): 'held' | 'ended' | 'released' {
  return s === 'released' ? 'released' : s === 'ended' ? 'ended' : 'held';
}

function holdArgs(holds: StoredHold[]): Array<string | number> {
  return holds.flatMap((h) => [h.call_id, h.state === 'ended' ? 'e' : 'h', h.amount, h.max_duration_seconds, h.expires_at_ms, h.admitted_at_ms, h.cap, h.slices]);
}

export function createRedisHolds(redis: Redis, keys: RedisKeys, walletTtlSeconds: number) {
  const r = withCommands(redis);
  // Where the decide script schedules a metered call's first renewal (meter-due.ts).
  const leadMsOf = (holdSeconds: number) => renewalLeadSeconds(holdSeconds) * 1000;
  const k = (orgId: string): Keys => {
    const holds = keys.holds(orgId);
    return [keys.wallet(orgId), holds, `${holds}:expiry`, `${holds}:sum`];
  };
  return {
    /** Probe, plan and hold in one atomic call (see call_gate_decide); `billingOffsetMs` moves only the spend day. */
    async decide(orgId: string, callId: string, t: HoldTerms, nowMs = Date.now(), billingOffsetMs = 0): Promise<RedisDecision> {
      const reply = await r.callGateDecide(...k(orgId), keys.meterDue, callId, nowMs, t.ratePerMinute, t.minBalance, t.safetyMarginSeconds, t.holdGraceSeconds, VAPI_MIN_DURATION_SECONDS, VAPI_MAX_DURATION_SECONDS, t.policy, t.holdSeconds, leadMsOf(t.holdSeconds), orgId, billingOffsetMs);
      const [kind, a, b, c, e, cap, held] = reply;
      switch (kind) {
        case 'miss':
          return { outcome: 'miss' };
        case 'existing':
          return { outcome: 'existing', hold_amount: num(a), max_duration_seconds: num(b), hold_state: existingState(c) };
        case 'available':
          return { outcome: 'available', available: num(a) };
        case 'refused':
          return { outcome: 'refused', reason: a as ControlRefusal };
        case 'held':
          return { outcome: 'held', hold_amount: num(a), max_duration_seconds: num(b), available: num(c), expires_at_ms: num(e), cap: num(cap), held_seconds: num(held) };
        default:
          throw new Error(`invariant violated: call_gate_decide returned ${JSON.stringify(reply)}`);
      }
    },
    /** Grants slice `sliceNo` of a metered call if the wallet covers it (see call_meter_renew). */
    async renew(orgId: string, callId: string, sliceNo: number, sliceAmount: number, ratePerMinute: number, nowMs = Date.now(), billingOffsetMs = 0): Promise<RenewOutcome> {
      const [kind, a, b, c] = await r.callMeterRenew(...k(orgId), callId, nowMs, sliceNo, sliceAmount, ratePerMinute, billingOffsetMs);
      switch (kind) {
        case 'renewed':
        case 'already':
        case 'capped':
        case 'exhausted':
        case 'frozen':
          return { outcome: kind, amount: num(a), heldSeconds: num(b) };
        case 'limited':
          return { outcome: kind, limit: a as LimitName, amount: num(b), heldSeconds: num(c) };
        case 'ended':
        case 'released':
        case 'missing':
        case 'miss':
          return { outcome: kind };
        default:
          throw new Error(`invariant violated: call_meter_renew returned ${String(kind)}`);
      }
    },
    /** The call's "ended": its hold becomes the cost of the time used (see call_gate_end). */
    async end(orgId: string, callId: string, ratePerMinute: number, graceSeconds: number, nowMs = Date.now()): Promise<EndOutcome> {
      const [kind, a, t, m, x, c, s] = await r.callGateEnd(...k(orgId), callId, nowMs, ratePerMinute, graceSeconds);
      if (kind === 'ended' || kind === 'already') {
        return { outcome: kind, amount: num(a), admittedAtMs: num(t), maxDurationSeconds: num(m), expiresAtMs: num(x), cap: num(c), slices: num(s) };
      }
      if (kind === 'released' || kind === 'missing') return { outcome: kind };
      throw new Error(`invariant violated: call_gate_end returned ${String(kind)}`);
    },
    async release(orgId: string, callId: string, keepUntilMs: number, nowMs = Date.now()): Promise<boolean> {
      return (await r.callGateRelease(...k(orgId), callId, nowMs, keepUntilMs)) === 1;
    },
    /** Takes back an unrenewed live hold of a call that was refused after all. */
    async cancel(orgId: string, callId: string, nowMs = Date.now()): Promise<boolean> {
      return (await r.callGateCancel(...k(orgId), callId, nowMs)) === 1;
    },
    /** The wallet (version-guarded) and the Postgres holds Redis does not know. */
    async fill(orgId: string, snap: WalletFill, nowMs = Date.now()): Promise<boolean> {
      const stored = await r.callGateFill(...k(orgId), '1', snap.version, snap.balance, snap.currency, walletTtlSeconds * 1000, nowMs, ...controlsArgs(snap.controls), ...holdArgs(snap.holds));
      return stored === 1;
    },
    /** Only the holds (a Postgres-path admission, or the sweeper after Redis lost data). */
    async mirror(orgId: string, holds: StoredHold[], nowMs = Date.now()): Promise<void> {
      if (holds.length === 0) return;
      await r.callGateFill(...k(orgId), '0', 0, 0, '', 0, nowMs, '0', 0, 0, -1, -1, -1, ...holdArgs(holds));
    },
    /**
     * The entries in state h (calls in progress), read as StoredHold: the one place TypeScript reads
     * the entry format H documents above (the scripts read it with parse()).
     */
    async heldEntries(orgId: string): Promise<StoredHold[]> {
      const out: StoredHold[] = [];
      for (const [callId, v] of Object.entries(await redis.hgetall(keys.holds(orgId)))) {
        const [state, amount, maxd, expires, admitted, cap, slices] = v.split('|');
        if (state !== 'h') continue;
        out.push({
          call_id: callId,
          state: 'held',
          amount: Number(amount),
          max_duration_seconds: Number(maxd),
          expires_at_ms: Number(expires),
          admitted_at_ms: Number(admitted),
          cap: Number(cap),
          slices: Number(slices),
        });
      }
      return out;
    },
    /** The call's entry state, or undefined when Redis does not know the call. */
    async state(orgId: string, callId: string): Promise<'held' | 'ended' | 'released' | undefined> {
      const v = await redis.hget(keys.holds(orgId), callId);
      const s = v?.charAt(0);
      return s === 'h' ? 'held' : s === 'e' ? 'ended' : s === 'r' ? 'released' : undefined;
    },
    async held(orgId: string, nowMs = Date.now()): Promise<number> {
      return Number(await r.callGateHeld(...k(orgId), nowMs));
    },
  };
}

export type RedisHolds = ReturnType<typeof createRedisHolds>;
