// A destination number of an outbound call (CONTRACT §10): valid E.164, and its country by its
// calling code, as libphonenumber-js reads it (its "max" metadata: the number must be a valid
// number of its country, not only the right length).
//
// libphonenumber-js is loaded on first use through a plain module load, not a static import: the
// dependency is added to the project by a separate install (see README, "Outbound calls"); until
// it is there, outbound calls answer 503 `destination_check_unavailable` rather than being placed
// unchecked, and the rest of the service runs as before.
import { createRequire } from 'node:module';

export type Destination = { kind: 'valid'; e164: string; country: string | null } | { kind: 'invalid' } | { kind: 'unavailable' };

interface ParsedNumber {
  number: string;
  country?: string;
  isValid(): boolean;
}
type ParsePhoneNumber = (text: string) => ParsedNumber | undefined;

const load = createRequire(__filename);
let parser: ParsePhoneNumber | null | undefined;

function parserOf(): ParsePhoneNumber | null {
  if (parser === undefined) {
    try {
      parser = (load('libphonenumber-js/max') as { parsePhoneNumberFromString: ParsePhoneNumber }).parsePhoneNumberFromString;
    } catch {
      parser = null;
    }
  }
  return parser;
}

/** Whether libphonenumber-js is installed (the outbound route refuses with 503 until it is). */
export function destinationCheckAvailable(): boolean {
  return parserOf() !== null;
}

/** The destination as E.164 with its country (ISO 3166 alpha-2; null for a non-geographic code). */
export function parseDestination(text: string): Destination {
  const parse = parserOf();
  if (parse === null) return { kind: 'unavailable' };
  if (!/^\+[1-9][0-9]{6,14}$/.test(text)) return { kind: 'invalid' };
  let n: ParsedNumber | undefined;
  try {
    n = parse(text);
  } catch {
    n = undefined;
  }
  if (n === undefined || !n.isValid()) return { kind: 'invalid' };
  return { kind: 'valid', e164: n.number, country: n.country ?? null };
}
