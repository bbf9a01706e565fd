// Proves the one timestamped HMAC (shared/timestamped-hmac.ts) against a vector computed outside
// Node (`printf '%s' '1700000000.{"id":"1"}' | openssl dgst -sha256 -hmac 'bgs_test-secret'`), so
// the tests that sign and check with the module cannot share a mistake with it unseen.
import { signatureHeader, signTimestamped, verifySignatureHeader, verifyTimestamped } from '../../shared/timestamped-hmac';

const SECRET = 'bgs_test-secret';
const BODY = '{"id":"1"}';
const HEX = '311bae80cd587af27f5e9f363447db4b1810a738dc0a445705731e4f4bef5f82';

describe('timestamped HMAC', () => {
  it('signs "<t>.<body>" as hex HMAC-SHA256, from a string or the raw bytes', () => {
    expect(signTimestamped(SECRET, 1_700_000_000, BODY)).toBe(HEX);
    expect(signTimestamped(SECRET, '1700000000', Buffer.from(BODY))).toBe(HEX);
    expect(signatureHeader(SECRET, BODY, 1_700_000_000)).toBe(`t=1700000000,v1=${HEX}`);
  });

  it('verifies only the same secret, timestamp and body', () => {
    expect(verifyTimestamped(SECRET, '1700000000', BODY, HEX)).toBe(true);
    expect(verifyTimestamped(SECRET, '1700000001', BODY, HEX)).toBe(false);
    expect(verifyTimestamped('bgs_other-secret', '1700000000', BODY, HEX)).toBe(false);
    expect(verifyTimestamped(SECRET, '1700000000', `${BODY} `, HEX)).toBe(false);
    expect(verifyTimestamped(SECRET, '1700000000', BODY, HEX.slice(0, 62))).toBe(false);
    expect(verifyTimestamped(SECRET, '1700000000', BODY, 'not-hex')).toBe(false);
  });

  it('verifies a Billing-Gates-Signature header and refuses a malformed one', () => {
    expect(verifySignatureHeader(SECRET, `t=1700000000,v1=${HEX}`, BODY)).toBe(true);
    expect(verifySignatureHeader(SECRET, `t=1700000001,v1=${HEX}`, BODY)).toBe(false);
    expect(verifySignatureHeader(SECRET, `v1=${HEX},t=1700000000`, BODY)).toBe(false);
    expect(verifySignatureHeader(SECRET, `t=1700000000,v1=${HEX.toUpperCase()}`, BODY)).toBe(false);
    expect(verifySignatureHeader(SECRET, '', BODY)).toBe(false);
  });
});
