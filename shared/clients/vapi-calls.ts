// Vapi's GET /call/{id}: the final state of a call whose end-of-call report never came
// (failure mode 19). Only the fields the sweeper needs are read; the rest is tolerated.
import { z } from 'zod';

const vapiCall = z.looseObject({
  id: z.string(),
  status: z.string(),
  startedAt: z.string().optional().nullable(),
  endedAt: z.string().optional().nullable(),
  endedReason: z.string().optional().nullable(),
  phoneNumberId: z.string().optional().nullable(),
});
export type VapiCall = z.output<typeof vapiCall>;

export type GetCallResult = { kind: 'found'; call: VapiCall } | { kind: 'not_found' };

export interface VapiCallsClient {
  getCall(callId: string): Promise<GetCallResult>;
}

export class VapiApiError extends Error {
  override name = 'VapiApiError';
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export function createVapiCallsClient(options: { baseUrl: string; apiKey: string; timeoutMs: number }): VapiCallsClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  return {
    async getCall(callId) {
      let res: Response;
      try {
        res = await fetch(`${base}/call/${encodeURIComponent(callId)}`, {
          headers: { Authorization: `Bearer ${options.apiKey}`, Accept: 'application/json' },
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (err) {
        throw new VapiApiError(`GET /call/${callId} failed: ${(err as Error).message}`);
      }
      if (res.status === 404) return { kind: 'not_found' };
      if (!res.ok) throw new VapiApiError(`GET /call/${callId} answered ${res.status}`, res.status);
      const parsed = vapiCall.safeParse(await res.json().catch(() => undefined));
      if (!parsed.success) throw new VapiApiError(`GET /call/${callId} answered an unexpected body`, res.status);
      return { kind: 'found', call: parsed.data };
    },
  };
}
