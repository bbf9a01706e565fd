-- A settled call's Redis hold is released until Redis confirms it (issue 22, item 1). call_settle
-- ends the Postgres hold in the charge's transaction; the Redis copy is released afterwards, once
-- Redis has the new balance, and that step could fail and never be retried: the entry then kept
-- counting (and a metered call's renewals kept growing it) until it expired, up to 12 h, refusing
-- calls as out of credit while the wallet was full. Now Postgres records when Redis was seen with
-- the entry no longer counting; until then the call sweeper releases it (calls_due_for_hot_release,
-- call_hot_released; docs/call-gate.md, "Hold lifecycle").

alter table calls
  -- When Redis was last seen with this settled call's entry no longer counting (released, or
  -- gone): null while the Redis copy of a settled call's hold may still stand.
  add column hot_released_at timestamptz;

-- Calls settled before this migration whose holds have expired have nothing left in Redis
-- (every hold script purges expired entries); the unexpired ones are left for the first sweep.
update calls set hot_released_at = coalesce(released_at, settled_at)
 where settled_at is not null and hold_expires_at <= now();

-- The sweeper's work list: settled, not yet confirmed in Redis, in keyset order. Small: a row
-- leaves it once Redis confirms the release, or its hold expires.
create index calls_hot_release_due on calls (hold_expires_at, call_id)
  where settled_at is not null and hot_released_at is null;
