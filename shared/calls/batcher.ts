// A micro-batcher for the writes that follow an answer on the hot path (hold records, meter jobs):
// what is added within `flushMs` (or until `batchMax` are waiting) is written by one call. Each
// add() resolves once its batch was written or its failure handled, and never rejects: `write`
// owns the counting and logging of its failures. close() writes what is pending and waits for
// every batch in flight, so shutdown can close the connections after it.
export interface BatcherOptions<T> {
  flushMs: number;
  batchMax: number;
  /** An item added after close(): not written (the connections are going); count it here. */
  afterClose?(item: T): void;
}

export function createBatcher<T>(write: (items: T[]) => Promise<void>, o: BatcherOptions<T>) {
  let pending: Array<{ item: T; done: () => void }> = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const inFlight = new Set<Promise<void>>();

  function flush(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    while (pending.length > 0) {
      const batch = pending.slice(0, o.batchMax);
      pending = pending.slice(o.batchMax);
      const w = write(batch.map((p) => p.item))
        .catch(() => undefined)
        .finally(() => {
          for (const p of batch) p.done();
        });
      inFlight.add(w);
      void w.finally(() => inFlight.delete(w));
    }
  }

  return {
    add(item: T): Promise<void> {
      if (closed) {
        o.afterClose?.(item);
        return Promise.resolve();
      }
      return new Promise<void>((done) => {
        pending.push({ item, done });
        if (pending.length >= o.batchMax) flush();
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
