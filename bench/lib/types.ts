// What a scenario measures and how it is judged: each scenario measures its subject and its
// baseline in the same run, on the same machine, with the same concurrency.
import type { CpuMs } from './cpu-time';
import type { BenchSettings } from './settings';

export interface Measurement {
  label: string;
  /** Completed operations per second (HTTP 2xx, jobs settled, SQL calls returned). */
  throughput: number;
  unit: 'req/s' | 'ops/s' | 'jobs/s';
  p50Ms: number;
  p99Ms: number;
  count: number;
  errors: number;
  durationSeconds: number;
  /** CPU the side cost by process group (HTTP sides given their server's pid, on Linux). */
  cpu?: CpuMs;
}

export interface Target {
  /** Subject throughput must be at least this fraction of the baseline's. */
  minThroughputRatio?: number;
  /** Subject p99 must be at most this multiple of the baseline's. */
  maxP99Ratio?: number;
  /**
   * Absolute bounds, for rows whose two lines are two measurements of one run rather than a
   * subject and its baseline (the capacity steps of i: renewal lateness, then admission latency):
   * each line's p99 must be below this (ms).
   */
  subjectP99BelowMs?: number;
  baselineP99BelowMs?: number;
  text: string;
}

export interface ScenarioResult {
  name: string;
  title: string;
  subject: Measurement;
  baseline: Measurement;
  target: Target | undefined;
  notes: string[];
}

/**
 * Further rows a scenario measured in the same run (another setting of the same subject beside
 * the same baseline measurement, or a second metric of the same world). Each is reported and
 * judged as a result of its own.
 */
export type ExtraResult = Omit<ScenarioResult, 'target'> & { target?: Target };

export interface ScenarioOutput extends Omit<ScenarioResult, 'name' | 'title' | 'target'> {
  also?: ExtraResult[];
}

export interface Scenario {
  name: string;
  title: string;
  target?: Target;
  run(settings: BenchSettings, progress: (line: string) => void): Promise<ScenarioOutput>;
}

export type Verdict = 'PASS' | 'MISS' | 'INFO';

export function judge(r: ScenarioResult): { verdict: Verdict; throughputRatio: number; p99Ratio: number } {
  const throughputRatio = r.baseline.throughput > 0 ? r.subject.throughput / r.baseline.throughput : 0;
  const p99Ratio = r.baseline.p99Ms > 0 ? r.subject.p99Ms / r.baseline.p99Ms : Number.POSITIVE_INFINITY;
  const t = r.target;
  if (!t || (t.minThroughputRatio === undefined && t.maxP99Ratio === undefined && t.subjectP99BelowMs === undefined && t.baselineP99BelowMs === undefined)) return { verdict: 'INFO', throughputRatio, p99Ratio };
  const okT = t.minThroughputRatio === undefined || throughputRatio >= t.minThroughputRatio;
  const okP = t.maxP99Ratio === undefined || p99Ratio <= t.maxP99Ratio;
  // NaN (nothing measured) fails both comparisons: no figure is no pass.
  const okS = t.subjectP99BelowMs === undefined || r.subject.p99Ms < t.subjectP99BelowMs;
  const okB = t.baselineP99BelowMs === undefined || r.baseline.p99Ms < t.baselineP99BelowMs;
  return { verdict: okT && okP && okS && okB ? 'PASS' : 'MISS', throughputRatio, p99Ratio };
}
