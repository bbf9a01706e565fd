--[[
  call_meter_renew: grants a live metered call its next slice, if the wallet and its spend
  controls allow it (the same order as SQL call_meter_renew). One atomic step, so renewals of
  many calls on one wallet never together exceed it.
    Input:
      KEYS[1] the wallet hash (keys.wallet(orgId))
      KEYS[2] H, the holds hash (keys.holds(orgId))
      KEYS[3] E, the expiry index (H + ':expiry')
      KEYS[4] S, the held sum (H + ':sum')
      ARGV[1] call id
      ARGV[2] now (ms)
      ARGV[3] slice number n (>= 2)
      ARGV[4] slice amount
      ARGV[5] rate per minute of a call whose entry has no rate of its own (written before rates
              were kept); an entry's own rate (CONTRACT §10) is used otherwise
      ARGV[6] the billing clock's offset (ms): the daily spend's day is that of now + offset
      ARGV[7] slice seconds (CALL_HOLD_SECONDS), optional: the slice is then their cost at the
              call's rate without its connect fee (paid with the first slice), not ARGV[4]
    Output:
      {'renewed', amount, heldSeconds, availableAfter}   the hold grew (never beyond its cap)
      {'already', amount, heldSeconds, slices}           slice n was granted before (a replayed job)
      {'frozen', amount, heldSeconds}                    the wallet is frozen: end the call
      {'capped', amount, heldSeconds}                    the hold already pays for the whole call
      {'limited', limit, amount, heldSeconds}            maxCallSeconds reached, more than
                                                         maxConcurrentCalls admitted before it, or
                                                         the slice would pass dailySpendLimit: end it
      {'exhausted', amount, heldSeconds, available}      the wallet cannot cover the slice: end the call
      {'ended'} | {'released'}                           the call ended or is billed: stop metering
      {'missing'}                                        Redis does not know the call (lost data)
      {'miss'}                                           the wallet (or its controls) is not cached
    Events/effects:
      removes expired entries; a renewal grows the entry's amount and S by the slice (HSET H,
      INCRBY S) and records slice n in the entry. The hold never pays for more than
      maxCallSeconds.
]]
--- @include "includes/hold-entry"
--- @include "includes/hold-keys"
--- @include "includes/spend-controls"
--- @include "includes/call-rate"
local now = tonumber(ARGV[2])
local held = purge(now)
local e = parse(redis.call('HGET', KEYS[2], ARGV[1]))
if not e then return {'missing'} end
if e.state ~= 'h' then return {state_name(e)} end
local r = rate_of(e, default_rate(tonumber(ARGV[5])))
local function held_s() return n(math.min(e.maxd, paid(e.amount, r))) end
local slice_no = tonumber(ARGV[3])
if e.slices >= slice_no then return {'already', n(e.amount), held_s(), n(e.slices)} end
local w = wallet(now + (tonumber(ARGV[6]) or 0))
if not w then return {'miss'} end
if w.frozen then return {'frozen', n(e.amount), held_s()} end
if e.amount >= e.cap then return {'capped', n(e.amount), held_s()} end
local slice = tonumber(ARGV[4])
if ARGV[7] then slice = cost(tonumber(ARGV[7]), {rate = r.rate, fee = 0, min = 0, inc = r.inc}) end
local inc = math.min(slice, e.cap - e.amount)
if w.secs >= 0 then
  local lim_cap = cost(w.secs, r)
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
