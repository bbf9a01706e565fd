// Missed Stripe webhooks. Stripe retries a webhook for three days and then stops; an endpoint that
// was down, misconfigured or disabled for longer never hears of a payment, a refund or a dispute.
// A paid top-up is then never credited, an auto-recharge stays in flight (no further recharge is
// tried while one is), and a refund or a lost dispute is never taken back from the wallet. Stripe's
// advice is to read its event list for what the webhook missed; this does, on a schedule
// (the maintenance queue's `stripe-catch-up`): every handled event created since the last run
// (an hour of overlap, at most STRIPE_CATCH_UP_WINDOW_SECONDS back) and at least
// STRIPE_CATCH_UP_SETTLE_SECONDS old, that no webhook recorded, is applied through the webhook's
// own handler (handleStripeEvent), oldest first. Those SQL functions record the event id with its
// money effect in one transaction, so an event the webhook brings at the same moment is applied
// once. Events come from Stripe's API over TLS with our secret key: no signature to check.
//
// A run reads at most CATCH_UP_MAX_PAGES pages, newest first (Stripe's only order). A range with
// more events than that is finished by the runs after it, each reading further back: the run
// leaves a backlog (the range's end, and the last event it read), the next run lists the same
// range on from that event (`starting_after`, Stripe's own cursor: events sharing a second are
// neither missed nor read twice), and the cursor moves to the range's end only when the backlog
// is done with nothing failed. Without this, a busy account (more handled events in the window
// than one run reads) had every run read the same newest pages, and the older events of its
// window were never read. Newer events applied before older ones are fine: the SQL functions keep
// a refund or dispute of a payment not credited yet until it is.
import { z } from 'zod';
import type { Logger } from '../logger';
import type { RedisClient, RedisKeys } from '../redis';
import { handleStripeEvent, HANDLED_EVENT_TYPES, stripeEventShape, type StripeEventDeps } from './stripe-events';

export interface StripeCatchUpDeps extends StripeEventDeps {
  redis: RedisClient;
  keys: RedisKeys;
  windowSeconds: number;
  settleSeconds: number;
  /** Pages one run may read (CATCH_UP_MAX_PAGES unless a test bounds it lower). */
  maxPages?: number;
}

/** Stripe's largest page. */
const PAGE = 100;
/** Pages per run (10,000 events): a bound on one run; a run that reaches it leaves the rest of its range to the next (Backlog). */
export const CATCH_UP_MAX_PAGES = 100;
/** How far before the last run's end the next run starts reading again. */
export const CATCH_UP_OVERLAP_SECONDS = 3600;
/** Ids per stripe_events_unseen call. */
const UNSEEN_BATCH = 1000;

export interface CatchUpReport {
  /** Events Stripe listed in the run's range. */
  listed: number;
  /** Of those, no webhook had recorded: applied now. */
  recovered: number;
  /** Could not be applied (read again next run). */
  failed: number;
  pages: number;
  /** The page bound was reached: older events of the range were not read this run (the backlog has them). */
  bounded: boolean;
  from: number;
  until: number;
}

/**
 * What a bounded run leaves the next: `until`, the end of its range (the cursor moves there once
 * the backlog is read); `after`, the id of the last (oldest) event read so far, where the listing
 * carries on; `failed`, some event of the range could not be applied (the cursor then stays, so
 * the range is read again).
 */
const backlogShape = z.object({ until: z.number().int(), after: z.string().min(1), failed: z.boolean() });
type Backlog = z.infer<typeof backlogShape>;

async function readBacklog(d: StripeCatchUpDeps): Promise<Backlog | undefined> {
  try {
    const raw = await d.redis.get(d.keys.stripeCatchUpBacklog);
    if (raw === null) return undefined;
    const parsed = backlogShape.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
    d.log.warn('stripe catch-up: backlog unreadable; reading the whole range again');
  } catch (err) {
    d.log.warn({ err: (err as Error).message }, 'stripe catch-up: backlog unreadable; reading the whole range again');
  }
  return undefined;
}

async function readCursor(d: StripeCatchUpDeps, log: Logger): Promise<number | undefined> {
  try {
    const raw = await d.redis.get(d.keys.stripeCatchUpCursor);
    const n = raw === null ? NaN : Number(raw);
    return Number.isInteger(n) ? n : undefined;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'stripe catch-up: cursor unreadable; reading the whole window');
    return undefined;
  }
}

export async function catchUpStripeEvents(d: StripeCatchUpDeps, nowMs: number = Date.now()): Promise<CatchUpReport> {
  const now = Math.floor(nowMs / 1000);
  const cursor = await readCursor(d, d.log);
  const backlog = await readBacklog(d);
  const until = backlog?.until ?? now - d.settleSeconds;
  const from = Math.max(now - d.windowSeconds, cursor === undefined ? -Infinity : cursor - CATCH_UP_OVERLAP_SECONDS);
  const report: CatchUpReport = { listed: 0, recovered: 0, failed: 0, pages: 0, bounded: false, from, until };
  if (from > until) {
    // A backlog the window has passed by is over: nothing left in it is read any more.
    if (backlog) await finishRange(d, backlog.until, backlog.failed);
    return report;
  }

  // Newest first, as Stripe lists them.
  const listed: Array<{ id: string; created: number; raw: unknown }> = [];
  let startingAfter = backlog?.after;
  for (;;) {
    if (report.pages === (d.maxPages ?? CATCH_UP_MAX_PAGES)) {
      report.bounded = true;
      break;
    }
    const page = await d.stripe.events.list({ created: { gte: from, lte: until }, types: [...HANDLED_EVENT_TYPES], limit: PAGE, ...(startingAfter === undefined ? {} : { starting_after: startingAfter }) });
    report.pages++;
    for (const e of page.data) listed.push({ id: e.id, created: e.created, raw: e });
    const last = page.data.at(-1);
    if (!page.has_more || last === undefined) break;
    startingAfter = last.id;
  }
  report.listed = listed.length;

  const unseen = new Set<string>();
  for (let i = 0; i < listed.length; i += UNSEEN_BATCH) {
    for (const id of await d.moneyIn.unseenEvents(listed.slice(i, i + UNSEEN_BATCH).map((e) => e.id))) unseen.add(id);
  }
  // Oldest first, as the webhooks would have come (a refund after its payment).
  for (const e of listed.filter((x) => unseen.has(x.id)).reverse()) {
    const parsed = stripeEventShape.safeParse(e.raw);
    try {
      if (!parsed.success) throw new Error('not an event of the shape the webhook takes');
      const result = await handleStripeEvent(d, parsed.data);
      if (result.outcome === 'invalid_event') throw new Error('its object lacks fields the service needs');
      report.recovered++;
      d.metrics.stripeCatchUp.inc({ outcome: 'recovered' });
      d.log.warn({ eventId: e.id, type: parsed.data.type, outcome: result.outcome, orgId: result.orgId }, 'stripe event no webhook brought: applied by the catch-up');
    } catch (err) {
      report.failed++;
      d.metrics.stripeCatchUp.inc({ outcome: 'failed' });
      d.log.error({ eventId: e.id, err: (err as Error).message }, 'stripe catch-up: could not apply an event; read again next run');
    }
  }

  const failed = (backlog?.failed ?? false) || report.failed > 0;
  if (report.bounded && startingAfter !== undefined) {
    await saveBacklog(d, { until, after: startingAfter, failed });
    d.log.warn({ pages: report.pages, from, until }, 'stripe catch-up: page bound reached; the next run reads on from the oldest event read');
  } else {
    await finishRange(d, until, failed);
  }
  return report;
}

async function saveBacklog(d: StripeCatchUpDeps, backlog: Backlog): Promise<void> {
  await d.redis.set(d.keys.stripeCatchUpBacklog, JSON.stringify(backlog)).catch((err: unknown) => {
    d.log.warn({ err: (err as Error).message }, 'stripe catch-up: backlog not saved; the next run reads the range from its newest event again');
  });
}

/** The range is read: the next run starts from its end (less the overlap), unless an event of it failed. */
async function finishRange(d: StripeCatchUpDeps, until: number, failed: boolean): Promise<void> {
  try {
    if (!failed) await d.redis.set(d.keys.stripeCatchUpCursor, String(until));
    await d.redis.del(d.keys.stripeCatchUpBacklog);
  } catch (err) {
    d.log.warn({ err: (err as Error).message }, 'stripe catch-up: cursor not saved; the next run reads the whole window');
  }
}
