--[[
  call_gate_decide: the whole Redis-side admission in one call (probe, spend controls, plan,
  hold), so that the answer, the hold and its first renewal are one atomic step.
    Input:
      KEYS[1] the wallet hash (keys.wallet(orgId))
      KEYS[2] H, the holds hash (keys.holds(orgId))
      KEYS[3] E, the expiry index (H + ':expiry')
      KEYS[4] S, the held sum (H + ':sum')
      KEYS[5] D = keys.meterDue(orgId), the due set of first renewals of the organisation's hash
              slot (its {tag} is chosen to hash there: shared/redis.ts), so every key here is in
              one slot, on Redis Cluster too; its tag is in keys.meterDueIndex before this runs
              (redis-holds.ts indexedThen), so the pump finds it
      ARGV[1] call id
      ARGV[2] now (ms)
      ARGV[3] rate per minute
      ARGV[4] CALL_MIN_BALANCE
      ARGV[5] safety margin (s)
      ARGV[6] hold grace (s)
      ARGV[7] Vapi's min duration (s)
      ARGV[8] Vapi's max duration (s)
      ARGV[9] policy: 'metered' | 'full'
      ARGV[10] CALL_HOLD_SECONDS
      ARGV[11] renewal lead (ms)
      ARGV[12] org id
      ARGV[13] the billing clock's offset (ms): the day of the daily spend is the UTC day of
              now + offset, as SQL's billing_now(); 0 outside sandbox mode
      ARGV[14..16] the call's connect fee, minimum seconds, increment seconds (ARGV[3] is its rate
              per minute): the rate fixed at admission, kept in the entry (CONTRACT §10);
              absent: 0, 0, 1
    Output:
      {'miss'}                                       wallet or its controls not cached
      {'existing', amount, maxDuration, 'held'|'ended'|'released'}   this call already has an entry
      {'refused', 'wallet_frozen'|'maxConcurrentCalls'|'dailySpendLimit'}   a spend control refused
      {'available', available}                       refused: not enough for any hold
      {'held', amount, maxDuration, availableAfter, expiresAtMs, cap, heldSeconds}
    Controls (as SQL call_gate_admit):
      frozen refuses; maxConcurrentCalls counts entries in state h; the plan runs on
      min(available, dailySpendLimit − today's posted spend − Σ holds), with Vapi's upper bound
      lowered to maxCallSeconds; refused as dailySpendLimit when only the limit stands in the
      way. Today's spend counts when the hash's spend_day is now's UTC day.
    Events/effects:
      removes expired entries; places at most one hold per call id, expiring at
      now + (maxDuration + grace) s; keeps H, E and S alive until it expires. A metered hold that
      does not already pay for the whole call (held s < maxDuration and amount < cap, as
      call-meter.ts next()) gets its slice-2 renewal in D, scored at its due time
      now + held s − lead, as meter-due.ts dueMember(): the hold and its meter are one step.
]]
--- @include "includes/hold-entry"
--- @include "includes/hold-keys"
--- @include "includes/spend-controls"
--- @include "includes/plan-hold"
--- @include "includes/meter-due-entry"
--- @include "includes/call-rate"
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
local rate = {rate = tonumber(ARGV[3]), fee = tonumber(ARGV[14] or '0'), min = tonumber(ARGV[15] or '0'), inc = tonumber(ARGV[16] or '1')}
local minb, margin, min_s, metered, slice_s = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7]), ARGV[9] == 'metered', tonumber(ARGV[10])
local amount, seconds, cap, held_s = plan_hold(effective, rate, minb, margin, min_s, max_s, metered, slice_s)
if not amount then
  if effective < available and plan_hold(available, rate, minb, margin, min_s, max_s, metered, slice_s) then
    return {'refused', 'dailySpendLimit'}
  end
  return {'available', n(available)}
end
local entry = {state = 'h', amount = amount, maxd = seconds, expires = now + (seconds + tonumber(ARGV[6])) * 1000,
               admitted = now, cap = cap, slices = 1, rate = rate}
redis.call('HSET', KEYS[2], ARGV[1], fmt(entry))
redis.call('ZADD', KEYS[3], n(entry.expires), ARGV[1])
redis.call('INCRBY', KEYS[4], n(amount))
extend(entry.expires - now)
if metered and held_s < seconds and amount < cap then
  local member, due = first_renewal(ARGV[12], ARGV[1], entry, rate, tonumber(ARGV[11]))
  redis.call('ZADD', KEYS[5], n(due), member)
end
return {'held', n(amount), n(seconds), n(available - amount), n(entry.expires), n(cap), n(held_s)}
