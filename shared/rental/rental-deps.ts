// What the rental steps need, taken from Services so tests, workers and the API share one shape.
import type { TwilioClient } from '../clients/twilio-client';
import type { VapiClient } from '../clients/vapi-client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { RedisClient, RedisKeys } from '../redis';
import type { Services } from '../process/services';
import type { WalletService } from '../wallet/wallet-service';
import type { RentalStore } from './rental-store';

export interface RentalDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  wallet: WalletService;
  rental: RentalStore;
  twilio: TwilioClient;
  vapi: VapiClient;
  /** For the number cache (shared/calls/number-resolver.ts forgetNumber). */
  redis: RedisClient;
  keys: RedisKeys;
}

/** NUMBER_GRACE_DAYS in seconds, as the SQL functions take it. */
export const graceSeconds = (config: Config): number => config.rental.graceDays * 86_400;

export function rentalDeps(s: Services): RentalDeps {
  return { config: s.config, log: s.log, metrics: s.metrics, wallet: s.wallet, rental: s.rental, twilio: s.twilio, vapi: s.vapi, redis: s.redis, keys: s.keys };
}
