// SANDBOX ONLY: how the Vapi simulator delivers server-URL messages ({"message": {...}}) for its
// calls. Fire-and-forget: the HTTP answer that caused a message (a control POST, an end) never
// waits for delivery, as Vapi's own control endpoint does not wait for our webhook. Messages of
// one call go out one after another, in the order they were queued, so a receiver sees
// `in-progress` before `ended` and `ended` before the end-of-call report, as it does from Vapi
// (which may still reorder; tests that want disorder post bodies themselves).
import { setTimeout as sleep } from 'node:timers/promises';

export interface WebhookTarget {
  url: string;
  /** Sent verbatim as `x-vapi-secret` (Vapi's legacy server secret) when set. */
  secret?: string;
}

export interface WebhookSenderOptions {
  /** Tries per message; only network errors, timeouts and 5xx are retried (a 4xx will not improve). */
  attempts?: number;
  /** Pause before the second try; doubled for each later one. */
  backoffMs?: number;
  timeoutMs?: number;
  /** Messages queued or in flight at once, across calls; more are dropped and counted. */
  maxPending?: number;
}

export interface WebhookStats {
  delivered: number;
  /** Gave up after the last try, or got a 4xx. */
  failed: number;
  /** Refused because maxPending messages were already waiting. */
  dropped: number;
}

export interface WebhookSender {
  send(target: WebhookTarget, callId: string, body: unknown): void;
  /** Resolves once every message queued so far has been delivered or given up (for tests). */
  idle(): Promise<void>;
  /** Stops: nothing further is sent, in-flight requests are aborted. */
  close(): void;
  readonly stats: WebhookStats;
}

export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 100;
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxPending = options.maxPending ?? 1000;
  const stats: WebhookStats = { delivered: 0, failed: 0, dropped: 0 };
  const stop = new AbortController();
  /** The tail of each call's chain; removed when the chain drains, so the map stays small. */
  const tails = new Map<string, Promise<void>>();
  let pending = 0;

  async function deliver(target: WebhookTarget, body: string): Promise<void> {
    for (let attempt = 1; attempt <= attempts && !stop.signal.aborted; attempt++) {
      if (attempt > 1) await sleep(backoffMs * 2 ** (attempt - 2), undefined, { ref: false }).catch(() => undefined);
      try {
        const res = await fetch(target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(target.secret !== undefined ? { 'x-vapi-secret': target.secret } : {}) },
          body,
          signal: AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]),
        });
        await res.arrayBuffer().catch(() => undefined); // free the socket
        if (res.ok) {
          stats.delivered++;
          return;
        }
        if (res.status < 500) break;
      } catch {
        // network error, timeout or close(): retried below unless stopped
      }
    }
    stats.failed++;
  }

  return {
    stats,
    send(target, callId, message) {
      if (stop.signal.aborted) return;
      if (pending >= maxPending) {
        stats.dropped++;
        return;
      }
      pending++;
      const body = JSON.stringify(message);
      const tail = (tails.get(callId) ?? Promise.resolve()).then(() => deliver(target, body)).finally(() => {
        pending--;
        if (tails.get(callId) === tail) tails.delete(callId);
      });
      tails.set(callId, tail);
    },
    async idle() {
      while (tails.size > 0) await Promise.allSettled([...tails.values()]);
    },
    close() {
      stop.abort();
    },
  };
}
