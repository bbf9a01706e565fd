// The meter of a metered call (docs/call-gate.md "Hold lifecycle"): a delayed BullMQ job per call
// per slice (jobIds.meter(callId, n)) asks for the next slice before the seconds the hold pays for
// run out; a job survives restarts, and the sweeper re-creates meters Redis lost. The first
// renewal of a Redis-path admission starts in the due set instead (meter-due.ts: written by the
// admission's Lua step, turned into this same job by workers/meter-pump.ts). A renewal is
// one atomic step in Redis (Lua call_meter_renew), or in Postgres (call_meter_renew) when Redis
// cannot answer. When a renewal cannot be covered the call is ended through Vapi's live call
// control: a spoken sentence with endCallAfterSpoken, then `end-call` (jobIds.hangup) if the call
// is still on when its held seconds are used up. A spend control ends a call the same way, with
// its own sentence: a frozen wallet, or a limit lowered while the call was live (at its next
// renewal at the latest); freezing a wallet ends its live calls at once (endLiveCalls).
import type { Redis } from 'ioredis';
import { isAllowedControlUrl, sendControl, type ControlMessage, type ControlPolicy } from '../clients/vapi-control';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { callCharge, VAPI_MAX_DURATION_SECONDS } from '../pricing';
import { jobIds, meterJobOptions, type CallMeterJob, type Queues } from '../queues/queues';
import type { RedisKeys } from '../redis';
import { holdRecord, type CallStore, type HoldRecord, type StoredHold } from './call-store';
import { throttledLog } from './outage-log';
import { renewalLeadSeconds } from './hold-policy';
import type { RedisHolds, RenewOutcome } from './redis-holds';
import { dueMember, type MeterDue } from './meter-due';
import type { LimitName } from '../wallet/wallet-controls';
import { createBatcher } from './batcher';
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
  redis: Redis;
  keys: RedisKeys;
  queues: Queues;
  metrics: Metrics;
  log: Logger;
  /** Writes a hold's Postgres copy (batched with the gate's own records; resolves, never rejects). */
  record(hold: HoldRecord): Promise<void>;
  /** The meter's clock (ms since the epoch), the gate's: the UTC day of the daily spend. */
  clock: () => number;
  /** The billing clock's offset (ms), as the gate's: the daily spend's day is clock() + this. */
  billingOffsetMs: () => number;
}

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
  const optionsOf = (job: CallMeterJob) => meterJobOptions(jobIdOf(job), job.dueAtMs - d.clock());

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

  /** The renewal of slice `slice + 1`, due `lead` before the held seconds run out; none when the hold already pays for the whole call. */
  function next(orgId: string, hold: StoredHold, heldSeconds: number): Promise<void> {
    if (callGate.holdPolicy !== 'metered' || heldSeconds >= hold.max_duration_seconds || hold.amount >= hold.cap) return Promise.resolve();
    return schedule(jobFor('renew', orgId, hold, hold.slices + 1, hold.admitted_at_ms + heldSeconds * 1000 - leadMs));
  }

  async function controlUrlOf(callId: string): Promise<string | undefined> {
    const cached = await d.redis.get(d.keys.callControl(callId)).catch(() => null);
    if (cached) return cached;
    const m = await d.store.meter(callId);
    return m.outcome === 'found' ? (m.control_url ?? undefined) : undefined;
  }

  async function sendToCall(callId: string, orgId: string, message: ControlMessage, why = 'out of money'): Promise<void> {
    const action = message.type;
    const url = await controlUrlOf(callId);
    if (url === undefined) {
      // The call runs to its maxDurationSeconds: bounded, but an overdraft to look at.
      d.metrics.callControl.inc({ action, outcome: 'no_url' });
      d.log.warn({ callId, orgId, action, why }, 'call to be ended but its control URL is unknown; it runs to its maxDurationSeconds');
      return;
    }
    const outcome = await sendControl(url, message);
    d.metrics.callControl.inc({ action, outcome });
    d.log.info({ callId, orgId, action, outcome, why }, 'ending a call: live call control');
  }

  /** Is the call still on (held, not ended nor settled)? Redis first, else Postgres. */
  async function isLive(orgId: string, callId: string): Promise<boolean> {
    const state = await d.hot.state(orgId, callId).catch(() => undefined);
    return state !== undefined ? state === 'held' : d.store.meter(callId).then((m) => m.outcome === 'found' && m.live);
  }

  async function renewOnRedis(job: CallMeterJob): Promise<Renewal> {
    const once = () => withTimeout(d.hot.renew(job.orgId, job.callId, job.slice, sliceAmount, rate, d.clock(), d.billingOffsetMs()), callGate.redisTimeoutMs * 4, 'redis');
    let r = await once();
    if (r.outcome === 'miss') {
      const snap = await d.store.gateSnapshot(job.orgId);
      if (snap.outcome === 'found') await d.hot.fill(job.orgId, snap);
      r = await once();
    } else if (r.outcome === 'missing') {
      // Redis does not know the call (it lost its data, or the call was admitted on the Postgres
      // path): copy every open hold of the organisation from Postgres, not this one alone, so the
      // renewal is decided on all of them; then decide there.
      const snap = await d.store.gateSnapshot(job.orgId);
      if (snap.outcome === 'found' && snap.holds.some((h) => h.call_id === job.callId)) {
        await d.hot.fill(job.orgId, snap);
        d.metrics.callHoldEvents.inc({ event: 'mirrored', store: 'cache' });
        r = await once();
      }
    }
    if (r.outcome === 'limited') return { outcome: r.outcome, limit: r.limit, amount: r.amount, heldSeconds: r.heldSeconds, path: 'cache' };
    return 'amount' in r ? { outcome: r.outcome, amount: r.amount, heldSeconds: r.heldSeconds, path: 'cache' } : { outcome: r.outcome, path: 'cache' };
  }

  async function renewOnPostgres(job: CallMeterJob): Promise<Renewal> {
    const r = await d.store.renew(job.callId, job.slice, sliceAmount, rate, d.clock());
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
    await sendToCall(job.callId, job.orgId, { type: 'say', content: sentence, endCallAfterSpoken: true }, r.outcome);
    await schedule(jobFor('hangup', job.orgId, hold, job.slice, job.admittedAtMs + (r.heldSeconds ?? 0) * 1000));
  }

  async function renew(job: CallMeterJob): Promise<Renewal> {
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

    /** One meter step (run by workers/call-meter-worker.ts). */
    async step(job: CallMeterJob): Promise<Renewal | 'hung_up' | 'not_live'> {
      d.metrics.callRenewalLateness.observe(Math.max(0, d.clock() - job.dueAtMs) / 1000);
      if (job.kind === 'hangup') {
        if (!(await isLive(job.orgId, job.callId))) return 'not_live';
        await sendToCall(job.callId, job.orgId, { type: 'end-call' }, job.tag === undefined ? 'hangup' : 'wallet_frozen');
        return 'hung_up';
      }
      if (job.kind === 'stop') {
        if (!(await isLive(job.orgId, job.callId))) return 'not_live';
        d.metrics.spendControls.inc({ control: 'wallet_frozen', surface: 'freeze', outcome: 'ended' });
        await sendToCall(job.callId, job.orgId, { type: 'say', content: FROZEN_SENTENCE, endCallAfterSpoken: true }, 'wallet_frozen');
        await schedule({ ...job, kind: 'hangup', dueAtMs: d.clock() + FREEZE_HANGUP_AFTER_MS });
        return 'hung_up';
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
        for (const h of await d.hot.heldEntries(orgId)) if (!calls.has(h.call_id)) calls.set(h.call_id, h);
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
      if (callGate.holdPolicy !== 'metered' || hold.state !== 'held' || heldSeconds >= hold.max_duration_seconds || hold.amount >= hold.cap) return 'none';
      const job = jobFor('renew', orgId, hold, hold.slices + 1, hold.admitted_at_ms + heldSeconds * 1000 - leadMs);
      // Asked before the queue: the pump adds the job before it removes the entry, so one of the
      // two is always there while the renewal waits. (A job added here anyway has the pump's job
      // id: BullMQ keeps one of them, and a renewal is replay-safe by its slice number.)
      if (job.slice === 2 && (await d.due.has(dueMember(job)))) return 'present';
      const existing = await d.queues.callMeters.getJob(jobIdOf(job));
      if (existing) {
        if ((await existing.getState()) !== 'failed') return 'present';
        await existing.retry('failed');
        return 'retried';
      }
      await d.queues.callMeters.add('renew', job, optionsOf(job));
      return 'created';
    },

    /** Shutdown: writes the meter steps still waiting for their batch. */
    close: (): Promise<void> => batcher.close(),
  };
}

export type Meters = ReturnType<typeof createMeters>;
