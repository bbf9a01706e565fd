// One error-code enum, one code→status map, one JSON shape (Unkey style). Expected outcomes are
// values elsewhere; these are operating errors that end an HTTP request.

export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  wallet_frozen: 403,
  limit_reached: 403,
  no_payment_method: 409,
  invalid_signature: 400,
  payment_provider_unavailable: 502,
  not_found: 404,
  idempotency_key_reused: 409,
  conflict: 409,
  payload_too_large: 413,
  // The request is well formed but cannot be priced: the wallet's currency has no price (422,
  // not 409: nothing conflicts, and retrying the same request will not succeed until priced).
  currency_not_priced: 422,
  unsupported_media_type: 415,
  insufficient_funds: 402,
  // Outbound calls (CONTRACT §10).
  destination_not_allowed: 403,
  // The caller's number's monthly rent is unpaid (CONTRACT §11): a credit makes it active again.
  number_past_due: 403,
  invalid_number: 422,
  calls_per_second: 429,
  platform_at_capacity: 503,
  call_not_placed: 502,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  [extra: string]: unknown;
}

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
  toBody(): ErrorBody {
    return { error: this.code, message: this.message, ...this.details };
  }
}

/** Programmer errors crash loudly; use for invariants that must never be false. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}
