// Vapi's live call control (reference/vapi.md "Live call control"): the service POSTs a control
// message to the call's own monitor.controlUrl — learned from the call's messages, never built.
// Whoever holds that URL controls the call, so it is a secret: only https URLs on the allowed
// hosts (VAPI_CONTROL_HOSTS; loopback too in sandbox mode) are ever called, and neither the URL
// nor anything derived from it beyond its host is logged.

export type ControlMessage = { type: 'say'; content: string; endCallAfterSpoken: true } | { type: 'end-call' };

export interface ControlPolicy {
  /** Exact host names, or `*.` + a suffix (any subdomain of it). */
  hosts: readonly string[];
  /** Also http(s) on 127.0.0.1 / ::1 / localhost (sandbox mode: the simulator, test servers). */
  loopback: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);
/** Network errors and 5xx are retried this often, this far apart (the endpoint's answers are undocumented). */
export const CONTROL_RETRIES = 2;
export const CONTROL_RETRY_DELAY_MS = 200;
export const CONTROL_TIMEOUT_MS = 3000;

function hostAllowed(host: string, hosts: readonly string[]): boolean {
  return hosts.some((pattern) => (pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern));
}

/** Whether the service may call this URL; a URL it may not call is dropped (and counted) on arrival. */
export function isAllowedControlUrl(raw: string, policy: ControlPolicy): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  if (policy.loopback && LOOPBACK.has(url.hostname) && (url.protocol === 'http:' || url.protocol === 'https:')) return true;
  return url.protocol === 'https:' && hostAllowed(url.hostname.toLowerCase(), policy.hosts);
}

export type ControlResult = 'sent' | 'failed';

/** POSTs one control message; any 2xx is done, network errors and 5xx are retried briefly. */
export async function sendControl(url: string, message: ControlMessage, timeoutMs = CONTROL_TIMEOUT_MS): Promise<ControlResult> {
  for (let attempt = 0; attempt <= CONTROL_RETRIES; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, CONTROL_RETRY_DELAY_MS * attempt));
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return 'sent';
      if (res.status < 500) return 'failed';
    } catch {
      // network error or timeout: retried
    }
  }
  return 'failed';
}
