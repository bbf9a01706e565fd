--[[
  plan_hold: the hold policy of shared/calls/hold-policy.ts over shared/pricing.ts, so that one
  script call can probe, plan and hold. Not a second source of prices: every price and bound
  comes in as an argument from Config.pricing, pricing.ts and the call's rate (CONTRACT §10), and
  Lua numbers are IEEE doubles like JavaScript's, so the same floor/ceil over the same operands
  gives the same integers (test/calls/hold-plan-parity.test.ts proves the result equal to
  planHold() for many inputs).
    Input:
      plan_hold(available, rate (includes/call-rate.lua table), min balance, safety margin (s),
                min seconds, max seconds, metered (boolean), hold seconds of a metered slice)
      (no KEYS, no ARGV of its own)
    Output:
      amount, seconds, cap, held seconds; or nil when no hold is affordable
    Events/effects:
      none
]]
--- @include "call-rate"
local function plan_hold(available, r, min_balance, margin, min_seconds, max_seconds, metered, hold_seconds)
  if available < min_balance then return nil end
  local affordable = paid(math.max(available, 0), r) - margin
  local seconds = math.min(max_seconds, math.max(min_seconds, affordable))
  local cap = cost(seconds, r)
  local slice = cap
  if metered then slice = math.min(cost(hold_seconds, r), cap) end
  local amount = math.max(slice, min_balance)
  if amount > available then return nil end
  return amount, seconds, cap, math.min(seconds, paid(amount, r))
end
