// Proves which live-call-control URLs the service will ever call: https on the allowed hosts
// (VAPI_CONTROL_HOSTS), loopback only in sandbox mode, never one with credentials in it — and
// that the settings are validated at start.
import { isAllowedControlUrl } from '../../shared/clients/vapi-control';
import { ConfigError, loadConfig } from '../../shared/config';

describe('live call control URLs', () => {
  const production = { hosts: ['*.vapi.ai'], loopback: false };
  const sandbox = { hosts: ['*.vapi.ai'], loopback: true };

  it.each([
    ['https://phone-call-websocket.aws-us-west-2-backend-production2.vapi.ai/abc/control', true],
    ['https://vapi.ai/abc/control', false], // "*.vapi.ai" means a subdomain
    ['http://phone-call-websocket.vapi.ai/abc/control', false], // https only
    ['https://vapi.ai.evil.example/abc/control', false],
    ['https://evilvapi.ai/abc/control', false],
    ['https://user:pass@x.vapi.ai/abc/control', false],
    ['http://127.0.0.1:4020/call/abc/control', false], // loopback only in sandbox mode
    ['not a url', false],
  ])('outside sandbox mode, %s → %s', (url, allowed) => {
    expect(isAllowedControlUrl(url, production)).toBe(allowed);
  });

  it('allows loopback (the simulator, test servers) in sandbox mode only', () => {
    expect(isAllowedControlUrl('http://127.0.0.1:4020/call/abc/control', sandbox)).toBe(true);
    expect(isAllowedControlUrl('http://localhost:4020/call/abc/control', sandbox)).toBe(true);
    expect(isAllowedControlUrl('http://10.0.0.5/call/abc/control', sandbox)).toBe(false);
  });

  it('reads VAPI_CONTROL_HOSTS, CALL_HOLD_POLICY and CALL_HOLD_SECONDS, and refuses bad values naming them', () => {
    const c = loadConfig({ VAPI_CONTROL_HOSTS: '*.vapi.ai,control.example.com', CALL_HOLD_POLICY: 'full', CALL_HOLD_SECONDS: '60' });
    expect(c.callGate).toMatchObject({ controlHosts: ['*.vapi.ai', 'control.example.com'], holdPolicy: 'full', holdSeconds: 60, controlLoopback: true });
    expect(loadConfig({}).callGate).toMatchObject({ controlHosts: ['*.vapi.ai'], holdPolicy: 'metered', holdSeconds: 120 });
    for (const [name, value] of [['VAPI_CONTROL_HOSTS', 'https://x.vapi.ai'], ['CALL_HOLD_POLICY', 'half'], ['CALL_HOLD_SECONDS', '5']]) {
      expect(() => loadConfig({ [name as string]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ [name as string]: value })).toThrow(new RegExp(`^${name}`));
    }
  });
});
