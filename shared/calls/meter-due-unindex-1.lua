--[[
  meter_due_unindex: removes a due key's tag from the index only if no one has indexed it since
  the prune read it as idle. The prune (meter-due.ts) found the tag's score at or below the
  threshold and its due key empty; a writer re-indexes (ZADD, a newer score) before it writes
  that key, so a score that moved in between means the key may be written to: the tag stays.
  One key (the index), so it runs on a Cluster, where the due keys are in other slots.
    Input:
      KEYS[1] the index (keys.meterDueIndex: a sorted set, tag → when last indexed, ms)
      ARGV[1] the tag
      ARGV[2] the threshold (ms): the tag goes only if its score is still at or below it
    Output:
      1 when the tag was removed, 0 when it was kept (indexed again since, or already gone)
    Events/effects:
      ZREM of the tag from the index.
]]
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
