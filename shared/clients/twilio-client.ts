// The Twilio calls provisioning makes, through the real `twilio` SDK. In sandbox mode (or with
// TWILIO_API_BASE_URL) the SDK's v2010 domain is pointed at another base URL: `client.api.baseUrl`
// is the public field every v2010 request and page link is resolved against (base/Domain.ts).
// Every listing pages (PageSize + the next_page_uri Twilio returns) up to a stated bound.
import twilio from 'twilio';
import type { Config } from '../config';

/** Default per-request limit (TWILIO_API_TIMEOUT_MS); a purchase that takes longer is "may have happened". */
export const TWILIO_REQUEST_TIMEOUT_MS = 15_000;
/** FriendlyName is limited to 64 characters by Twilio; ours is a request id (36). */
export const TWILIO_FRIENDLY_NAME_MAX = 64;
/** Twilio's largest page of owned numbers. */
export const TWILIO_PAGE_SIZE = 1000;
/**
 * Owned numbers listed per FriendlyName at most: one is expected, a few mean an earlier double
 * buy; more than this is a programmer error somewhere (the reconciler still sees them all).
 */
const NAMED_LIMIT = 1000;
/** Pages of the whole account one listing may read: 100 × 1000 numbers, far above any real account. */
export const TWILIO_MAX_PAGES = 100;

export interface TwilioNumber {
  sid: string;
  phoneNumber: string;
}

export interface OwnedTwilioNumber extends TwilioNumber {
  friendlyName: string;
  createdAt: Date;
}

export interface TwilioClient {
  findByFriendlyName(name: string): Promise<TwilioNumber[]>;
  /** Every number the account holds, page by page, each page handed to `visit` as it arrives. */
  eachOwnedPage(visit: (page: OwnedTwilioNumber[]) => Promise<void>): Promise<void>;
  searchLocal(country: string, areaCode: string, limit: number): Promise<string[]>;
  buy(phoneNumber: string, friendlyName: string): Promise<TwilioNumber>;
  /** 'released', or 'already_gone' when Twilio answers 20404. */
  release(sid: string): Promise<'released' | 'already_gone'>;
}

/** What the walk needs of an SDK page (the SDK types nextPage()'s result as a bare Page). */
interface NumbersPage {
  instances: Array<{ sid: string; phoneNumber: string; friendlyName: string; dateCreated: Date }>;
  nextPage(): Promise<NumbersPage> | undefined;
}

export function createTwilioClient(cfg: Pick<Config['twilio'], 'accountSid' | 'authToken' | 'apiBaseUrl'> & { timeoutMs?: number }): TwilioClient {
  const client = twilio(cfg.accountSid, cfg.authToken, { timeout: cfg.timeoutMs ?? TWILIO_REQUEST_TIMEOUT_MS, autoRetry: false });
  if (cfg.apiBaseUrl !== undefined) client.api.baseUrl = cfg.apiBaseUrl;
  return {
    async findByFriendlyName(name) {
      // list() follows next_page_uri itself until `limit`.
      const found = await client.incomingPhoneNumbers.list({ friendlyName: name, pageSize: 50, limit: NAMED_LIMIT });
      return found.map((n) => ({ sid: n.sid, phoneNumber: n.phoneNumber }));
    },
    async eachOwnedPage(visit) {
      let page: NumbersPage = await client.incomingPhoneNumbers.page({ pageSize: TWILIO_PAGE_SIZE });
      for (let n = 1; ; n++) {
        await visit(page.instances.map((i) => ({ sid: i.sid, phoneNumber: i.phoneNumber, friendlyName: i.friendlyName, createdAt: i.dateCreated })));
        const next = await page.nextPage();
        if (next === undefined) return;
        // A bound on the walk, loudly: an account this size needs a different design, not silence.
        if (n >= TWILIO_MAX_PAGES) throw new Error(`Twilio listing exceeded ${TWILIO_MAX_PAGES} pages of ${TWILIO_PAGE_SIZE}`);
        page = next;
      }
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
