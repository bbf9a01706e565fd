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
  /** Comma-separated scenario names to run; empty = all. */
  BENCH_ONLY: z.string().default(''),
  BENCH_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('warn'),
});

export type BenchSettings = z.output<typeof schema> & { only: string[] };

export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('BENCH_') && v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`bench: ${issue?.path.join('.') ?? 'settings'} ${issue?.message ?? 'invalid'}`);
  }
  const only = parsed.data.BENCH_ONLY.split(',').map((s) => s.trim()).filter(Boolean);
  return { ...parsed.data, only };
}

/** Upper bound on any single wait in the bench (process start, queue drain). */
export const BENCH_WAIT_LIMIT_MS = 120_000;
