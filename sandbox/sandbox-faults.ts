// Latency and random failures the simulators can add, for benchmarks and fault tests. Each
// simulator holds one of these and tests change it at run time (simulator.faults).
import { setTimeout as sleep } from 'node:timers/promises';

export interface SandboxFaults {
  /** Added to every request, in ms. */
  latencyMs: number;
  /** Added to purchases (Twilio create) only, in ms: the window a crash test aims at. */
  purchaseLatencyMs: number;
  /** Probability (0..1) that any request is answered 503 before it is processed. */
  failureRate: number;
  /** The next N requests are answered 503 (counts down): a deterministic outage for tests. */
  failNextRequests: number;
}

export const NO_FAULTS: SandboxFaults = { latencyMs: 0, purchaseLatencyMs: 0, failureRate: 0, failNextRequests: 0 };

export async function delay(ms: number): Promise<void> {
  if (ms > 0) await sleep(ms);
}

export function rollFailure(faults: SandboxFaults): boolean {
  if (faults.failNextRequests > 0) {
    faults.failNextRequests--;
    return true;
  }
  return faults.failureRate > 0 && Math.random() < faults.failureRate;
}
