// The meter of a metered call (docs/call-gate.md "Hold lifecycle"): a delayed BullMQ job per call
// per slice (jobIds.meter(callId, n)) asks for the next slice before the seconds the hold pays for
// run out; a job survives restarts, and the sweeper re-creates meters Redis lost. The first
// renewal of a Redis-path admission starts in the due set instead (meter-due.ts: written by the
// admission's Lua step, turned into this same job by workers/meter-pump.ts). A renewal is
// one atomic step in Redis (Lua call_meter_renew), or in Postgres (call_meter_renew) when Redis
// cannot answer. When a renewal cannot be covered the call is ended through Vapi's live call
// control: a spoken sentence with endCallAfterSpoken, then `end-call` (jobIds.hangup) if the call
// is still on when its held seconds are used up. The hang-up reports what happened: a failed
// end-call is tried again with backoff (hangupJobOptions) until the control URL accepts it or the
// call is known ended (our records, or Vapi's GET /call), and a call it gives up on is counted
// (calls_unendable_total) and logged, without its URL. A spend control ends a call the same way, with
// its own sentence: a frozen wallet, or a limit lowered while the call was live (at its next
// renewal at the latest); freezing a wallet ends its live calls at once (endLiveCalls).
// Issue 22: a renewal first asks Postgres whether the call is already settled (with the renewals
// running at the same moment, one calls_settled statement for them all) — a settled call's
// hold never grows; its Redis entry, whose release after the charge failed, is released instead.
// And the meter ends a call by the maxDurationSeconds Vapi was given (the job's): a hold capped
// below it cannot pay for the rest of the call, so the call is ended at the cap as running out
// ends it, never left to run on with no renewal.
import { isAllowedControlUrl, sendControl, type ControlMessage, type ControlPolicy, type ControlResult } from '../clients/vapi-control';
import type { VapiCallsClient } from '../clients/vapi-client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { callCharge, VAPI_MAX_DURATION_SECONDS } from '../pricing';
import { hangupJobOptions, jobIds, meterJobOptions, type CallMeterJob, type Queues } from '../queues/queues';
import type { RedisClient, RedisKeys } from '../redis';
import { holdRecord, type CallStore, type HoldRecord, type StoredHold } from './call-store';
import { throttledLog } from './outage-log';
import { renewalLeadSeconds } from './hold-policy';
import type { RedisHolds, RenewOutcome } from './redis-holds';
import { dueMember, type MeterDue } from './meter-due';
import type { LimitName } from '../wallet/wallet-controls';
import { createBatcher, createResultBatcher } from './batcher';
import { withTimeout } from '../timeout';

/** What Vapi says to the caller when the money runs out (then it hangs up). */
export const RUN_OUT_SENTENCE = 'Sorry, the credit for this line has run out, so this call has to end now. Goodbye.';
/** What Vapi says when the wallet was frozen during the call. */
export const FROZEN_SENTENCE = 'Sorry, this account has been suspended, so this call has to end now. Goodbye.';
/** What Vapi says when a spend limit ends the call (the caller hears why, in plain words). */
export const LIMIT_SENTENCES: Record<LimitName, string> = {
  dailySpendLimit: 'Sorry, this line has reached the spending limit its owner set for today, so this call has to end now. Goodbye.',
  maxConcurrentCalls: 'Sorry, this line is taking more calls at once than its owner now allows, so this call has to end now. Goodbye.',
  maxCallSeconds: 'Sorry, this call has reached the longest call its owner allows, so it has to end now. Goodbye.',
  maxNumbersPerDay: 'Sorry, this call has to end now. Goodbye.',
};
/** After the sentence of a frozen wallet, how long the caller has to hear it before end-call (ms). */
export const FREEZE_HANGUP_AFTER_MS = 8000;
/** Meter jobs written per addBulk, and the longest one waits in memory (ms). */
export const METER_BATCH_MAX = 200;
export const METER_FLUSH_MS = 5;

export interface MeterDeps {
  config: Config;
  store: CallStore;
  hot: RedisHolds;
  /** Where a Redis-path admission left its first renewal (the sweep's repair looks there first). */
  due: MeterDue;
  redis: RedisClient;
  keys: RedisKeys;
  queues: Queues;
  metrics: Metrics;
  log: Logger;
  /** Writes a hold's Postgres copy (batched with the gate's own records; resolves, never rejects). */
  record(hold: HoldRecord): Promise<void>;
  /** The meter's clock (ms since the epoch), the gate's: the UTC day of the daily spend. */
  clock: () => number;
  /**
   * Releases the Redis hold of a call Postgres says is settled, after writing the wallet through
   * (call-billing.ts releaseSettledHold).
   */
  releaseSettled(orgId: string, callId: string): Promise<unknown>;
  /** Vapi's GET /call: whether a call whose control URL fails has ended anyway. */
  vapi: VapiCallsClient;
  /** The billing clock's offset (ms), as the gate's: the daily spend's day is clock() + this. */
  billingOffsetMs: () => number;
}

/** Which try of its BullMQ job a step is: job.attemptsMade (tries before this one), job.opts.attempts. */
export interface StepAttempt {
  attemptsMade: number;
  attempts: number;
}
/** A step run outside BullMQ (tests, tools) has one try: it is its own last. */
const ONE_TRY: StepAttempt = { attemptsMade: 0, attempts: 1 };

/**
 * What a hang-up found: `ended` (the control URL accepted end-call), `ended_at_vapi` (it did not,
 * but Vapi's GET /call says the call is over), `not_live` (our records say it ended, was settled,
 * or is past its expiry), `unendable` (given up: counted and logged). Never "done" on a failure.
 */
export type HangupOutcome = 'ended' | 'ended_at_vapi' | 'not_live' | 'unendable';
/** Why a call was given up on: no usable control URL, every end-call failed, or our stores failed on the last try. */
export type UnendableReason = 'no_url' | 'control_failed' | 'error';

/** A hang-up try whose end-call was not accepted: BullMQ runs the step again after its backoff. */
export class HangupPendingError extends Error {
  override name = 'HangupPendingError';
}

type ControlOutcome = ControlResult | 'no_url';

type Renewal = { outcome: RenewOutcome['outcome']; limit?: LimitName; amount?: number; heldSeconds?: number; path: 'cache' | 'database_fallback' };

export function createMeters(d: MeterDeps) {
  const { pricing, callGate } = d.config;
  const rate = pricing.callRatePerMinute;
  const sliceAmount = callCharge(pricing, callGate.holdSeconds);
  const leadMs = renewalLeadSeconds(callGate.holdSeconds) * 1000;
  const control: ControlPolicy = { hosts: callGate.controlHosts, loopback: callGate.controlLoopback };
  // A control URL is kept as long as the longest call plus its grace.
  const controlTtlMs = (VAPI_MAX_DURATION_SECONDS + callGate.holdGraceSeconds) * 1000;

  // With Redis down every batch (one per METER_FLUSH_MS under load) fails: one line per 10 s, all counted.
  const logScheduleFailure = throttledLog(d.log, 'error', 'could not schedule call meters; the sweeper will');

  const jobIdOf = (job: CallMeterJob) =>
    job.kind === 'renew' ? jobIds.meter(job.callId, job.slice) : job.kind === 'stop' ? jobIds.stop(job.callId, job.tag ?? '') : jobIds.hangup(job.callId, job.tag);
  const optionsOf = (job: CallMeterJob) =>
    job.kind === 'hangup' ? hangupJobOptions(callGate, jobIdOf(job), job.dueAtMs - d.clock()) : meterJobOptions(jobIdOf(job), job.dueAtMs - d.clock());

  const scheduleFailed = (meters: number, err: string) => {
    // The sweeper re-creates the meters of live calls from Postgres (calls_open_meters).
    d.metrics.walletFailures.inc({ operation: 'call_meter_schedule' }, meters);
    logScheduleFailure({ meters, err });
  };
  const batcher = createBatcher<CallMeterJob>(
    async (jobs) => {
      // The queue shares this connection; not 'ready', it would refuse the jobs at once (no
      // offline queue), after BullMQ had built and packed every one of them.
      if (d.redis.status !== 'ready') return scheduleFailed(jobs.length, `Redis connection is ${d.redis.status}`);
      try {
        await d.queues.callMeters.addBulk(jobs.map((job) => ({ name: job.kind, data: job, opts: optionsOf(job) })));
      } catch (err) {
        scheduleFailed(jobs.length, (err as Error).message);
      }
    },
    {
      flushMs: METER_FLUSH_MS,
      batchMax: METER_BATCH_MAX,
      // Shutting down: counted like a failed schedule; the meter sweep re-creates it.
      afterClose: (job) => scheduleFailed(1, `meters closed (shutting down): ${job.callId}`),
    },
  );

  // The renewals running at one moment ask Postgres together whether their calls are settled: one
  // statement for the batch (group commit: one out at a time, the rest gather behind it).
  const settledBatcher = createResultBatcher<string, boolean>(
    async (callIds) => {
      const settled = await d.store.settledAmong([...new Set(callIds)]);
      return callIds.map((id) => settled.has(id));
    },
    { flushMs: METER_FLUSH_MS, batchMax: METER_BATCH_MAX, sendWhenIdle: true },
  );

  /** Queues one meter step (batched with others); resolves once written or counted as failed. */
  const schedule = (job: CallMeterJob): Promise<void> => batcher.add(job);

  function jobFor(kind: CallMeterJob['kind'], orgId: string, hold: StoredHold, slice: number, dueAtMs: number): CallMeterJob {
    return {
      kind,
      callId: hold.call_id,
      orgId,
      slice,
      admittedAtMs: hold.admitted_at_ms,
      maxDurationSeconds: hold.max_duration_seconds,
      expiresAtMs: hold.expires_at_ms,
      cap: hold.cap,
      dueAtMs,
    };
  }

  /**
   * The renewal of slice `slice + 1`, due `lead` before the held seconds run out; none when the
   * hold already pays for the whole call (its maxDurationSeconds: what Vapi was given). A hold at
   * its cap that still pays for less gets its renewal too: it answers `capped`, and the call is
   * ended at the cap (step) rather than left running with nothing renewing it.
   */
  function next(orgId: string, hold: StoredHold, heldSeconds: number): Promise<void> {
    if (callGate.holdPolicy !== 'metered' || heldSeconds >= hold.max_duration_seconds) return Promise.resolve();
    return schedule(jobFor('renew', orgId, hold, hold.slices + 1, hold.admitted_at_ms + heldSeconds * 1000 - leadMs));
  }

  async function controlUrlOf(callId: string): Promise<string | undefined> {
    const cached = await d.redis.get(d.keys.callControl(callId)).catch(() => null);
    if (cached) return cached;
    const m = await d.store.meter(callId);
    return m.outcome === 'found' ? (m.control_url ?? undefined) : undefined;
  }

  async function sendToCall(callId: string, orgId: string, message: ControlMessage, why = 'out of money'): Promise<ControlOutcome> {
    const action = message.type;
    const url = await controlUrlOf(callId);
    if (url === undefined) {
      // The call runs to its maxDurationSeconds: bounded, but an overdraft to look at.
      d.metrics.callControl.inc({ action, outcome: 'no_url' });
      d.log.warn({ callId, orgId, action, why }, 'call to be ended but its control URL is unknown; it runs to its maxDurationSeconds');
      return 'no_url';
    }
    const outcome = await sendControl(url, message);
    d.metrics.callControl.inc({ action, outcome });
    d.log.info({ callId, orgId, action, outcome, why }, 'ending a call: live call control');
    return outcome;
  }

  /**
   * Is the call still on (held, not ended nor settled)? Redis first, else Postgres; at the meter's
   * clock. A hold past its expiry (maxDurationSeconds + grace from admission) is no live call in
   * either store: Vapi has cut the call by then.
   */
  async function isLive(orgId: string, callId: string): Promise<boolean> {
    const now = d.clock();
    const state = await d.hot.state(orgId, callId, now).catch(() => undefined);
    if (state !== undefined) return state === 'held';
    const m = await d.store.meter(callId);
    return m.outcome === 'found' && m.live && m.hold.expires_at_ms > now;
  }

  /**
   * Does Vapi's API say the call has ended? Asked when its control URL fails; an error is "not
   * known". An outbound call we placed is kept under our id: Vapi knows it by its own (call_meter_get).
   */
  async function endedAtVapi(callId: string): Promise<boolean> {
    try {
      const m = await d.store.meter(callId);
      const r = await d.vapi.getCall(m.outcome === 'found' ? (m.vapi_call_id ?? callId) : callId);
      return r.kind === 'found' && r.call.status === 'ended';
    } catch {
      return false;
    }
  }

  function giveUp(job: CallMeterJob, reason: UnendableReason, attempt: StepAttempt): 'unendable' {
    d.metrics.callsUnendable.inc({ reason });
    // Never the control URL (a secret): the call, its organisation, why, and how hard we tried.
    d.log.error(
      { callId: job.callId, orgId: job.orgId, reason, tries: attempt.attemptsMade + 1, maxDurationSeconds: job.maxDurationSeconds },
      'call could not be ended through live call control; it runs to its maxDurationSeconds',
    );
    return 'unendable';
  }

  /**
   * One try of a hang-up: end-call if the call is still live. A try that fails (the control URL
   * refused it, or our stores did) throws, and BullMQ runs it again after its backoff; the last try
   * gives up instead, counted. No control URL at all is given up at once: no later try finds one.
   */
  async function hangUp(job: CallMeterJob, attempt: StepAttempt): Promise<HangupOutcome> {
    const last = attempt.attemptsMade + 1 >= attempt.attempts;
    try {
      if (!(await isLive(job.orgId, job.callId))) return 'not_live';
      const sent = await sendToCall(job.callId, job.orgId, { type: 'end-call' }, job.tag === undefined ? 'hangup' : 'wallet_frozen');
      if (sent === 'sent') return 'ended';
      if (sent === 'no_url') return giveUp(job, 'no_url', attempt);
      if (await endedAtVapi(job.callId)) return 'ended_at_vapi';
    } catch (err) {
      if (!last) throw err;
      d.log.warn({ callId: job.callId, err: (err as Error).message }, 'hang-up: the last try failed');
      return giveUp(job, 'error', attempt);
    }
    if (last) return giveUp(job, 'control_failed', attempt);
    throw new HangupPendingError(`end-call not accepted on try ${attempt.attemptsMade + 1} of ${attempt.attempts}; tried again after the backoff`);
  }

  async function renewOnRedis(job: CallMeterJob): Promise<Renewal> {
    // The slice is CALL_HOLD_SECONDS at the call's own rate (its entry's; sliceAmount and rate
    // only for an entry written before rates were kept); the billing clock moves the spend day.
    const once = () => withTimeout(d.hot.renew(job.orgId, job.callId, job.slice, sliceAmount, rate, d.clock(), d.billingOffsetMs(), callGate.holdSeconds), callGate.redisTimeoutMs * 4, 'redis');
    let r = await once();
    const filled = ({ adopted }: { adopted: number }) => {
      if (adopted > 0) d.metrics.callHoldRepairs.inc({ repair: 'terms_adopted', by: 'fill' }, adopted);
    };
    if (r.outcome === 'miss') {
      const snap = await d.store.gateSnapshot(job.orgId);
      if (snap.outcome === 'found') filled(await d.hot.fill(job.orgId, snap));
      r = await once();
    } else if (r.outcome === 'missing') {
      // Redis does not know the call (it lost its data, or the call was admitted on the Postgres
      // path): copy every open hold of the organisation from Postgres, not this one alone, so the
      // renewal is decided on all of them; then decide there.
      const snap = await d.store.gateSnapshot(job.orgId);
      if (snap.outcome === 'found' && snap.holds.some((h) => h.call_id === job.callId)) {
        filled(await d.hot.fill(job.orgId, snap));
        d.metrics.callHoldEvents.inc({ event: 'mirrored', store: 'cache' });
        r = await once();
      }
    }
    if (r.outcome === 'limited') return { outcome: r.outcome, limit: r.limit, amount: r.amount, heldSeconds: r.heldSeconds, path: 'cache' };
    return 'amount' in r ? { outcome: r.outcome, amount: r.amount, heldSeconds: r.heldSeconds, path: 'cache' } : { outcome: r.outcome, path: 'cache' };
  }

  async function renewOnPostgres(job: CallMeterJob): Promise<Renewal> {
    const r = await d.store.renew(job.callId, job.slice, sliceAmount, rate, d.clock(), callGate.holdSeconds);
    if (!('amount' in r)) return { outcome: r.outcome, path: 'database_fallback' };
    const limit = r.outcome === 'limited' ? r.limit : undefined;
    return { outcome: r.outcome, limit, amount: r.amount, heldSeconds: r.held_seconds ?? 0, path: 'database_fallback' };
  }

  /** The renewal could not be granted: say why, then end-call when the held seconds are used up. */
  async function endForRenewal(job: CallMeterJob, r: Renewal, hold: StoredHold): Promise<void> {
    let sentence = RUN_OUT_SENTENCE;
    if (r.outcome === 'frozen' || r.outcome === 'limited') {
      const control = r.outcome === 'frozen' ? 'wallet_frozen' : (r.limit ?? 'dailySpendLimit');
      sentence = r.outcome === 'frozen' ? FROZEN_SENTENCE : LIMIT_SENTENCES[r.limit ?? 'dailySpendLimit'];
      d.metrics.spendControls.inc({ control, surface: 'renewal', outcome: 'ended' });
    }
    // The sentence, once (a lead before the held seconds run out); whatever its fate, the hang-up
    // at the end of those seconds is retried until it lands or the call is known ended.
    await sendToCall(job.callId, job.orgId, { type: 'say', content: sentence, endCallAfterSpoken: true }, r.outcome);
    await schedule(jobFor('hangup', job.orgId, hold, job.slice, job.admittedAtMs + (r.heldSeconds ?? 0) * 1000));
  }

  /** Whether Postgres says the call is settled; false when Postgres does not answer (Redis decides alone, as before). */
  async function settledInPostgres(callId: string): Promise<boolean> {
    try {
      return await withTimeout(settledBatcher.add(callId), callGate.databaseTimeoutMs, 'postgres');
    } catch (err) {
      d.log.warn({ callId, err: (err as Error).message }, 'call meter: could not ask Postgres whether the call is settled; renewing');
      return false;
    }
  }

  async function renew(job: CallMeterJob): Promise<Renewal> {
    if (await settledInPostgres(job.callId)) {
      // Charged already (its report billed, or the sweeper settled it) though Redis's entry still
      // stands: the release after the charge failed. Never grow it; release it (issue 22, item 1).
      await d.releaseSettled(job.orgId, job.callId).catch((err: unknown) => {
        d.log.warn({ callId: job.callId, orgId: job.orgId, err: (err as Error).message }, 'call meter: could not release a settled call\'s Redis hold; the sweeper will');
      });
      return { outcome: 'released', path: 'cache' };
    }
    let r: Renewal;
    try {
      r = await renewOnRedis(job);
    } catch (err) {
      d.metrics.fallbacks.inc({ gate: 'meter', to: 'database', reason: 'redis_error' });
      d.log.warn({ callId: job.callId, err: (err as Error).message }, 'call meter: renewing in Postgres');
      return renewOnPostgres(job);
    }
    // Neither Redis nor Postgres's copy in Redis knew the call: Postgres may (a fallback admission).
    return r.outcome === 'missing' ? renewOnPostgres(job) : r;
  }

  return {
    /** After a Postgres-path admission: the first renewal of a metered call (batched with others). */
    start(orgId: string, hold: StoredHold, heldSeconds: number): Promise<void> {
      return next(orgId, hold, heldSeconds);
    },

    /**
     * One meter step (run by workers/call-meter-worker.ts, which passes which try of its job this
     * is). A hang-up returns what happened, or throws to be tried again (HangupPendingError).
     */
    async step(job: CallMeterJob, attempt: StepAttempt = ONE_TRY): Promise<Renewal | HangupOutcome | 'hangup_scheduled'> {
      d.metrics.callRenewalLateness.observe(Math.max(0, d.clock() - job.dueAtMs) / 1000);
      if (job.kind === 'hangup') return hangUp(job, attempt);
      if (job.kind === 'stop') {
        if (!(await isLive(job.orgId, job.callId))) return 'not_live';
        d.metrics.spendControls.inc({ control: 'wallet_frozen', surface: 'freeze', outcome: 'ended' });
        // The sentence, once; whatever its fate, the hang-up that follows is retried until it lands.
        await sendToCall(job.callId, job.orgId, { type: 'say', content: FROZEN_SENTENCE, endCallAfterSpoken: true }, 'wallet_frozen');
        await schedule({ ...job, kind: 'hangup', dueAtMs: d.clock() + FREEZE_HANGUP_AFTER_MS });
        return 'hangup_scheduled';
      }
      const r = await renew(job);
      d.metrics.callRenewals.inc({ outcome: r.outcome, path: r.path });
      const hold: StoredHold = {
        call_id: job.callId,
        state: 'held',
        amount: r.amount ?? 0,
        max_duration_seconds: job.maxDurationSeconds,
        expires_at_ms: job.expiresAtMs,
        admitted_at_ms: job.admittedAtMs,
        cap: job.cap,
        slices: job.slice,
      };
      if (r.outcome === 'renewed' || r.outcome === 'already') {
        const heldSeconds = r.heldSeconds ?? 0;
        // The next renewal, and Postgres's copy of a Redis renewal (batched; it also writes the
        // call's record if the gate's never arrived). A failed copy is counted; the next renewal
        // or the meter sweep writes it again, and the fallback path meanwhile sees the older slice.
        await Promise.all([next(job.orgId, hold, heldSeconds), r.path === 'cache' ? d.record(holdRecord(job.orgId, hold, 'metered', heldSeconds)) : undefined]);
      } else if (r.outcome === 'exhausted' || r.outcome === 'frozen' || r.outcome === 'limited') {
        await endForRenewal(job, r, hold);
      } else if (r.outcome === 'capped' && (r.heldSeconds ?? 0) < job.maxDurationSeconds) {
        // The hold cannot grow (its cap) yet pays for less than Vapi was given: a hold whose
        // terms are not the granted ones (issue 22, item 2). Vapi would run the call on to its
        // maxDurationSeconds with nothing held for it: end it when the held seconds run out.
        d.metrics.callHoldRepairs.inc({ repair: 'ended_at_cap', by: 'meter' });
        d.log.warn({ callId: job.callId, orgId: job.orgId, heldSeconds: r.heldSeconds, maxDurationSeconds: job.maxDurationSeconds }, 'call meter: hold capped below the granted maxDurationSeconds; ending the call at its cap');
        await endForRenewal(job, r, hold);
      }
      return r;
    },

    /**
     * A frozen wallet: every call of the organisation in progress (Redis's entries in state h and
     * Postgres's live rows, so a call still on its way to either is found) gets a `stop` step at
     * once: the spoken sentence, then end-call. `tag` (the wallet version) keeps the job ids of
     * one freeze apart from another's. Returns the calls found.
     */
    async endLiveCalls(orgId: string, tag: string): Promise<number> {
      const calls = new Map<string, StoredHold>();
      for (const h of await d.store.liveCalls(orgId)) calls.set(h.call_id, h);
      try {
        for (const h of await d.hot.heldEntries(orgId, d.clock())) if (!calls.has(h.call_id)) calls.set(h.call_id, h);
      } catch (err) {
        // Postgres's list stands alone (the Redis-path record reaches it within milliseconds).
        d.log.warn({ orgId, err: (err as Error).message }, 'freeze: Redis holds unreadable; ending the calls Postgres knows');
      }
      const now = d.clock();
      await Promise.all([...calls.values()].map((h) => schedule({ ...jobFor('stop', orgId, h, h.slices, now), tag })));
      return calls.size;
    },

    /** A call's control URL, from any of its messages: kept (a secret) if it may be called. */
    async learnControlUrl(callId: string, url: string): Promise<boolean> {
      if (!isAllowedControlUrl(url, control)) {
        d.metrics.callControl.inc({ action: 'learn', outcome: 'host_refused' });
        d.log.warn({ callId }, 'call control URL refused: not https on an allowed host (VAPI_CONTROL_HOSTS)');
        return false;
      }
      // Postgres keeps it durably (call_controls, whether or not the call's row exists yet); Redis
      // is the fast copy. The message is answered 200 either way; losing both is logged.
      const [inRedis, inPostgres] = await Promise.allSettled([
        d.redis.set(d.keys.callControl(callId), url, 'PX', controlTtlMs),
        d.store.setControlUrl(callId, url),
      ]);
      if (inPostgres.status === 'rejected') {
        if (inRedis.status === 'rejected') throw inPostgres.reason;
        d.log.warn({ callId, err: (inPostgres.reason as Error).message }, 'call control URL kept in Redis only');
      }
      return true;
    },

    /**
     * The sweeper's repair: the renewal a live metered call should have waiting, created when
     * Redis lost it, retried when its attempts ran out. Returns what it did.
     */
    async ensure(orgId: string, hold: StoredHold, heldSeconds: number): Promise<'none' | 'present' | 'created' | 'retried'> {
      if (callGate.holdPolicy !== 'metered' || hold.state !== 'held' || heldSeconds >= hold.max_duration_seconds) return 'none';
      const job = jobFor('renew', orgId, hold, hold.slices + 1, hold.admitted_at_ms + heldSeconds * 1000 - leadMs);
      // Asked before the queue: the pump adds the job before it removes the entry, so one of the
      // two is always there while the renewal waits. (A job added here anyway has the pump's job
      // id: BullMQ keeps one of them, and a renewal is replay-safe by its slice number.)
      if (job.slice === 2 && (await d.due.has(orgId, dueMember(job)))) {
        // Present only counts if the pump can find it: its key is indexed again (meter-due.ts).
        await d.due.index(orgId);
        return 'present';
      }
      const existing = await d.queues.callMeters.getJob(jobIdOf(job));
      if (existing) {
        if ((await existing.getState()) !== 'failed') return 'present';
        await existing.retry('failed');
        return 'retried';
      }
      await d.queues.callMeters.add('renew', job, optionsOf(job));
      return 'created';
    },

    /** Shutdown: writes the meter steps still waiting for their batch (and answers the settled questions asked). */
    close: async (): Promise<void> => {
      await Promise.all([batcher.close(), settledBatcher.close()]);
    },
  };
}

export type Meters = ReturnType<typeof createMeters>;
