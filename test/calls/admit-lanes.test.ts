// The Postgres-path admission's batching (issue 15): group commit in each lane
// (createResultBatcher with sendWhenIdle) and the lane of an organisation. The batcher is ours and
// pure: `write` here is the store call it would make, held open or released by the test, so each
// claim is shown at the moment it matters rather than by timing. The lanes' transactions against
// real Postgres are proven in admit-batch-gate.test.ts and admit-batch.test.ts.
import { randomUUID } from 'node:crypto';
import { createResultBatcher } from '../../shared/calls/batcher';
import { ADMIT_LANES, admitLaneOf } from '../../shared/calls/call-gate';

/** A store call the test answers by hand: each write is recorded with the release of its answer. */
function heldWrites() {
  const writes: Array<{ items: string[]; release: () => void }> = [];
  const write = (items: string[]) =>
    new Promise<string[]>((resolve) => {
      writes.push({ items, release: () => resolve(items.map((i) => `done:${i}`)) });
    });
  return { writes, write };
}

const tick = () => new Promise<void>((r) => setImmediate(r));
const LONG_WINDOW_MS = 60_000;

describe('group commit (sendWhenIdle)', () => {
  it('sends an item that finds nothing out at once, without waiting for the window', async () => {
    const { writes, write } = heldWrites();
    const b = createResultBatcher(write, { flushMs: LONG_WINDOW_MS, batchMax: 32, sendWhenIdle: true });
    const answer = b.add('a');
    expect(writes.map((w) => w.items)).toEqual([['a']]);
    writes[0]!.release();
    await expect(answer).resolves.toBe('done:a');
    await b.close();
  });

  it('gathers what arrives while a batch is out and sends it together when that batch returns', async () => {
    const { writes, write } = heldWrites();
    const b = createResultBatcher(write, { flushMs: LONG_WINDOW_MS, batchMax: 32, sendWhenIdle: true });
    const first = b.add('a');
    const later = ['b', 'c', 'd'].map((x) => b.add(x));
    await tick();
    expect(writes.map((w) => w.items)).toEqual([['a']]);
    writes[0]!.release();
    await first;
    await tick();
    expect(writes.map((w) => w.items)).toEqual([['a'], ['b', 'c', 'd']]);
    writes[1]!.release();
    await expect(Promise.all(later)).resolves.toEqual(['done:b', 'done:c', 'done:d']);
    await b.close();
  });

  it('does not let a batch that never returns hold the others: they go after the window', async () => {
    const { writes, write } = heldWrites();
    const b = createResultBatcher(write, { flushMs: 20, batchMax: 32, sendWhenIdle: true });
    void b.add('stuck');
    const next = b.add('next');
    await tick();
    expect(writes).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(writes.map((w) => w.items)).toEqual([['stuck'], ['next']]);
    writes[1]!.release();
    await expect(next).resolves.toBe('done:next');
    writes[0]!.release();
    await b.close();
  });

  it('still sends at batchMax while a batch is out', async () => {
    const { writes, write } = heldWrites();
    const b = createResultBatcher(write, { flushMs: LONG_WINDOW_MS, batchMax: 2, sendWhenIdle: true });
    const all = ['a', 'b', 'c'].map((x) => b.add(x));
    expect(writes.map((w) => w.items)).toEqual([['a'], ['b', 'c']]);
    for (const w of writes) w.release();
    await expect(Promise.all(all)).resolves.toEqual(['done:a', 'done:b', 'done:c']);
    await b.close();
  });

  it('without it, a lone item waits for the window (the hold recorder and the meters batch so)', async () => {
    const { writes, write } = heldWrites();
    const b = createResultBatcher(write, { flushMs: 30, batchMax: 32 });
    const answer = b.add('a');
    await tick();
    expect(writes).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 60));
    expect(writes.map((w) => w.items)).toEqual([['a']]);
    writes[0]!.release();
    await expect(answer).resolves.toBe('done:a');
    await b.close();
  });
});

describe('admission lanes', () => {
  it('gives an organisation one lane every time, and spreads organisations over every lane', () => {
    const ids = Array.from({ length: 2000 }, () => randomUUID());
    const counts = new Array<number>(ADMIT_LANES).fill(0);
    for (const id of ids) {
      const lane = admitLaneOf(id);
      expect(admitLaneOf(id)).toBe(lane);
      expect(lane).toBeGreaterThanOrEqual(0);
      expect(lane).toBeLessThan(ADMIT_LANES);
      counts[lane]! += 1;
    }
    // Binomial spread: each lane within 15% of its share at 2000 ids (> 6 sigma for two lanes).
    for (const c of counts) expect(Math.abs(c - ids.length / ADMIT_LANES)).toBeLessThan((0.15 * ids.length) / ADMIT_LANES);
  });

  it('puts an id that is not a uuid in lane 0 rather than nowhere', () => {
    expect(admitLaneOf('not-a-uuid')).toBe(0);
    expect(admitLaneOf('')).toBe(0);
  });
});
