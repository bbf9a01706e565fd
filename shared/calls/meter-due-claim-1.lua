--[[
  meter_due_claim: claims the due set's entries that are nearly due, under a lease. One step, so
  two pumps never claim one entry together; the lease (longer than the horizon) keeps a claimed
  entry out of other claims until it runs out — then it is claimed again, which is how a pump
  that died after claiming loses nothing.
    Input:
      KEYS[1] one due set (keys.meterDueOfTag(tag), a tag from the index keys.meterDueIndex)
      ARGV[1] now (ms)
      ARGV[2] horizon (ms)
      ARGV[3] lease (ms)
      ARGV[4] at most this many
    Output:
      the members due at or before now + horizon (earliest first)
    Events/effects:
      each returned member re-scored to now + lease (ZADD XX).
]]
local now = tonumber(ARGV[1])
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now + tonumber(ARGV[2])), 'LIMIT', 0, tonumber(ARGV[4]))
local leased = string.format('%.0f', now + tonumber(ARGV[3]))
for _, m in ipairs(members) do redis.call('ZADD', KEYS[1], 'XX', leased, m) end
return members
