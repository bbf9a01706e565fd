// The hot path reads an assistant-request's three gate fields without the full zod parse
// (gateRequestOf, issue 15). Proves, for any JSON body, that whenever it answers it answers what
// the full schema (vapiEnvelope) would have given the gate, and that it leaves every other message
// (and any assistant-request carrying a control URL) to the full parse.
import fc from 'fast-check';
import { gateRequestOf, vapiEnvelope } from '../../shared/calls/vapi-messages';

const viaZod = (body: unknown) => {
  const parsed = vapiEnvelope.safeParse(body);
  if (!parsed.success) return undefined;
  const m = parsed.data.message;
  return { type: m.type, controlUrl: m.call?.monitor?.controlUrl, fields: { callId: m.call?.id, vapiPhoneNumberId: m.call?.phoneNumberId ?? m.phoneNumber?.id ?? null, e164: m.phoneNumber?.number ?? null } };
};

// Values as they come out of JSON.parse, biased towards the shapes and limits that matter.
const json = fc.jsonValue({ maxDepth: 2 });
const text = fc.oneof(fc.constant(''), fc.string({ minLength: 1, maxLength: 30 }), fc.string({ minLength: 195, maxLength: 205 }), fc.string({ minLength: 18, maxLength: 22 }), json);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const call = fc.oneof(
  json,
  fc.record({ id: maybe(text), phoneNumberId: maybe(text), monitor: maybe(fc.oneof(json, fc.record({ controlUrl: maybe(text) }))), extra: maybe(json) }, { requiredKeys: [] }),
);
const phoneNumber = fc.oneof(json, fc.record({ id: maybe(text), number: maybe(text) }, { requiredKeys: [] }));
const message = fc.oneof(
  json,
  fc.record(
    { type: fc.oneof(fc.constant('assistant-request'), fc.constant('status-update'), fc.constant(''), json), call: maybe(call), phoneNumber: maybe(phoneNumber), timestamp: maybe(json) },
    { requiredKeys: [] },
  ),
);
const body = fc.oneof(json, fc.record({ message }, { requiredKeys: [] }));

describe('gateRequestOf (the assistant-request fast path)', () => {
  it('answers only for assistant-requests without a control URL, and then exactly what the full schema gives the gate', () => {
    fc.assert(
      fc.property(body, (b) => {
        // What the route sees: the body after a JSON round trip (no undefined, no prototypes).
        const parsedBody: unknown = JSON.parse(JSON.stringify(b) ?? 'null');
        const fast = gateRequestOf(parsedBody);
        const full = viaZod(parsedBody);
        if (fast !== undefined) {
          expect(full).toBeDefined();
          expect(full!.type).toBe('assistant-request');
          expect(fast).toEqual(full!.fields);
        } else if (full?.type === 'assistant-request') {
          // Left to the full parse only because of a control URL (present in the raw message).
          const raw = (parsedBody as { message: { call?: { monitor?: { controlUrl?: unknown } } } }).message.call?.monitor?.controlUrl;
          expect(raw).toBeDefined();
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a realistic assistant-request', () => {
    const m = { message: { type: 'assistant-request', timestamp: 1, call: { id: 'c1', type: 'inboundPhoneCall', phoneNumberId: 'pn1', customer: { number: '+14155550100' } }, phoneNumber: { id: 'pn1', number: '+15550000001' }, assistant: { big: 'x'.repeat(2000) } } };
    expect(gateRequestOf(m)).toEqual({ callId: 'c1', vapiPhoneNumberId: 'pn1', e164: '+15550000001' });
    expect(gateRequestOf({ message: { ...m.message, call: { ...m.message.call, monitor: { controlUrl: 'https://x.vapi.ai/c' } } } })).toBeUndefined();
    expect(gateRequestOf({ message: { ...m.message, type: 'status-update' } })).toBeUndefined();
  });
});
