--[[
  plan_hold: the hold policy of shared/calls/hold-policy.ts over shared/pricing.ts, so that one
  script call can probe, plan and hold. Not a second source of prices: every price and bound
  comes in as an argument from Config.pricing and pricing.ts, and Lua numbers are IEEE doubles
  like JavaScript's, so the same floor/ceil over the same operands gives the same integers
  (test/calls/hold-plan-parity.test.ts proves the result equal to planHold() for many inputs).
    Input:
      plan_hold(available, rate per minute, min balance, safety margin (s), min seconds,
                max seconds, metered (boolean), hold seconds of a metered slice)
      (no KEYS, no ARGV of its own)
    Output:
      amount, seconds, cap, held seconds; or nil when no hold is affordable
    Events/effects:
      none
]]
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
