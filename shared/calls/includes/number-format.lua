--[[
  n(x): a number as the decimal integer the hold entries and replies carry (Lua's own tostring
  turns a millisecond timestamp into 1.8e+12).
  '%.0f' is right for any value but goes through glibc's arbitrary-precision float printing,
  ≈ 15% of Redis's CPU on the cache path (`perf`, bench a; about 20 calls per admission). Every
  value the scripts format is a whole number far inside ±1e15, which '%d' (a C long in Redis's
  Lua) prints identically and cheaply; any other value still goes through '%.0f'. The one
  difference is −0, now "0" (parse() reads no sign). test/calls/lua-number-format.test.ts proves
  the two agree.
    Input:
      x         a number (a function for the scripts that include it: no KEYS, no ARGV)
    Output:
      n(x)      its decimal integer, as string.format('%.0f', x) prints it
    Events/effects:
      none
]]
local function n(x)
  if x == math.floor(x) and x > -1e15 and x < 1e15 then return string.format('%d', x) end
  return string.format('%.0f', x)
end
