// The bench's own knobs (BENCH_*), read once and validated; the service's settings stay in
// shared/config.ts. Every run is bounded: a duration per side, a count for job scenarios, and a
// deadline for every wait.
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  BENCH_DURATION_SECONDS: int(1, 120).default(5),
  BENCH_CONNECTIONS: int(1, 1000).default(32),
  /** Jobs submitted per side in the queue scenarios (d, e). */
  BENCH_JOBS: int(10, 100_000).default(400),
  /** Concurrency of the non-HTTP scenarios (direct SQL, service calls). */
  BENCH_CONCURRENCY: int(1, 500).default(16),
  /** Renewal scenario (g): rounds of renewals over its 1,000 live calls per side (≤ 300 keeps every hold below its cap). */
  BENCH_RENEWAL_ROUNDS: int(1, 300).default(10),
  /** Organisations (one number each) the call-gate scenarios spread calls over. */
  BENCH_GATE_ORGS: int(1, 5000).default(200),
  /** Area codes the end-to-end provisioning requests rotate over (1 = all in one area code). */
  BENCH_E2E_AREA_CODES: int(1, 40).default(40),
  /**
   * Capacity scenario (i): the numbers of live calls to try, in order, comma-separated; the
   * scenario stops after the first step that misses, or at the step BENCH_CAPACITY_BUDGET_SECONDS
   * leaves no time for.
   */
  BENCH_CAPACITY_STEPS: z
    .string()
    .regex(/^\s*\d+\s*(,\s*\d+\s*)*$/, 'must be comma-separated whole numbers')
    .default('1000,2000,4000,8000,16000'),
  /** i: CALL_HOLD_SECONDS of its world, the slice a renewal buys (the config allows 10 at least). */
  BENCH_CAPACITY_SLICE_SECONDS: int(10, 600).default(10),
  /** i: the measured window of each step, in slices (at least two, as issue 26 asks). */
  BENCH_CAPACITY_WINDOW_SLICES: int(2, 30).default(2),
  /** i: new calls per second admitted through the app during the window (each ends an old one). */
  BENCH_CAPACITY_ADMIT_RATE: int(1, 1000).default(20),
  /**
   * i: which miss ends the stepping: `both` (issue 26's rule: lateness or admissions) or
   * `lateness` (a diagnostic: step on past admission misses, to find where renewals alone give out).
   */
  BENCH_CAPACITY_STOP_ON: z.enum(['both', 'lateness']).default('both'),
  /** i: about the longest it runs: no step starts that would not end, with the baseline, within this. */
  BENCH_CAPACITY_BUDGET_SECONDS: int(30, 3600).default(180),
  /** Comma-separated scenario names to run; empty = all. */
  BENCH_ONLY: z.string().default(''),
  BENCH_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('warn'),
});

export type BenchSettings = z.output<typeof schema> & { only: string[]; capacitySteps: number[] };

export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('BENCH_') && v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`bench: ${issue?.path.join('.') ?? 'settings'} ${issue?.message ?? 'invalid'}`);
  }
  const only = parsed.data.BENCH_ONLY.split(',').map((s) => s.trim()).filter(Boolean);
  const capacitySteps = parsed.data.BENCH_CAPACITY_STEPS.split(',').map((s) => Number(s.trim()));
  if (capacitySteps.some((n) => n < 1 || n > 1_000_000)) throw new Error('bench: BENCH_CAPACITY_STEPS must each be 1–1,000,000 live calls');
  return { ...parsed.data, only, capacitySteps };
}

/** Upper bound on any single wait in the bench (process start, queue drain). */
export const BENCH_WAIT_LIMIT_MS = 120_000;
