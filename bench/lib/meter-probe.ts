// Renewal lateness as the workers process sees it, for the capacity scenario (i): every meter
// step's start (services.calls.clock(), the clock call-meter.ts step() reads) minus the due time
// its job carries — exactly what step() observes into billing_gates_call_renewal_lateness_seconds,
// but kept whole in an HDR histogram (the metric's buckets jump from 0.5 s to 1 s to 2 s, too
// coarse for a p50/p99 and a "< 1 s" verdict). The workers child (child-process.ts) wraps its
// services' meters before the workers start; the bench asks it over IPC to open a window and,
// later, to read what started inside it. The metric's own count over the same window comes back
// too, as a check that the wrap saw every step the service counted.
import type * as hdr from 'hdr-histogram-js';
import type { Services } from '../../shared/process/services';
import { newHistogram } from './loop-load';

export interface ProbeRequest {
  probe: 'meter';
  id: number;
  cmd: 'start' | 'read';
}

/** What started between 'start' and 'read' (lateness of `renew` steps only; outcomes of every step that finished by the read). */
export interface MeterWindow {
  /** `renew` steps started in the window. */
  renewals: number;
  /** Steps of any kind started in the window (hang-ups and stops too: none expected). */
  steps: number;
  /** Lateness of the window's renewals (ms); null when none started (IPC is JSON: no NaN). */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number;
  /** Renewals that started ≥ 1 s after their due time. */
  lateOver1s: number;
  /** Outcomes of the window's steps that had finished when it was read (renewed, already, …). */
  outcomes: Record<string, number>;
  /** Steps that threw (BullMQ retries them). */
  failures: number;
  /** billing_gates_call_renewal_lateness_seconds observations over the window (every kind). */
  metricCount: number;
  /** The window's length (ms), by the workers process's clock. */
  ms: number;
  /** Per second of the window (by when the step started): the worst lateness (ms), to see whether late renewals came spread or in one stall. */
  worstBySecond: number[];
}

export interface ProbeReply {
  probe: 'meter';
  id: number;
  window?: MeterWindow;
}

export function isProbeRequest(m: unknown): m is ProbeRequest {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return r.probe === 'meter' && typeof r.id === 'number' && (r.cmd === 'start' || r.cmd === 'read');
}

export function isProbeReply(m: unknown): m is ProbeReply {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return r.probe === 'meter' && typeof r.id === 'number';
}

interface Window {
  startedAt: number;
  h: hdr.Histogram;
  renewals: number;
  steps: number;
  maxMs: number;
  lateOver1s: number;
  outcomes: Map<string, number>;
  failures: number;
  metricBefore: number;
  worstBySecond: number[];
}

async function metricCount(services: Services): Promise<number> {
  const { values } = await services.metrics.callRenewalLateness.get();
  return values.find((v) => v.metricName === 'billing_gates_call_renewal_lateness_seconds_count')?.value ?? 0;
}

function outcomeOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'outcome' in value) return String(value.outcome);
  return 'unknown';
}

/**
 * Replaces services.calls.meters with a copy whose step() records its lateness first (the worker
 * looks the meters up per job, so this must run before startWorkers). Returns the IPC answerer.
 */
export function instrumentMeters(services: Services): { answer(request: ProbeRequest): Promise<ProbeReply> } {
  const meters = services.calls.meters;
  const step = meters.step;
  const clock = services.calls.clock;
  const fresh = (metricBefore: number): Window => ({
    startedAt: clock(),
    h: newHistogram(),
    renewals: 0,
    steps: 0,
    maxMs: 0,
    lateOver1s: 0,
    outcomes: new Map(),
    failures: 0,
    metricBefore,
    worstBySecond: [],
  });
  let current = fresh(0);

  services.calls.meters = {
    ...meters,
    async step(...args: Parameters<typeof step>) {
      const [job] = args;
      const w = current; // the window the step started in, even if a new one opens meanwhile
      w.steps++;
      if (job.kind === 'renew') {
        // Clamped at 0 as the metric is (a delayed job may be promoted a moment early).
        const now = clock();
        const lateMs = Math.max(0, now - job.dueAtMs);
        const second = Math.floor((now - w.startedAt) / 1000);
        w.worstBySecond[second] = Math.max(w.worstBySecond[second] ?? 0, lateMs);
        w.renewals++;
        w.maxMs = Math.max(w.maxMs, lateMs);
        if (lateMs >= 1000) w.lateOver1s++;
        w.h.recordValue(Math.max(1, Math.round(lateMs * 1000)));
      }
      try {
        const r = await step(...args);
        const o = outcomeOf(r);
        w.outcomes.set(o, (w.outcomes.get(o) ?? 0) + 1);
        return r;
      } catch (err) {
        w.failures++;
        throw err;
      }
    },
  };

  return {
    async answer(request) {
      if (request.cmd === 'start') {
        current = fresh(await metricCount(services));
        return { probe: 'meter', id: request.id };
      }
      const w = current;
      const empty = w.renewals === 0;
      return {
        probe: 'meter',
        id: request.id,
        window: {
          renewals: w.renewals,
          steps: w.steps,
          p50Ms: empty ? null : w.h.getValueAtPercentile(50) / 1000,
          p99Ms: empty ? null : w.h.getValueAtPercentile(99) / 1000,
          maxMs: w.maxMs,
          lateOver1s: w.lateOver1s,
          outcomes: Object.fromEntries(w.outcomes),
          failures: w.failures,
          metricCount: (await metricCount(services)) - w.metricBefore,
          ms: clock() - w.startedAt,
          worstBySecond: Array.from(w.worstBySecond, (x) => x ?? 0),
        },
      };
    },
  };
}
