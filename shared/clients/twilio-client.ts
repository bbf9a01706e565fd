// The Twilio calls provisioning makes, through the real `twilio` SDK. In sandbox mode (or with
// TWILIO_API_BASE_URL) the SDK's v2010 domain is pointed at another base URL: `client.api.baseUrl`
// is the public field every v2010 request and page link is resolved against (base/Domain.ts).
import twilio from 'twilio';
import type { Config } from '../config';

/** Per-request limit; a purchase that takes longer is treated as "may have happened". */
export const TWILIO_REQUEST_TIMEOUT_MS = 15_000;
/** FriendlyName is limited to 64 characters by Twilio; ours is a request id (36). */
export const TWILIO_FRIENDLY_NAME_MAX = 64;
/** Owned numbers listed per FriendlyName: one is expected, more means an earlier double buy. */
const LIST_LIMIT = 20;

export interface TwilioNumber {
  sid: string;
  phoneNumber: string;
}

export interface TwilioClient {
  findByFriendlyName(name: string): Promise<TwilioNumber[]>;
  searchLocal(country: string, areaCode: string, limit: number): Promise<string[]>;
  buy(phoneNumber: string, friendlyName: string): Promise<TwilioNumber>;
  /** 'released', or 'already_gone' when Twilio answers 20404. */
  release(sid: string): Promise<'released' | 'already_gone'>;
}

export function createTwilioClient(cfg: Config['twilio']): TwilioClient {
  const client = twilio(cfg.accountSid, cfg.authToken, { timeout: TWILIO_REQUEST_TIMEOUT_MS, autoRetry: false });
  if (cfg.apiBaseUrl !== undefined) client.api.baseUrl = cfg.apiBaseUrl;
  return {
    async findByFriendlyName(name) {
      const found = await client.incomingPhoneNumbers.list({ friendlyName: name, limit: LIST_LIMIT });
      return found.map((n) => ({ sid: n.sid, phoneNumber: n.phoneNumber }));
    },
    async searchLocal(country, areaCode, limit) {
      const found = await client.availablePhoneNumbers(country).local.list({
        areaCode: Number(areaCode),
        voiceEnabled: true,
        excludeAllAddressRequired: true,
        limit,
      });
      return found.map((n) => n.phoneNumber);
    },
    async buy(phoneNumber, friendlyName) {
      if (friendlyName.length > TWILIO_FRIENDLY_NAME_MAX) throw new Error('invariant violated: FriendlyName too long');
      const n = await client.incomingPhoneNumbers.create({ phoneNumber, friendlyName });
      return { sid: n.sid, phoneNumber: n.phoneNumber };
    },
    async release(sid) {
      try {
        await client.incomingPhoneNumbers(sid).remove();
        return 'released';
      } catch (err) {
        if ((err as { code?: unknown }).code === 20404 || (err as { status?: unknown }).status === 404) return 'already_gone';
        throw err;
      }
    },
  };
}
