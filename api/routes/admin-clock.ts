// GET / POST /api/admin/clock (CONTRACT §11) — the billing clock, which sandbox mode can move
// forward so that a month of rent, a grace period or a new spending day can be seen without
// waiting for it. Mounted in sandbox mode only: elsewhere both answer 404 (after the operator's
// authentication, like every unknown /api/admin path). The clock lives in Postgres
// (billing_clock), so every process sees a move (shared/rental/billing-clock.ts).
//
// Decisions: only forward, 1..31622400 s (366 days) per move and ten years in all (409 past that);
// a move queues a rent sweep at once, so the months it passed are charged within moments rather
// than at the next scheduled run.
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { Services } from '../../shared/process/services';
import { CLOCK_ADVANCE_MAX_SECONDS } from '../../shared/rental/billing-clock';
import { jobIds, rentalJobOptions } from '../../shared/queues/queues';
import { parseBody } from '../middleware/validate';

const advanceBody = z.strictObject({
  advanceSeconds: z.number().int('must be a whole number of seconds').min(1, 'must move the clock forward').max(CLOCK_ADVANCE_MAX_SECONDS),
});

export function getClock({ billingClock }: Services): RequestHandler {
  return async (_req, res) => {
    const c = await billingClock.read();
    res.json({ now: c.now, offsetSeconds: c.offsetSeconds });
  };
}

export function advanceClock({ billingClock, queues, log }: Services): RequestHandler {
  return async (req, res) => {
    const { advanceSeconds } = parseBody(advanceBody, req);
    const r = await billingClock.advance(advanceSeconds);
    if (r.outcome === 'limit_reached') {
      throw new AppError('conflict', `The billing clock may run at most ${r.max_offset_seconds} seconds ahead; it is ${r.offset_seconds} ahead now.`, { offsetSeconds: r.offset_seconds });
    }
    log.warn({ advanceSeconds, offsetSeconds: r.offset_seconds }, 'sandbox: billing clock moved forward');
    // The schedule would get there too; this makes the months just passed due within moments.
    await queues.rentals.add('sweep', { task: 'sweep' }, rentalJobOptions(jobIds.rentSweep(`clock-${r.offset_seconds}`))).catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'could not queue a rent sweep after the clock moved; the scheduled one will run');
    });
    res.json({ now: r.now, offsetSeconds: r.offset_seconds });
  };
}
