// Alert webhooks never reach inside our network (issue 22 item 8, CONTRACT §7): `PUT
// /api/wallet/alerts` refuses, with 400 and nothing stored, a webhook whose host is an IP literal
// in a private, loopback (outside sandbox mode), link-local, unique-local or unspecified range,
// however the URL spells it (hex, octal, one number, IPv4-mapped IPv6, brackets); a host name is
// saved, and the addresses it resolves to are judged at every delivery by the lookup the connection
// itself uses (no connection to a refused address; counted, logged without the URL's path or the
// signing secret, retried on the job's backoff since a DNS answer can change). And every malformed
// setting is a 4xx with the usual error body, never a 500, and changes nothing.
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import request from 'supertest';
import { createLogger } from '../../shared/logger';
import { deliverWalletEvent, type EventDeliveryDeps } from '../../shared/money-in/event-delivery';
import { createFundedOrg, createTestContext, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { dashboardToken } from '../support/jwt';
import { createStripeWorld, type StripeWorld } from '../support/stripe';
import { eventually } from '../support/eventually';

/** Outside sandbox mode: TWILIO_ACCOUNT_SID set, so every secret must be given. */
const PRODUCTION_ENV = {
  TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
  TWILIO_AUTH_TOKEN: 'twilio-auth-token-value',
  VAPI_API_KEY: 'vapi-api-key-value',
  PUBLIC_BASE_URL: 'https://billing.example.com',
};

let prod: StripeWorld; // outside sandbox mode, with the money-in workers running
let sandbox: TestContext; // sandbox mode, no workers: deliveries are made by the test itself

beforeAll(async () => {
  prod = await createStripeWorld({ workers: true, env: PRODUCTION_ENV });
  sandbox = await createTestContext();
  expect(prod.ctx.config.sandbox.enabled).toBe(false);
  expect(sandbox.config.sandbox.enabled).toBe(true);
});
afterAll(async () => {
  await prod.close();
  await sandbox.close();
});

async function orgIn(ctx: TestContext, balance = 0): Promise<{ orgId: string; token: string }> {
  const orgId = await createFundedOrg(ctx.services, balance);
  return { orgId, token: await dashboardToken(TEST_JWT_SECRET, orgId) };
}
const putAlerts = (ctx: TestContext, token: string, body: unknown) => request(ctx.app()).put('/api/wallet/alerts').set('authorization', `Bearer ${token}`).send(body as object);

/** Everything PUT /api/wallet/alerts may write, to show a refused request wrote none of it. */
async function stored(ctx: TestContext, orgId: string): Promise<unknown> {
  const r = await ctx.pool.query('select alert_thresholds, alerts_low, webhook_url, signing_secret, updated_at from wallet_money_settings where org_id = $1', [orgId]);
  return r.rows[0] ?? null;
}

function expectRefusedBody(res: request.Response, field: string): void {
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(new RegExp(`^${field}: `)) });
  expect(res.body.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: field })]));
}

// Each is an IP literal once the WHATWG parser has read it (the form the service connects to).
const INTERNAL_LITERALS: Array<[string, string]> = [
  ['private 10/8', 'https://10.0.0.5/hook'],
  ['private 172.16/12', 'https://172.16.3.4/hook'],
  ['private 192.168/16', 'https://192.168.1.1:8443/hook'],
  ['private, with a trailing dot', 'https://10.0.0.5./hook'],
  ['private, in hex', 'https://0xa.0.0.5/hook'],
  ['loopback', 'https://127.0.0.1/hook'],
  ['loopback, elsewhere in 127/8', 'https://127.8.9.10/hook'],
  ['loopback, hex and short (0x7f.1)', 'https://0x7f.1/hook'],
  ['loopback, one decimal number (2130706433)', 'https://2130706433/hook'],
  ['loopback, octal (017700000001)', 'https://017700000001/hook'],
  ['loopback, two parts (127.1)', 'https://127.1/hook'],
  ['loopback IPv6 [::1]', 'https://[::1]/hook'],
  ['loopback IPv6, long form', 'https://[0:0:0:0:0:0:0:1]/hook'],
  ['link-local: the cloud metadata address', 'https://169.254.169.254/latest/meta-data/'],
  ['link-local metadata, in hex', 'https://0xA9.0xFE.0xA9.0xFE/'],
  ['link-local metadata, one number', 'https://2852039166/'],
  ['link-local IPv6', 'https://[fe80::1]/hook'],
  ['unique-local IPv6 (AWS metadata fd00:ec2::254)', 'https://[fd00:ec2::254]/latest/meta-data/'],
  ['unique-local IPv6 fc00::/7', 'https://[fc12:3456::1]/hook'],
  ['unspecified 0.0.0.0', 'https://0.0.0.0/hook'],
  ['unspecified, one number (0)', 'https://0/hook'],
  ['unspecified 0/8', 'https://0.1.2.3/hook'],
  ['unspecified IPv6 [::]', 'https://[::]/hook'],
  ['IPv4-mapped private', 'https://[::ffff:10.0.0.5]/hook'],
  ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/hook'],
  ['IPv4-mapped metadata, hex groups', 'https://[::ffff:a9fe:a9fe]/'],
  ['IPv4-compatible (deprecated) private', 'https://[::10.0.0.5]/hook'],
  ['NAT64 of a private address', 'https://[64:ff9b::10.0.0.5]/hook'],
  ['carrier-grade NAT (Alibaba metadata 100.100.100.200)', 'https://100.100.100.200/latest/meta-data/'],
  ['broadcast', 'https://255.255.255.255/hook'],
  ['multicast', 'https://224.0.0.1/hook'],
];

describe('PUT /api/wallet/alerts outside sandbox mode', () => {
  /** An organisation with settings already saved, and what is stored for it. */
  async function orgWithSettings(): Promise<{ orgId: string; token: string; before: unknown }> {
    const o = await orgIn(prod.ctx, 5000);
    const first = await putAlerts(prod.ctx, o.token, { thresholds: [1000], webhookUrl: 'https://hooks.example.com/billing' });
    expect(first.status).toBe(200);
    const before = await stored(prod.ctx, o.orgId);
    expect(before).toMatchObject({ webhook_url: 'https://hooks.example.com/billing', alert_thresholds: ['1000'] });
    return { ...o, before };
  }

  it.each(INTERNAL_LITERALS)('refuses a webhook on a %s address with 400 and stores nothing', async (_what, url) => {
    const org = await orgWithSettings();
    const res = await putAlerts(prod.ctx, org.token, { thresholds: [500], webhookUrl: url });
    expectRefusedBody(res, 'webhookUrl');
    expect(res.body.message).toMatch(/must not point at a private or reserved address/);
    expect(await stored(prod.ctx, org.orgId)).toEqual(org.before);
  });

  it.each<[string, unknown]>([
    ['six thresholds', { thresholds: [1, 2, 3, 4, 5, 6], webhookUrl: 'https://hooks.example.com/x' }],
    ['plain http on a public host', { thresholds: [1], webhookUrl: 'http://hooks.example.com/x' }],
    ['plain http on loopback (sandbox mode only)', { thresholds: [1], webhookUrl: 'http://127.0.0.1:8080/x' }],
    ['a webhookUrl that is not a URL', { thresholds: [1], webhookUrl: 'hooks.example.com/x' }],
    ['a webhookUrl with no scheme separator', { thresholds: [1], webhookUrl: 'https//hooks.example.com' }],
    ['an empty webhookUrl', { thresholds: [1], webhookUrl: '' }],
    ['a webhookUrl with a NUL in it', { thresholds: [1], webhookUrl: 'https://hooks.example.com/a\u0000b' }],
    ['a non-https scheme', { thresholds: [1], webhookUrl: 'ftp://hooks.example.com/x' }],
    ['a negative threshold', { thresholds: [-1] }],
    ['a fractional threshold', { thresholds: [12.5] }],
  ])('answers %s with a 4xx and the error body, storing nothing', async (_what, body) => {
    const org = await orgWithSettings();
    const res = await putAlerts(prod.ctx, org.token, body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body).toMatchObject({ error: 'invalid_request', message: expect.any(String) });
    expect(await stored(prod.ctx, org.orgId)).toEqual(org.before);
  });

  it('stores nothing for a refused request of an organisation that had no settings yet', async () => {
    const fresh = await orgIn(prod.ctx);
    const res = await putAlerts(prod.ctx, fresh.token, { thresholds: [100], webhookUrl: 'https://169.254.169.254/' });
    expect(res.status).toBe(400);
    expect(await stored(prod.ctx, fresh.orgId)).toBeNull();
  });

  it.each([
    'https://hooks.example.com/billing?x=1',
    'https://8.8.8.8/hook',
    'https://[2606:4700:4700::1111]/hook',
    'https://[::ffff:8.8.8.8]/hook',
    // A host name is saved: it may not resolve from here. Its addresses are judged at delivery.
    'https://localhost/hook',
    'https://internal.example/hook',
  ])('accepts %s', async (url) => {
    const other = await orgIn(prod.ctx);
    const res = await putAlerts(prod.ctx, other.token, { thresholds: [100], webhookUrl: url });
    expect(res.status).toBe(200);
    expect(res.body.webhookUrl).toBe(url);
  });
});

describe('PUT /api/wallet/alerts in sandbox mode', () => {
  it.each(['https://127.0.0.1/hook', 'https://[::1]:8443/hook', 'https://0x7f.1/hook', 'http://127.0.0.1:4999/hook', 'http://localhost:4999/hook', 'http://[::1]:4999/hook'])(
    'accepts the loopback webhook %s',
    async (url) => {
      const o = await orgIn(sandbox);
      expect((await putAlerts(sandbox, o.token, { thresholds: [1], webhookUrl: url })).status).toBe(200);
    },
  );

  it.each(['https://10.0.0.5/hook', 'https://169.254.169.254/', 'https://[fd00::1]/hook', 'https://0.0.0.0/hook', 'https://[::ffff:192.168.0.1]/', 'http://10.0.0.5/hook', 'http://hooks.example.com/hook'])(
    'still refuses %s',
    async (url) => {
      const o = await orgIn(sandbox);
      const res = await putAlerts(sandbox, o.token, { thresholds: [1], webhookUrl: url });
      expectRefusedBody(res, 'webhookUrl');
      expect(await stored(sandbox, o.orgId)).toBeNull();
    },
  );
});

describe('delivery: the addresses a host name resolves to, judged by the connection’s own lookup', () => {
  /** An event to deliver: an organisation whose balance.low for 1000 has just been stored. */
  async function eventFor(ctx: TestContext, webhookUrl: string): Promise<{ orgId: string; eventId: number; secret: string }> {
    const o = await orgIn(ctx, 2000);
    const put = await putAlerts(ctx, o.token, { thresholds: [1000], webhookUrl });
    expect(put.status).toBe(200);
    await ctx.services.store.chargeCall({ orgId: o.orgId, callId: `addr-${o.orgId}`, amount: 1500, reference: 'below the line' });
    const r = await ctx.pool.query<{ id: string }>("select id from wallet_events where org_id = $1 and type = 'balance.low' order by id desc limit 1", [o.orgId]);
    expect(r.rows).toHaveLength(1);
    return { orgId: o.orgId, eventId: Number(r.rows[0]!.id), secret: put.body.signingSecret as string };
  }

  function deps(options: { sandbox: boolean; answers?: (host: string) => LookupAddress[]; lines?: string[] }): EventDeliveryDeps & { lookups: string[] } {
    const lookups: string[] = [];
    return {
      moneyIn: sandbox.services.moneyIn,
      metrics: sandbox.services.metrics,
      log: createLogger('info', {}, { write: (s: string) => void options.lines?.push(s) }),
      timeoutMs: 2000,
      sandbox: options.sandbox,
      lookups,
      ...(options.answers
        ? {
            resolve: async (host: string) => {
              lookups.push(host);
              return options.answers!(host);
            },
          }
        : {}),
    };
  }

  async function refusedCount(ctx: TestContext): Promise<number> {
    const m = await ctx.services.metrics.walletEventDeliveries.get();
    return m.values.filter((v) => v.labels.outcome === 'refused_address').reduce((s, v) => s + v.value, 0);
  }

  async function delivered(ctx: TestContext, eventId: number): Promise<boolean> {
    const r = await ctx.pool.query<{ d: boolean }>('select delivered_at is not null d from wallet_events where id = $1', [eventId]);
    return r.rows[0]!.d;
  }

  let receiver: Server;
  let port: number;
  const bodies: string[] = [];
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.statusCode = 204;
        res.end();
      });
    });
    // Only on 127.0.0.2: a connection reaches it only if it goes to the address our resolver gave.
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.2', () => r()));
    port = (receiver.address() as AddressInfo).port;
  });
  afterAll(async () => new Promise<void>((r) => receiver.close(() => r())));

  it('refuses a host name that resolves to a private address: no connection, counted, logged without the path or the secret, retried', async () => {
    const e = await eventFor(sandbox, 'https://hooks.customer.example/billing/s3cr3t-path-token?key=q5ery-s3cret');
    const lines: string[] = [];
    const d = deps({ sandbox: false, answers: () => [{ address: '10.0.0.5', family: 4 }], lines });
    const refusedBefore = await refusedCount(sandbox);
    await expect(deliverWalletEvent(d, e.eventId)).rejects.toThrow(/hooks\.customer\.example resolves to 10\.0\.0\.5, a refused address \(private\)/);
    expect(d.lookups).toEqual(['hooks.customer.example']);
    expect(await refusedCount(sandbox)).toBe(refusedBefore + 1);
    expect(await delivered(sandbox, e.eventId)).toBe(false);
    const log = lines.join('');
    expect(log).toContain('hooks.customer.example');
    expect(log).toContain('10.0.0.5');
    for (const secret of ['s3cr3t-path-token', 'q5ery-s3cret', e.secret]) expect(log).not.toContain(secret);
  });

  it.each<[string, LookupAddress[]]>([
    ['the metadata address', [{ address: '169.254.169.254', family: 4 }]],
    ['loopback, outside sandbox mode', [{ address: '127.0.0.1', family: 4 }]],
    ['IPv4-mapped loopback', [{ address: '::ffff:127.0.0.1', family: 6 }]],
    ['unique-local IPv6', [{ address: 'fd00:ec2::254', family: 6 }]],
    ['a public address beside a private one', [{ address: '93.184.216.34', family: 4 }, { address: '192.168.0.10', family: 4 }]],
    ['unspecified', [{ address: '0.0.0.0', family: 4 }]],
  ])('refuses a host name whose answer holds %s', async (_what, answer) => {
    const e = await eventFor(sandbox, 'https://hooks.customer.example/billing');
    const d = deps({ sandbox: false, answers: () => answer });
    await expect(deliverWalletEvent(d, e.eventId)).rejects.toThrow(/a refused address/);
    expect(await delivered(sandbox, e.eventId)).toBe(false);
  });

  it('connects to the address it checked, and judges the answer again at the next delivery (a DNS answer that changes)', async () => {
    // Sandbox mode: http to loopback is allowed. The system would resolve localhost to 127.0.0.1
    // or ::1, where nothing listens on this port: the delivery lands only through the lookup's
    // own, checked, answer.
    let answer: LookupAddress[] = [{ address: '127.0.0.2', family: 4 }];
    const url = `http://localhost:${port}/hook`;
    const first = await eventFor(sandbox, url);
    const d = deps({ sandbox: true, answers: () => answer });
    expect(await deliverWalletEvent(d, first.eventId)).toBe('delivered');
    expect(d.lookups).toEqual(['localhost']);
    expect(JSON.parse(bodies.at(-1)!)).toMatchObject({ type: 'balance.low', data: { orgId: first.orgId } });

    // The name now answers a private address: the next delivery is refused before any connection.
    answer = [{ address: '10.0.0.5', family: 4 }];
    const second = await eventFor(sandbox, url);
    const seen = bodies.length;
    await expect(deliverWalletEvent(d, second.eventId)).rejects.toThrow(/localhost resolves to 10\.0\.0\.5/);
    expect(d.lookups).toEqual(['localhost', 'localhost']);
    expect(bodies).toHaveLength(seen);

    // And plain http goes to loopback only, even to a public answer.
    answer = [{ address: '93.184.216.34', family: 4 }];
    await expect(deliverWalletEvent(d, second.eventId)).rejects.toThrow(/a refused address \(unicast \(plain http goes to loopback only\)\)/);
    expect(await delivered(sandbox, second.eventId)).toBe(false);
  });

  it('ends the job at once for a refused IP literal stored before this check (no retry can change it)', async () => {
    const e = await eventFor(sandbox, 'https://hooks.customer.example/billing');
    await sandbox.pool.query("update wallet_money_settings set webhook_url = 'https://[::ffff:169.254.169.254]/latest' where org_id = $1", [e.orgId]);
    const lines: string[] = [];
    const d = deps({ sandbox: false, answers: () => [], lines });
    expect(await deliverWalletEvent(d, e.eventId)).toBe('refused_address');
    expect(d.lookups).toEqual([]);
    expect(lines.join('')).toContain('link-local');
    expect(await delivered(sandbox, e.eventId)).toBe(false);
  });

  it('outside sandbox mode, the worker saves `https://localhost` but never connects to it, and keeps retrying on its backoff', async () => {
    const connections: Socket[] = [];
    const trap: TcpServer = createTcpServer((s) => {
      connections.push(s);
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
    try {
      const trapPort = (trap.address() as AddressInfo).port;
      const o = await prod.org(2000);
      const put = await request(prod.ctx.app()).put('/api/wallet/alerts').set('authorization', `Bearer ${o.token}`).send({ thresholds: [1000], webhookUrl: `https://localhost:${trapPort}/hook` });
      expect(put.status).toBe(200);
      await prod.ctx.services.store.chargeCall({ orgId: o.orgId, callId: `trap-${o.orgId}`, amount: 1500, reference: 'below the line' });
      // Two refusals: the first attempt and its retry (a DNS answer can change; the backoff is the job's own).
      await eventually(async () => (await refusedCount(prod.ctx)) >= 2, { what: 'two refused attempts' });
      expect(connections).toHaveLength(0);
      const ev = await prod.ctx.pool.query<{ d: boolean }>('select delivered_at is not null d from wallet_events where org_id = $1', [o.orgId]);
      expect(ev.rows.map((r) => r.d)).toEqual([false]);
    } finally {
      await new Promise<void>((r) => trap.close(() => r()));
    }
  });
});
