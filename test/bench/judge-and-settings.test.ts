// The bench's pure pieces that decide a verdict: judge() with issue 26's absolute bounds (the
// capacity steps of bench/scenarios/i-capacity.ts), and the BENCH_CAPACITY_* settings.
import { readSettings } from '../../bench/lib/settings';
import { judge, type Measurement, type ScenarioResult, type Target } from '../../bench/lib/types';

const m = (throughput: number, p99Ms: number): Measurement => ({ label: 'x', throughput, unit: 'ops/s', p50Ms: p99Ms / 2, p99Ms, count: 1, errors: 0, durationSeconds: 1 });
const result = (subject: Measurement, baseline: Measurement, target?: Target): ScenarioResult => ({ name: 'n', title: 't', subject, baseline, target, notes: [] });
const bounds: Target = { subjectP99BelowMs: 1000, baselineP99BelowMs: 10, text: 'capacity' };

describe('judge', () => {
  it('passes a capacity step only when both lines are strictly below their bounds', () => {
    expect(judge(result(m(100, 999), m(20, 9.99), bounds)).verdict).toBe('PASS');
    expect(judge(result(m(100, 1000), m(20, 5), bounds)).verdict).toBe('MISS');
    expect(judge(result(m(100, 50), m(20, 10), bounds)).verdict).toBe('MISS');
  });

  it('misses when a bounded figure was not measured (NaN)', () => {
    expect(judge(result(m(0, Number.NaN), m(20, 5), bounds)).verdict).toBe('MISS');
    expect(judge(result(m(100, 50), m(0, Number.NaN), bounds)).verdict).toBe('MISS');
  });

  it('keeps the ratio targets as they were, and INFO without any bound', () => {
    const ratio: Target = { minThroughputRatio: 0.85, maxP99Ratio: 1.5, text: 'ratio' };
    expect(judge(result(m(85, 15), m(100, 10), ratio)).verdict).toBe('PASS');
    expect(judge(result(m(84, 15), m(100, 10), ratio)).verdict).toBe('MISS');
    expect(judge(result(m(100, 16), m(100, 10), ratio)).verdict).toBe('MISS');
    expect(judge(result(m(1, 1), m(100, 10))).verdict).toBe('INFO');
    expect(judge(result(m(1, 1), m(100, 10), { text: 'none' })).verdict).toBe('INFO');
  });
});

describe('readSettings: BENCH_CAPACITY_*', () => {
  it('has issue 26 defaults', () => {
    const s = readSettings({});
    expect(s.capacitySteps).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(s.BENCH_CAPACITY_SLICE_SECONDS).toBe(10);
    expect(s.BENCH_CAPACITY_WINDOW_SLICES).toBe(2);
  });

  it('reads the steps as whole numbers, spaces allowed', () => {
    expect(readSettings({ BENCH_CAPACITY_STEPS: ' 500, 1500 ,3000' }).capacitySteps).toEqual([500, 1500, 3000]);
  });

  it('refuses malformed steps, a slice the config would refuse, a window under two slices', () => {
    expect(() => readSettings({ BENCH_CAPACITY_STEPS: '1000,,2000' })).toThrow(/BENCH_CAPACITY_STEPS/);
    expect(() => readSettings({ BENCH_CAPACITY_STEPS: '0' })).toThrow(/BENCH_CAPACITY_STEPS/);
    expect(() => readSettings({ BENCH_CAPACITY_SLICE_SECONDS: '5' })).toThrow(/BENCH_CAPACITY_SLICE_SECONDS/);
    expect(() => readSettings({ BENCH_CAPACITY_WINDOW_SLICES: '1' })).toThrow(/BENCH_CAPACITY_WINDOW_SLICES/);
  });
});
