// The start-up banner of `npm start`: where everything is, and — in sandbox mode only — the
// development secrets in use, a dashboard JWT for a demo organisation and curl commands that walk
// both gates. Outside sandbox mode it prints URLs only: real secrets never reach a log.
import { SignJWT } from 'jose';
import type { Config } from '../shared/config';

/** The demo organisation the banner's token, link and commands use (sandbox start creates it). */
export const DEMO_ORG_ID = 'de300000-0000-4000-8000-000000000001';
export const DEMO_TOKEN_TTL_SECONDS = 7 * 24 * 3600;
/** An amount that covers one number and a few minutes of calls at the default prices. */
export const DEMO_TOP_UP = 5000;

export interface BannerInfo {
  apiPort: number;
  /** Whether this process runs the Twilio and Vapi simulators (npm start in sandbox mode). */
  simulators: boolean;
}

/** A Supabase-style dashboard token (HS256, org in app_metadata.org_id) for the demo organisation. */
export async function demoDashboardToken(secret: string, orgId = DEMO_ORG_ID, ttlSeconds = DEMO_TOKEN_TTL_SECONDS): Promise<string> {
  return new SignJWT({ role: 'authenticated', app_metadata: { org_id: orgId } })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('demo-user')
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}

function curlSteps(base: string, price: number): string[] {
  const json = `-H 'Content-Type: application/json'`;
  const admin = `-H "Authorization: Bearer $ADMIN_TOKEN"`;
  const dash = `-H "Authorization: Bearer $DEMO_JWT"`;
  const vapi = `-H "x-vapi-secret: $VAPI_WEBHOOK_SECRET"`;
  return [
    `# 1. create the demo organisation and its wallet (sandbox start has made it already: 409; 201 against another API)`,
    `curl -s -X POST ${base}/api/admin/orgs ${admin} ${json} -d '{"name":"Demo","orgId":"${DEMO_ORG_ID}"}'`,
    `# 2. provisioning gate at zero balance: 402 insufficient_funds, nothing debited`,
    `curl -s -X POST ${base}/api/managed-telephony/provision ${dash} ${json} -H 'Idempotency-Key: demo-provision-0' -d '{"areaCode":"415","assistantId":"asst-demo"}'`,
    `# 3. top up ${DEMO_TOP_UP} (the price of a number is ${price})`,
    `curl -s -X POST ${base}/api/admin/orgs/${DEMO_ORG_ID}/credits ${admin} ${json} -H 'Idempotency-Key: demo-topup-1' -d '{"amount":${DEMO_TOP_UP},"reason":"demo top-up"}'`,
    `# 4. provision: 202 with requestId, charged ${price}, balance after the debit (area code 000 would fail and be refunded)`,
    `curl -s -X POST ${base}/api/managed-telephony/provision ${dash} ${json} -H 'Idempotency-Key: demo-provision-1' -d '{"areaCode":"415","assistantId":"asst-demo"}'`,
    `# 5. poll until "completed" (then note phoneNumber)`,
    `curl -s ${base}/api/managed-telephony/provisioning/REQUEST_ID ${dash}`,
    `# 6. call gate: Vapi's assistant-request for a call to that number (allowed: assistantId + maxDurationSeconds)`,
    `curl -s -X POST ${base}/api/vapi/webhook ${vapi} ${json} -d '{"message":{"type":"assistant-request","call":{"id":"demo-call-1"},"phoneNumber":{"number":"PHONE_NUMBER"}}}'`,
    `# 7. the call ends after 90 s: charged once, however often the report arrives`,
    `curl -s -X POST ${base}/api/vapi/webhook ${vapi} ${json} -d '{"message":{"type":"end-of-call-report","call":{"id":"demo-call-1"},"phoneNumber":{"number":"PHONE_NUMBER"},"startedAt":"2026-01-01T10:00:00.000Z","endedAt":"2026-01-01T10:01:30.000Z"}}'`,
    `# 8. the wallet and its ledger`,
    `curl -s ${base}/api/wallet ${dash}; echo; curl -s ${base}/api/wallet/transactions ${dash}`,
    `# 9. top up by card through Stripe Checkout (the sandbox Stripe simulator): open checkoutUrl and pay with 4242424242424242`,
    `curl -s -X POST ${base}/api/wallet/top-ups ${dash} ${json} -H 'Idempotency-Key: demo-card-topup-1' -d '{"amount":2000}'`,
  ];
}

/** The billing page with a token in its fragment, as Supabase's redirects pass it (CONTRACT §9). */
export function billingPageLink(base: string, token: string): string {
  return `${base}/billing#access_token=${token}`;
}

export async function renderBanner(config: Config, info: BannerInfo): Promise<string> {
  const base = `http://127.0.0.1:${info.apiPort}`;
  const line = '='.repeat(78);
  const out: string[] = [line, `billing-gates is up`, ``];
  out.push(`  API              ${base}`);
  out.push(`  OpenAPI          ${base}/openapi.json`);
  out.push(`  metrics          ${base}/metrics            (Authorization: Bearer ADMIN_TOKEN)`);
  out.push(`  Bull Board       ${base}/admin/queues       (basic auth admin / ADMIN_TOKEN)`);
  out.push(`  health           ${base}/healthz  ${base}/readyz`);
  if (!config.sandbox.enabled) {
    out.push('', `  LIVE MODE: Twilio account ${config.twilio.accountSid.slice(0, 6)}…; numbers bought here cost real money.`, line, '');
    return out.join('\n');
  }
  if (info.simulators) {
    out.push(`  Twilio simulator http://127.0.0.1:${config.sandbox.twilioPort}`);
    out.push(`  Vapi simulator   http://127.0.0.1:${config.sandbox.vapiPort}`);
  }
  out.push(
    '',
    `  *** SANDBOX MODE (no TWILIO_ACCOUNT_SID): NO REAL NUMBER IS BOUGHT. Twilio and Vapi are local simulators. ***`,
    `  *** Area codes 000 / 999 / 998 / 997 simulate failures (see CONTRACT section 6).                          ***`,
    '',
    `  Development secrets in use (set the variables to override):`,
    `    ADMIN_TOKEN=${config.auth.adminToken}`,
    `    VAPI_WEBHOOK_SECRET=${config.auth.vapiWebhookSecret}`,
  );
  const jwt = config.auth.jwt;
  if (jwt.kind === 'secret') {
    out.push(`    SUPABASE_JWT_SECRET=${jwt.secret}`, '');
    const token = await demoDashboardToken(jwt.secret);
    out.push(`  Dashboard JWT for the demo organisation ${DEMO_ORG_ID} (valid ${DEMO_TOKEN_TTL_SECONDS / 3600} h):`, `    DEMO_JWT=${token}`, '');
    out.push(`  Billing page for the demo organisation (open in a browser):`, `    ${billingPageLink(base, token)}`, '');
    out.push(
      `  Try both gates (paste into a shell; replace REQUEST_ID and PHONE_NUMBER from the answers):`,
      `export ADMIN_TOKEN='${config.auth.adminToken}' VAPI_WEBHOOK_SECRET='${config.auth.vapiWebhookSecret}' DEMO_JWT='${token}'`,
      ...curlSteps(base, config.pricing.phoneNumberPrice),
      `# or all of it, checked: BILLING_GATES_URL=${base} npm run test:billing-gates`,
    );
  } else {
    out.push(`    dashboard tokens: verified with the JWKS at ${jwt.url} (no demo token can be printed)`);
  }
  out.push(line, '');
  return out.join('\n');
}
