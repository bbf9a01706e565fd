// npm run bench: every scenario beside its baseline, measured in the same run; a table, JSON
// under bench/results/ and an SVG chart. Bounded by BENCH_DURATION_SECONDS per side (default 5)
// and BENCH_JOBS per queue scenario; BENCH_ONLY=a,b runs a subset.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { table, writeResults } from './lib/report';
import { readSettings } from './lib/settings';
import type { Scenario, ScenarioResult } from './lib/types';

async function loadScenarios(): Promise<Scenario[]> {
  const dir = join(__dirname, 'scenarios');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort();
  const out: Scenario[] = [];
  for (const f of files) {
    const mod = (await import(join(dir, f))) as { scenario?: Scenario };
    if (!mod.scenario) throw new Error(`bench/scenarios/${f} exports no scenario`);
    out.push(mod.scenario);
  }
  return out;
}

async function main(): Promise<void> {
  const settings = readSettings();
  const all = await loadScenarios();
  const chosen = settings.only.length ? all.filter((s) => settings.only.includes(s.name)) : all;
  if (chosen.length === 0) throw new Error(`no scenario matches BENCH_ONLY=${settings.BENCH_ONLY}; have ${all.map((s) => s.name).join(', ')}`);
  process.stdout.write(`bench: ${chosen.length} scenarios, ${settings.BENCH_DURATION_SECONDS}s per side, ${settings.BENCH_CONNECTIONS} connections, ${settings.BENCH_JOBS} jobs per queue side\n`);

  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  for (const s of chosen) {
    process.stdout.write(`\n== ${s.name}: ${s.title}\n`);
    const progress = (line: string) => process.stdout.write(`  ${line}\n`);
    const t0 = Date.now();
    try {
      const { also = [], ...r } = await s.run(settings, progress);
      results.push({ name: s.name, title: s.title, target: s.target, ...r });
      for (const n of r.notes) progress(`note: ${n}`);
      for (const x of also) {
        results.push({ ...x, target: x.target });
        for (const n of x.notes) progress(`note (${x.name}): ${n}`);
      }
    } catch (err) {
      failures.push(`${s.name}: ${(err as Error).message}`);
      progress(`FAILED: ${(err as Error).stack ?? String(err)}`);
    }
    progress(`(${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  }

  process.stdout.write(`\n${table(results)}\n`);
  const files = await writeResults(results, { settings, failures });
  process.stdout.write(`\nwrote ${files.json}\n      ${files.svg}\n`);
  if (failures.length) {
    process.stdout.write(`\nscenarios that could not run:\n  ${failures.join('\n  ')}\n`);
    process.exitCode = 1;
  }
}

void main().then(
  // Everything is written: leave now, so that a handle a scenario failed to close can never keep
  // the run alive past its results.
  () => process.exit(),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
