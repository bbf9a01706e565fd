// The real `stripe` SDK, pointed at STRIPE_API_BASE_URL when set (the sandbox simulator in
// sandbox mode and tests), else at api.stripe.com. One client per process.
import Stripe from 'stripe';
import type { Config } from '../config';

export type StripeClient = Stripe;

export function createStripeClient(config: Pick<Config['stripe'], 'secretKey' | 'apiBaseUrl' | 'apiTimeoutMs'>): Stripe {
  const options: Stripe.StripeConfig = { timeout: config.apiTimeoutMs, maxNetworkRetries: 1, telemetry: false };
  if (config.apiBaseUrl !== undefined) {
    const u = new URL(config.apiBaseUrl);
    options.protocol = u.protocol === 'http:' ? 'http' : 'https';
    options.host = u.hostname;
    options.port = u.port === '' ? (u.protocol === 'http:' ? 80 : 443) : Number(u.port);
  }
  return new Stripe(config.secretKey, options);
}
