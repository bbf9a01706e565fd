// Micro-batchers for the hot path: what is added within `flushMs` (or until `batchMax` are
// waiting) goes to the store in one call, so a burst pays one round trip instead of one each.
//
// createResultBatcher: each add() resolves with its own item's answer (write returns one per
// item, in order) or rejects with the error that failed its batch — the Postgres-path admission
// (call_gate_admit_batch), where every caller needs its own decision.
// createBatcher: the writes that follow an answer (hold records, meter jobs); add() resolves once
// its batch was written or its failure handled, and never rejects: `write` owns the counting and
// logging of its failures.
// close() sends what is pending and waits for every batch in flight, so shutdown can close the
// connections after it.
export interface BatcherOptions<T> {
  /** The longest an item waits for company (ms). */
  flushMs: number;
  batchMax: number;
  /**
   * Group commit: an item that finds no batch of this batcher out is sent at once (a batch of one,
   * no window); items added while one is out gather and go together when it returns, or after
   * flushMs / at batchMax, whichever comes first, so a batch that hangs never holds the others.
   * Under load the batch size follows the store's own round-trip time instead of a fixed window.
   */
  sendWhenIdle?: boolean;
  /** An item added after close(): not written (the connections are going); count it here. */
  afterClose?(item: T): void;
  /** Each batch as it goes out (its size, for a metric). */
  onFlush?(size: number): void;
}

/** Added after close(): the batcher's connections are going. */
export class BatcherClosedError extends Error {
  override name = 'BatcherClosedError';
  constructor() {
    super('batcher closed (shutting down)');
  }
}

export function createResultBatcher<T, R>(write: (items: T[]) => Promise<readonly R[]>, o: BatcherOptions<T>) {
  let pending: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const inFlight = new Set<Promise<void>>();

  function flush(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    while (pending.length > 0) {
      const batch = pending.slice(0, o.batchMax);
      pending = pending.slice(o.batchMax);
      o.onFlush?.(batch.length);
      // async: a write that throws instead of rejecting still answers its callers.
      const w = (async () => {
        const results = await write(batch.map((p) => p.item));
        // One answer per item or none: a short answer must not leave a caller waiting forever.
        if (results.length !== batch.length) throw new Error(`invariant violated: a batch of ${batch.length} got ${results.length} answers`);
        batch.forEach((p, i) => p.resolve(results[i] as R));
      })().catch((err: unknown) => {
        for (const p of batch) p.reject(err);
      });
      inFlight.add(w);
      void w.finally(() => {
        inFlight.delete(w);
        if (o.sendWhenIdle === true && inFlight.size === 0 && pending.length > 0) flush();
      });
    }
  }

  return {
    add(item: T): Promise<R> {
      if (closed) {
        o.afterClose?.(item);
        return Promise.reject(new BatcherClosedError());
      }
      return new Promise<R>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        if (pending.length >= o.batchMax || (o.sendWhenIdle === true && inFlight.size === 0)) flush();
        else if (timer === undefined) timer = setTimeout(flush, o.flushMs);
      });
    },
    async close(): Promise<void> {
      closed = true;
      flush();
      await Promise.all([...inFlight]);
    },
  };
}

export function createBatcher<T>(write: (items: T[]) => Promise<void>, o: BatcherOptions<T>) {
  const b = createResultBatcher<T, undefined>(
    (items) =>
      write(items).then(
        () => items.map(() => undefined),
        () => items.map(() => undefined),
      ),
    o,
  );
  return {
    add: (item: T): Promise<void> => b.add(item).catch(() => undefined),
    close: (): Promise<void> => b.close(),
  };
}
