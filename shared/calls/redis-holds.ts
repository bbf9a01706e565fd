// The hot copy of the holds, per organisation, next to the cached wallet hash (keys.wallet(orgId),
// written by shared/cache/balance-cache.ts). All keys carry the {orgId} hash tag, so each script
// (call-*.lua beside this file) touches one slot and runs atomically, on one Redis or a Redis
// Cluster — call_gate_decide's and call_gate_adopt's due set of first renewals included: D =
// keys.meterDue(orgId) is the due key sharded into the organisation's slot (shared/redis.ts,
// meter-due.ts). Before a metered decide (the only script that adds to D) or an adopt runs, the
// due key's tag is added to the index keys.meterDueIndex (a separate command: the index lives in a
// slot of its own), so the pump knows every key an entry can be in:
//   H = keys.holds(orgId)            hash   call id → "<state>|<amount>|<maxDuration s>|<expiresAtMs>|<admittedAtMs>|<cap>|<slices>"
//                                           then "|<rate per minute>|<connect fee>|<minimum s>|<increment s>": the
//                                           rate fixed at admission (CONTRACT §10; absent on older entries: the default)
//   E = keys.holds(orgId) + ':expiry' zset   call id → expiresAtMs (finds expired entries in O(log n))
//   S = keys.holds(orgId) + ':sum'   string  Σ amount of the entries that count (states h and e)
// States: h (held: the call is live; a metered hold is renewed), e (ended: its status-update
// "ended" came and the hold was sized to the time used; it counts until the charge replaces it),
// r (released: the charge is posted; remembered until it expires, so a repeated
// assistant-request for the call gets the same answer and no second hold). Keeping S and E makes
// an admission cost O(log n + expired) rather than a scan of every call in progress.
import { join } from 'node:path';
import { loadLuaScript } from '../load-lua-script';
import { VAPI_MAX_DURATION_SECONDS, VAPI_MIN_DURATION_SECONDS, type CallRate } from '../pricing';
import { tagOfSlot, type RedisClient, type RedisKeys } from '../redis';
import type { ControlRefusal, HoldStep, StoredHold } from './call-store';
import { controlsArgs, type LimitName, type WalletControls } from '../wallet/wallet-controls';
import { renewalLeadSeconds } from './hold-policy';

// The scripts, one file each beside this one (their headers list KEYS, ARGV, replies and
// effects), with the pieces they share in includes/; read once, when this module loads.
const script = (name: string) => loadLuaScript(join(__dirname, name));
const CALL_GATE_DECIDE = script('call-gate-decide-5.lua');
const CALL_METER_RENEW = script('call-meter-renew-4.lua');
const CALL_GATE_END = script('call-gate-end-4.lua');
const CALL_GATE_RELEASE = script('call-gate-release-4.lua');
const CALL_GATE_CANCEL = script('call-gate-cancel-4.lua');
const CALL_GATE_FILL = script('call-gate-fill-4.lua');
const CALL_GATE_HELD = script('call-gate-held-4.lua');
const CALL_GATE_ADOPT = script('call-gate-adopt-5.lua');

type Keys = [wallet: string, holds: string, expiry: string, sum: string];
type Args = Array<string | number>;
type Commands = {
  callGateDecide(...args: [...Keys, due: string, ...Args]): Promise<string[]>;
  callMeterRenew(...args: [...Keys, ...Args]): Promise<string[]>;
  callGateEnd(...args: [...Keys, ...Args]): Promise<string[]>;
  callGateRelease(...args: [...Keys, callId: string, nowMs: number, keepUntilMs: number]): Promise<number>;
  callGateCancel(...args: [...Keys, callId: string, nowMs: number]): Promise<number>;
  callGateFill(...args: [...Keys, ...Args]): Promise<[stored: number, adopted: number]>;
  callGateHeld(...args: [...Keys, nowMs: number]): Promise<string>;
  callGateAdopt(...args: [...Keys, due: string, ...Args]): Promise<[AdoptOutcome]>;
};

function withCommands(redis: RedisClient): RedisClient & Commands {
  if (!('callMeterRenew' in redis)) {
    redis.defineCommand('callGateDecide', CALL_GATE_DECIDE);
    redis.defineCommand('callMeterRenew', CALL_METER_RENEW);
    redis.defineCommand('callGateEnd', CALL_GATE_END);
    redis.defineCommand('callGateRelease', CALL_GATE_RELEASE);
    redis.defineCommand('callGateCancel', CALL_GATE_CANCEL);
    redis.defineCommand('callGateFill', CALL_GATE_FILL);
    redis.defineCommand('callGateHeld', CALL_GATE_HELD);
    redis.defineCommand('callGateAdopt', CALL_GATE_ADOPT);
  }
  return redis as RedisClient & Commands;
}

/** What the decide script needs to plan a hold: Config.pricing and the gate's settings. */
export interface HoldTerms {
  ratePerMinute: number;
  minBalance: number;
  safetyMarginSeconds: number;
  holdGraceSeconds: number;
  policy: 'metered' | 'full';
  holdSeconds: number;
  /** The call's rate (CONTRACT §10); absent: ratePerMinute, no fee, no minimum, increments of 1 s. */
  rate?: CallRate;
}

export type RedisDecision =
  | { outcome: 'miss' }
  | Exclude<HoldStep, { outcome: 'held' } | { outcome: 'not_found' }>
  | { outcome: 'held'; hold_amount: number; max_duration_seconds: number; available: number; expires_at_ms: number; cap: number; held_seconds: number };

export type RenewOutcome =
  | { outcome: 'renewed' | 'already' | 'capped' | 'exhausted' | 'frozen'; amount: number; heldSeconds: number }
  | { outcome: 'limited'; limit: LimitName; amount: number; heldSeconds: number }
  | { outcome: 'ended' | 'released' | 'missing' | 'miss' };

/** A call's hold as Redis knows it after its "ended" (what Postgres needs to record the same). */
export type EndOutcome =
  | {
      outcome: 'ended' | 'already';
      amount: number;
      admittedAtMs: number;
      maxDurationSeconds: number;
      expiresAtMs: number;
      cap: number;
      slices: number;
      /** The entry's rate (absent on entries written before rates were kept). */
      rate: { rate_per_minute: number; connect_fee: number; minimum_seconds: number; increment_seconds: number } | undefined;
    }
  | { outcome: 'released' | 'missing' };

/** What call_gate_adopt did to the call's Redis entry (see call-gate-adopt-5.lua). */
export type AdoptOutcome = 'added' | 'adopted' | 'kept';

export interface WalletFill {
  balance: number;
  version: number;
  currency: string;
  controls: WalletControls;
  holds: StoredHold[];
}

const num = (s: string | undefined) => Number(s);

function existingState(s: string | undefined): 'held' | 'ended' | 'released' {
  return s === 'released' ? 'released' : s === 'ended' ? 'ended' : 'held';
}

/** A hold's rate as four script arguments ('' when it has none: the scripts use the default rate). */
function rateArgs(h: StoredHold): Array<string | number> {
  if (h.rate_per_minute === null || h.rate_per_minute === undefined) return ['', '', '', ''];
  return [h.rate_per_minute, h.connect_fee ?? 0, h.minimum_seconds ?? 0, h.increment_seconds ?? 1];
}

/** An entry's expiry has passed at nowMs: the scripts' purge() removes it (ZRANGEBYSCORE −inf now). */
function isExpired(expiresAtMs: string | undefined, nowMs: number): boolean {
  const at = Number(expiresAtMs);
  // A malformed expiry is no live call either (parse() in the scripts reads it as no entry).
  return !Number.isFinite(at) || at <= nowMs;
}

function holdArgs(holds: StoredHold[]): Array<string | number> {
  return holds.flatMap((h) => [h.call_id, h.state === 'ended' ? 'e' : 'h', h.amount, h.max_duration_seconds, h.expires_at_ms, h.admitted_at_ms, h.cap, h.slices, ...rateArgs(h)]);
}

/** How long a due key's tag, once indexed by this process, is taken as indexed (ms). */
export const INDEX_MEMO_MS = 5000;

/** `clock` scores the due index and times INDEX_MEMO_MS (the meter sweep's prune reads both by it). */
export function createRedisHolds(redis: RedisClient, keys: RedisKeys, walletTtlSeconds: number, clock: () => number = Date.now) {
  const r = withCommands(redis);
  // The slot → tag table behind keys.meterDue is built on its first use (≈ 14 ms): here, at
  // start, rather than inside the first metered admission's Redis time bound.
  tagOfSlot(0);
  // Where the decide script schedules a metered call's first renewal (meter-due.ts).
  const leadMsOf = (holdSeconds: number) => renewalLeadSeconds(holdSeconds) * 1000;
  const k = (orgId: string): Keys => {
    const holds = keys.holds(orgId);
    return [keys.wallet(orgId), holds, `${holds}:expiry`, `${holds}:sum`];
  };
  /**
   * Sends `script` once the due key `tag` is in the index (ZADD, scored now: idempotent, its reply
   * awaited, so a script that writes a due entry never runs before its key is indexed; a failed
   * ZADD fails the call without running the script). The script is sent in the reaction to that
   * reply — one promise step, the same for decide and adopt — so two calls for one organisation
   * send their scripts in the order they sent their ZADDs (one connection to the index's server,
   * in order): adopt, sent after a stalled decide, still runs after it.
   *
   * A tag this process indexed less than INDEX_MEMO_MS ago is not indexed again (the hot path
   * would pay that round trip on every metered admission). The memo runs from the score the ZADD
   * wrote, not from its reply, so this process writes a key without indexing it only while its
   * own score of the tag is younger than INDEX_MEMO_MS. The meter sweep's prune (meter-due.ts)
   * removes only a tag whose score (the last ZADD by any process) is older than
   * DUE_INDEX_IDLE_MS = INDEX_MEMO_MS + 55 s, so never one a live memo relies on; a tag indexed
   * longer ago is indexed again here before the write, and so found by the pump. A Redis that
   * lost its data lost the tags with the due entries; the meter sweep re-creates those renewals
   * from Postgres and re-indexes a due key it finds a renewal in (call-meter.ts ensure()), which
   * covers entries written within INDEX_MEMO_MS after the loss. Order still holds: both calls
   * wait on ZADDs sent in order, or neither waits.
   */
  const indexedAt = new Map<string, number>();
  const indexedThen = <T>(tag: string, script: () => Promise<T>): Promise<T> => {
    const at = indexedAt.get(tag);
    if (at !== undefined && clock() - at < INDEX_MEMO_MS) return script();
    const sentAt = clock();
    return redis.zadd(keys.meterDueIndex, sentAt, tag).then(() => {
      indexedAt.set(tag, sentAt);
      return script();
    });
  };
  return {
    /**
     * Probe, plan and hold in one atomic call (see call_gate_decide); `billingOffsetMs` moves only
     * the spend day. The hold is planned at `t.rate` when given (the rate fixed at admission).
     */
    async decide(orgId: string, callId: string, t: HoldTerms, nowMs = Date.now(), billingOffsetMs = 0): Promise<RedisDecision> {
      const rate = t.rate;
      const tag = keys.meterDueTag(orgId);
      const decide = () => r.callGateDecide(
        ...k(orgId),
        keys.meterDueOfTag(tag),
        callId,
        nowMs,
        rate?.ratePerMinute ?? t.ratePerMinute,
        t.minBalance,
        t.safetyMarginSeconds,
        t.holdGraceSeconds,
        VAPI_MIN_DURATION_SECONDS,
        VAPI_MAX_DURATION_SECONDS,
        t.policy,
        t.holdSeconds,
        leadMsOf(t.holdSeconds),
        orgId,
        billingOffsetMs,
        rate?.connectFee ?? 0,
        rate?.minimumSeconds ?? 0,
        rate?.incrementSeconds ?? 1,
      );
      // Only a metered admission writes a due entry; under the full policy there is nothing to index.
      const reply = await (t.policy === 'metered' ? indexedThen(tag, decide) : decide());
      const [kind, a, b, c, e, cap, held] = reply;
      switch (kind) {
        case 'miss':
          return { outcome: 'miss' };
        case 'existing':
          return { outcome: 'existing', hold_amount: num(a), max_duration_seconds: num(b), hold_state: existingState(c) };
        case 'available':
          return { outcome: 'available', available: num(a) };
        case 'refused':
          return { outcome: 'refused', reason: a as ControlRefusal };
        case 'held':
          return { outcome: 'held', hold_amount: num(a), max_duration_seconds: num(b), available: num(c), expires_at_ms: num(e), cap: num(cap), held_seconds: num(held) };
        default:
          throw new Error(`invariant violated: call_gate_decide returned ${JSON.stringify(reply)}`);
      }
    },
    /**
     * Grants slice `sliceNo` of a metered call if the wallet covers it (see call_meter_renew): with
     * `sliceSeconds`, the slice is their cost at the call's own rate; else `sliceAmount`.
     * `ratePerMinute` is the rate of an entry written before rates were kept; `billingOffsetMs`
     * moves only the spend day.
     */
    async renew(orgId: string, callId: string, sliceNo: number, sliceAmount: number, ratePerMinute: number, nowMs = Date.now(), billingOffsetMs = 0, sliceSeconds?: number): Promise<RenewOutcome> {
      const args: Array<string | number> = [callId, nowMs, sliceNo, sliceAmount, ratePerMinute, billingOffsetMs];
      if (sliceSeconds !== undefined) args.push(sliceSeconds);
      const [kind, a, b, c] = await r.callMeterRenew(...k(orgId), ...args);
      switch (kind) {
        case 'renewed':
        case 'already':
        case 'capped':
        case 'exhausted':
        case 'frozen':
          return { outcome: kind, amount: num(a), heldSeconds: num(b) };
        case 'limited':
          return { outcome: kind, limit: a as LimitName, amount: num(b), heldSeconds: num(c) };
        case 'ended':
        case 'released':
        case 'missing':
        case 'miss':
          return { outcome: kind };
        default:
          throw new Error(`invariant violated: call_meter_renew returned ${String(kind)}`);
      }
    },
    /** The call's "ended": its hold becomes the cost of the time used (see call_gate_end). */
    async end(orgId: string, callId: string, ratePerMinute: number, graceSeconds: number, nowMs = Date.now()): Promise<EndOutcome> {
      const [kind, a, t, m, x, c, s, pm, fee, min, inc] = await r.callGateEnd(...k(orgId), callId, nowMs, ratePerMinute, graceSeconds);
      if (kind === 'ended' || kind === 'already') {
        const rate = pm ? { rate_per_minute: num(pm), connect_fee: num(fee), minimum_seconds: num(min), increment_seconds: num(inc) } : undefined;
        return { outcome: kind, amount: num(a), admittedAtMs: num(t), maxDurationSeconds: num(m), expiresAtMs: num(x), cap: num(c), slices: num(s), rate };
      }
      if (kind === 'released' || kind === 'missing') return { outcome: kind };
      throw new Error(`invariant violated: call_gate_end returned ${String(kind)}`);
    },
    async release(orgId: string, callId: string, keepUntilMs: number, nowMs = Date.now()): Promise<boolean> {
      return (await r.callGateRelease(...k(orgId), callId, nowMs, keepUntilMs)) === 1;
    },
    /** Takes back an unrenewed live hold of a call that was refused after all. */
    async cancel(orgId: string, callId: string, nowMs = Date.now()): Promise<boolean> {
      return (await r.callGateCancel(...k(orgId), callId, nowMs)) === 1;
    },
    /**
     * The wallet (version-guarded) and the Postgres holds Redis does not know; an entry whose
     * terms (maxDuration, cap) differ from its Postgres hold's takes Postgres's (`adopted` counts them).
     */
    async fill(orgId: string, snap: WalletFill, nowMs = Date.now()): Promise<{ stored: boolean; adopted: number }> {
      const [stored, adopted] = await r.callGateFill(...k(orgId), '1', snap.version, snap.balance, snap.currency, walletTtlSeconds * 1000, nowMs, ...controlsArgs(snap.controls), ...holdArgs(snap.holds));
      return { stored: stored === 1, adopted: Number(adopted) };
    },
    /** Only the holds (the sweeper after Redis lost data, an "ended" Redis did not know); returns how many entries took Postgres's terms. */
    async mirror(orgId: string, holds: StoredHold[], nowMs = Date.now()): Promise<number> {
      if (holds.length === 0) return 0;
      const [, adopted] = await r.callGateFill(...k(orgId), '0', 0, 0, '', 0, nowMs, '0', 0, 0, -1, -1, -1, ...holdArgs(holds));
      return Number(adopted);
    },
    /**
     * After a Postgres-path answer: the call's Redis entry takes exactly the hold Postgres granted
     * (the terms Vapi was given), whether Redis has none or a stalled decide wrote its own late
     * (see call_gate_adopt). Sent after decide (indexedThen) on the connection decide went out on
     * (one Redis, or the organisation's slot's master), so it runs after it.
     */
    async adopt(orgId: string, hold: StoredHold, t: Pick<HoldTerms, 'ratePerMinute' | 'holdSeconds'>, nowMs = Date.now()): Promise<AdoptOutcome> {
      // Adopt only removes from D, but goes through the index step as decide does, to be sent after it.
      const tag = keys.meterDueTag(orgId);
      const [outcome] = await indexedThen(tag, () =>
        r.callGateAdopt(...k(orgId), keys.meterDueOfTag(tag), hold.call_id, nowMs, ...holdArgs([hold]).slice(1, 8), t.ratePerMinute, leadMsOf(t.holdSeconds), orgId, ...rateArgs(hold)),
      );
      if (outcome !== 'added' && outcome !== 'adopted' && outcome !== 'kept') throw new Error(`invariant violated: call_gate_adopt returned ${String(outcome)}`);
      return outcome;
    },
    /**
     * The unexpired entries in state h (calls in progress) at nowMs, read as StoredHold: the one
     * place TypeScript reads the entry format H documents above (the scripts read it with
     * parse(), includes/hold-entry.lua). An entry whose expiry has passed is not a call in progress: every script purges
     * it (expiresAtMs ≤ now, purge()) before reading H, and Vapi has cut the call at its
     * maxDurationSeconds by then; until a script runs it is still in H, and is skipped here.
     */
    async heldEntries(orgId: string, nowMs = Date.now()): Promise<StoredHold[]> {
      const out: StoredHold[] = [];
      for (const [callId, v] of Object.entries(await redis.hgetall(keys.holds(orgId)))) {
        const [state, amount, maxd, expires, admitted, cap, slices, rate, fee, minimum, increment] = v.split('|');
        if (state !== 'h' || isExpired(expires, nowMs)) continue;
        const rated = rate !== undefined && rate !== '';
        out.push({
          call_id: callId,
          state: 'held',
          amount: Number(amount),
          max_duration_seconds: Number(maxd),
          expires_at_ms: Number(expires),
          admitted_at_ms: Number(admitted),
          cap: Number(cap),
          slices: Number(slices),
          ...(rated ? { rate_per_minute: Number(rate), connect_fee: Number(fee), minimum_seconds: Number(minimum), increment_seconds: Number(increment) } : {}),
        });
      }
      return out;
    },
    /**
     * The call's entry state at nowMs: `expired` when its expiry has passed (as the scripts'
     * purge() counts it: the call is over, whatever state the entry was left in), undefined when
     * Redis does not know the call.
     */
    async state(orgId: string, callId: string, nowMs = Date.now()): Promise<'held' | 'ended' | 'released' | 'expired' | undefined> {
      const v = await redis.hget(keys.holds(orgId), callId);
      if (v === null) return undefined;
      const [s, , , expires] = v.split('|');
      if (isExpired(expires, nowMs)) return 'expired';
      return s === 'h' ? 'held' : s === 'e' ? 'ended' : s === 'r' ? 'released' : undefined;
    },
    async held(orgId: string, nowMs = Date.now()): Promise<number> {
      return Number(await r.callGateHeld(...k(orgId), nowMs));
    },
  };
}

export type RedisHolds = ReturnType<typeof createRedisHolds>;
