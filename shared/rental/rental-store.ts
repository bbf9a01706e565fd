// Typed wrappers over the number-rental SQL functions (supabase/schemas/rental/, and the billing
// clock in supabase/schemas/ledger/). The SQL decides every charge and every transition; expected
// outcomes come back as discriminated unions, and a shape we did not expect from our own SQL is a
// programmer error that crashes loudly.
import { z } from 'zod';
import type { Rpc, RpcArgs } from '../db/rpc';
import { cachedWallet } from '../money-in/money-in-store';
import { parseRpcResult } from '../db/parse-rpc-result';

/** A rented number's status in the database (CONTRACT §11 shows `releasing` as `released`). */
export const NUMBER_STATUSES = ['active', 'past_due', 'releasing', 'released'] as const;
export type NumberStatus = (typeof NUMBER_STATUSES)[number];

const timestamp = z.string();

const numberRow = z
  .object({
    id: z.string(),
    org_id: z.string(),
    e164: z.string(),
    status: z.enum(NUMBER_STATUSES),
    source: z.enum(['provisioned', 'registered']),
    vapi_phone_number_id: z.string().nullable(),
    twilio_sid: z.string().nullable(),
    rent_anchor: timestamp.nullable(),
    paid_months: z.number().int().nullable(),
    paid_until: timestamp.nullable(),
    next_charge_at: timestamp.nullable(),
    release_at: timestamp.nullable(),
    past_due_since: timestamp.nullable(),
    release_reason: z.enum(['unpaid', 'customer']).nullable(),
    released_at: timestamp.nullable(),
    created_at: timestamp,
  })
  .transform((n) => ({
    id: n.id,
    orgId: n.org_id,
    e164: n.e164,
    status: n.status,
    source: n.source,
    vapiPhoneNumberId: n.vapi_phone_number_id,
    twilioSid: n.twilio_sid,
    rentAnchor: n.rent_anchor,
    paidMonths: n.paid_months,
    paidUntil: n.paid_until,
    nextChargeAt: n.next_charge_at,
    releaseAt: n.release_at,
    pastDueSince: n.past_due_since,
    releaseReason: n.release_reason,
    releasedAt: n.released_at,
    createdAt: n.created_at,
  }));
export type RentedNumber = z.output<typeof numberRow>;

const notFound = z.object({ outcome: z.literal('not_found') });

const rentCharge = z.union([
  z.object({
    outcome: z.enum(['charged', 'not_due', 'past_due', 'still_past_due', 'release_due']),
    charged: z.number().int().nonnegative(),
    amount: z.number().int().nonnegative(),
    price: z.number().int().positive(),
    currency: z.string(),
    reactivated: z.boolean(),
    number: numberRow,
    wallet: cachedWallet,
  }),
  z.object({ outcome: z.literal('releasing'), number: numberRow, wallet: cachedWallet }),
  z.object({ outcome: z.literal('released'), number: numberRow, wallet: cachedWallet }),
  z.object({ outcome: z.literal('not_rented'), number: numberRow }),
  z.object({ outcome: z.literal('currency_not_priced'), currency: z.string(), number: numberRow }),
  notFound,
]);
export type RentCharge = z.output<typeof rentCharge>;

const dueList = z.object({ items: z.array(z.object({ id: z.string(), org_id: z.string(), status: z.enum(NUMBER_STATUSES) })) });
export type DueNumber = z.output<typeof dueList>['items'][number];

const listResult = z.union([z.object({ outcome: z.literal('found'), currency: z.string(), items: z.array(numberRow) }), notFound]);

const releaseBegin = z.union([
  z.object({ outcome: z.enum(['releasing', 'releasing_already', 'released_already', 'not_rented']), number: numberRow, currency: z.string() }),
  notFound,
]);
export type ReleaseBegin = z.output<typeof releaseBegin>;

const releaseFinish = z.union([z.object({ outcome: z.enum(['released', 'released_already', 'not_releasing']), number: numberRow }), notFound]);

const clockReading = z.object({ now: timestamp, offset_seconds: z.number().int().nonnegative() }).transform((c) => ({ now: c.now, offsetSeconds: c.offset_seconds }));
export type ClockReading = z.output<typeof clockReading>;
const clockAdvance = z.union([
  z.object({ outcome: z.literal('advanced'), now: timestamp, offset_seconds: z.number().int() }),
  z.object({ outcome: z.literal('limit_reached'), now: timestamp, offset_seconds: z.number().int(), max_offset_seconds: z.number().int() }),
]);
export type ClockAdvance = z.output<typeof clockAdvance>;

/** The most numbers phone_numbers_rent_due and phone_numbers_list return at once (their SQL refuses more). */
export const RENTAL_PAGE_MAX = 1000;

export function createRentalStore(rpc: Rpc) {
  const call = async <S extends z.ZodTypeAny>(schema: S, fn: string, args: RpcArgs): Promise<z.output<S>> => parseRpcResult(schema, fn, await rpc.call(fn, args));
  return {
    /** One number's rent: every month begun is charged once, or the number goes past due / to its release. */
    chargeRent: (numberId: string, prices: Record<string, number>, graceSeconds: number) =>
      call(rentCharge, 'phone_number_rent_charge', { p_number_id: numberId, p_prices: prices, p_grace_seconds: graceSeconds }),
    /** One page of numbers whose rent is due (or whose release is unfinished), by id. */
    dueNumbers: async (i: { orgId: string | null; after: string | null; limit: number }) =>
      (await call(dueList, 'phone_numbers_rent_due', { p_org_id: i.orgId, p_after: i.after, p_limit: i.limit })).items,
    listNumbers: (orgId: string, graceSeconds: number, limit: number) =>
      call(listResult, 'phone_numbers_list', { p_org_id: orgId, p_grace_seconds: graceSeconds, p_limit: limit }),
    beginRelease: (numberId: string, orgId: string, graceSeconds: number) =>
      call(releaseBegin, 'phone_number_release_begin', { p_number_id: numberId, p_org_id: orgId, p_grace_seconds: graceSeconds }),
    finishRelease: (numberId: string, graceSeconds: number) =>
      call(releaseFinish, 'phone_number_release_finish', { p_number_id: numberId, p_grace_seconds: graceSeconds }),
    clock: () => call(clockReading, 'billing_clock_get', {}),
    advanceClock: (seconds: number) => call(clockAdvance, 'billing_clock_advance', { p_seconds: seconds }),
  };
}
export type RentalStore = ReturnType<typeof createRentalStore>;
