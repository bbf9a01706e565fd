// What the provisioning steps need, taken from Services so tests and workers share one shape.
import type { TwilioClient } from '../clients/twilio-client';
import type { VapiClient } from '../clients/vapi-client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { WalletService } from '../wallet/wallet-service';
import type { Queues } from '../queues/queues';
import type { ProvisioningStore } from './provisioning-store';

export interface ProvisioningDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  wallet: WalletService;
  queues: Queues;
  provisioning: ProvisioningStore;
  twilio: TwilioClient;
  vapi: VapiClient;
}
