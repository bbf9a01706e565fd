--[[
  call_gate_plan: the hold plan alone (plan_hold of includes/plan-hold.lua), no keys. For tests:
  test/calls/hold-plan-parity.test.ts compares it with planHold() of hold-policy.ts.
    Input:
      ARGV[1] available
      ARGV[2] rate per minute
      ARGV[3] CALL_MIN_BALANCE
      ARGV[4] safety margin (s)
      ARGV[5] Vapi's min duration (s)
      ARGV[6] Vapi's max duration (s)
      ARGV[7] policy: 'metered' | 'full'
      ARGV[8] CALL_HOLD_SECONDS
      ARGV[9..11] connect fee, minimum seconds, increment seconds (absent: 0, 0, 1)
    Output:
      {amount, seconds, cap, heldSeconds}, or {} when refused
    Events/effects:
      none
]]
--- @include "includes/plan-hold"
local r = {rate = tonumber(ARGV[2]), fee = tonumber(ARGV[9] or '0'), min = tonumber(ARGV[10] or '0'), inc = tonumber(ARGV[11] or '1')}
local amount, seconds, cap, held = plan_hold(tonumber(ARGV[1]), r, tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == 'metered', tonumber(ARGV[8]))
if not amount then return {} end
return {string.format('%.0f', amount), string.format('%.0f', seconds), string.format('%.0f', cap), string.format('%.0f', held)}
