// A destination number of an outbound call (CONTRACT §10): valid E.164, and its country by its
// calling code, as libphonenumber-js reads it (its "max" metadata: the number must be a valid
// number of its country, not only the right length).
import { parsePhoneNumberFromString, type PhoneNumber } from 'libphonenumber-js/max';

export type Destination = { kind: 'valid'; e164: string; country: string | null } | { kind: 'invalid' };

/** The destination as E.164 with its country (ISO 3166 alpha-2; null for a non-geographic code). */
export function parseDestination(text: string): Destination {
  if (!/^\+[1-9][0-9]{6,14}$/.test(text)) return { kind: 'invalid' };
  let n: PhoneNumber | undefined;
  try {
    n = parsePhoneNumberFromString(text);
  } catch {
    // It answers undefined for text it cannot parse; a throw is treated the same way.
    n = undefined;
  }
  if (n === undefined || !n.isValid()) return { kind: 'invalid' };
  return { kind: 'valid', e164: n.number, country: n.country ?? null };
}
