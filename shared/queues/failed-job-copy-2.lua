--[[
  failed_job_copy: puts a failed job of another prefix's queue into this queue's failed set as it
  was (every field of its hash: data, options, tries made, failure reason, stack trace, times),
  unless this queue already has a job of that id: job ids are how the service deduplicates, so a
  job the new processes wrote under the id since is the one that stays. One step, so a producer
  adding that id at the same moment never finds a half-written hash. BullMQ has no call that
  writes a job in the failed state; this writes what its moveToFinished leaves (the hash, and the
  id in the failed set scored by when it finished).
    Input:
      KEYS[1] the job's hash in this queue (<prefix>:<queue>:<id>)
      KEYS[2] this queue's failed set (<prefix>:<queue>:failed)
      ARGV[1] the job id
      ARGV[2] when it finished (ms): its score in the failed set
      ARGV[3..] the hash's fields and values, alternating
    Output:
      1 when copied, 0 when this queue already had a job of that id (nothing written)
    Events/effects:
      HSET of the job's hash, ZADD of its id to the failed set.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
