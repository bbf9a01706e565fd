// Which Twilio/Vapi failures are worth another attempt. Narrowed on status and code, not on
// instanceof (twilio.md): the SDK throws RestException for answers and axios-style errors with a
// `code` for network failures; fetch throws TypeError with a cause, or a TimeoutError.
import { VapiApiError } from '../clients/vapi-client';

export type ErrorKind =
  /** Try again later (429, 5xx, network): the request may or may not have been processed. */
  | 'retryable'
  /** This candidate number is gone: try the next one in the same attempt. */
  | 'next_candidate'
  /** Will never work: fail the request now and refund. */
  | 'permanent';

export interface ClassifiedError {
  kind: ErrorKind;
  message: string;
}

/** Twilio codes meaning "another candidate may work" (21422: number not available). */
const NEXT_CANDIDATE_CODES = new Set([21422]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'ERR_NETWORK']);

function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  }
  return undefined;
}

export function classifyError(err: unknown): ClassifiedError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof VapiApiError) return { kind: retryableStatus(err.status) ? 'retryable' : 'permanent', message };
  const e = err as { status?: unknown; code?: unknown; name?: unknown };
  if (typeof e.status === 'number') {
    if (typeof e.code === 'number' && NEXT_CANDIDATE_CODES.has(e.code)) return { kind: 'next_candidate', message: `Twilio ${e.code}: ${message}` };
    if (e.code === 20429 || retryableStatus(e.status)) return { kind: 'retryable', message: `Twilio ${e.status}: ${message}` };
    return { kind: 'permanent', message: `Twilio ${e.status}${typeof e.code === 'number' ? ` code ${e.code}` : ''}: ${message}` };
  }
  const code = networkCode(err);
  if (code !== undefined) return { kind: 'retryable', message: `network error ${code}: ${message}` };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'retryable', message: `timeout: ${message}` };
  // fetch's "fetch failed" without a known code is still a transport failure.
  if (err instanceof TypeError && message === 'fetch failed') return { kind: 'retryable', message };
  // Unknown errors (e.g. the database briefly unreachable) are retried: attempts are bounded.
  return { kind: 'retryable', message };
}
