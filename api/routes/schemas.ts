// Input shapes shared by several routes.
import { z } from 'zod';

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const uuid = z.string().regex(UUID_PATTERN, 'must be a UUID').transform((s) => s.toLowerCase());
export const e164 = z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 number such as +14155550100');
export const vapiId = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'must be visible ASCII');
export const currency = z.string().regex(/^[a-z]{3}$/, 'must be a lower-case ISO 4217 code such as "gbp"');
/** A positive whole number of minor units, capped (failure mode 3). Rejects 1.5, "10", -1, 0, 1e9. */
export const positiveAmount = (max: number) => z.number().int('must be a whole number of minor units').min(1).max(max);
