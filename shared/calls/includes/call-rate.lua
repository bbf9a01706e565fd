--[[
  A call's rate (CONTRACT §10) in the hold scripts: shared/pricing.ts callCost/secondsPaid and SQL
  call_rate_cost/call_rate_paid_seconds, repeated over the same operands (Lua numbers are IEEE
  doubles like JavaScript's; test/calls/hold-plan-parity.test.ts proves the three equal). A rate is
  a table {rate = per minute, fee = connect fee, min = minimum seconds, inc = increment seconds}.
    Input:
      default_rate(per_minute)   the rate of a call no prefix matched (CALL_RATE_PER_MINUTE, no fee,
                                 no minimum, increments of 1 s)
      rate_of(e, default)        an entry's own rate (hold-entry.lua), else the default (entries
                                 written before rates were kept)
      cost_ms(ms, r)             what ms of call cost: 0 for none; else fee + ceil(billable × rate ÷
                                 60), billable raised to min s, then (inc > 1) up to whole increments
      cost(s, r)                 the same for whole seconds
      paid(amount, r)            the whole seconds amount pays for: the largest s with cost(s) ≤ amount
      (no KEYS, no ARGV of its own)
    Output:
      as above
    Events/effects:
      none
]]
local function default_rate(per_minute)
  return {rate = per_minute, fee = 0, min = 0, inc = 1}
end
local function rate_of(e, default)
  if e and e.rate then return e.rate end
  return default
end
local function cost_ms(ms, r)
  if ms <= 0 then return 0 end
  local billable = math.max(ms, r.min * 1000)
  if r.inc > 1 then billable = math.ceil(billable / (r.inc * 1000)) * (r.inc * 1000) end
  return r.fee + math.ceil((billable * r.rate) / 60000)
end
local function cost(s, r)
  if s <= 0 then return 0 end
  local billable = math.max(s, r.min)
  if r.inc > 1 then billable = math.ceil(billable / r.inc) * r.inc end
  return r.fee + math.ceil((billable * r.rate) / 60)
end
local function paid(amount, r)
  if amount - r.fee < 0 then return 0 end
  local s = math.floor(((amount - r.fee) * 60) / r.rate)
  if r.inc > 1 then s = math.floor(s / r.inc) * r.inc end
  if s < r.min then return 0 end
  return s
end
