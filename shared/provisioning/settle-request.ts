// The end of a request that will not complete: mark it failed, queue its refund, and (in the
// refund job) release what was bought before refunding exactly once. Each step is idempotent and
// the database is the state machine, so the sweeper can call any of them again at any time.
import { moneyJobOptions, jobIds } from '../queues/queues';
import type { ProvisioningDeps } from './provisioning-deps';
import { releasePurchase } from './release-purchase';

/** Queues the refund job (one job id per request, so repeats collapse while it exists). */
export async function enqueueRefund(deps: Pick<ProvisioningDeps, 'queues'>, requestId: string): Promise<void> {
  await deps.queues.refunds.add('refund', { requestId }, moneyJobOptions(jobIds.refund(requestId)));
}

/** Final failure of any kind: failed in the database first, then the refund is queued. */
export async function failRequest(deps: ProvisioningDeps, requestId: string, error: string): Promise<'failed' | 'final' | 'not_found'> {
  const r = await deps.provisioning.markFailed(requestId, error);
  if (r.outcome !== 'failed') return r.outcome;
  if (!r.replayed) {
    deps.metrics.provisioningOutcomes.inc({ outcome: 'failed' });
    deps.log.warn({ requestId, error }, 'provisioning failed; refund queued');
  }
  await enqueueRefund(deps, requestId);
  return 'failed';
}

export type RefundOutcome = 'refunded' | 'already_refunded' | 'not_refundable' | 'not_found';

/**
 * Releases the request's numbers, then refunds its debit. The SQL refund is tied to the debit by
 * a unique key (failure mode 10): however many jobs or sweeps get here, one refund entry exists.
 */
export async function refundRequest(deps: ProvisioningDeps, requestId: string): Promise<RefundOutcome> {
  const { metrics } = deps;
  try {
    const loaded = await deps.provisioning.load(requestId);
    if (loaded.outcome === 'not_found') return 'not_found';
    const req = loaded.request;
    if (req.status === 'refunded') {
      metrics.refunds.inc({ outcome: 'replayed' });
      return 'already_refunded';
    }
    if (req.status !== 'failed') return 'not_refundable';
    await releasePurchase(deps, req); // failure mode 14: never refund while a number is live
    const r = await deps.provisioning.refund(requestId);
    if (r.outcome !== 'refunded') return r.outcome;
    await deps.wallet.writeThrough(req.orgId, { balance: r.balance, version: r.version, currency: r.currency, controls: r.controls });
    if (r.replayed) {
      metrics.refunds.inc({ outcome: 'replayed' });
      metrics.walletMovements.inc({ kind: 'phone_number_refund', outcome: 'replayed' });
      return 'already_refunded';
    }
    metrics.refunds.inc({ outcome: 'refunded' });
    metrics.walletMovements.inc({ kind: 'phone_number_refund', outcome: 'posted' });
    metrics.walletMovementAmount.inc({ kind: 'phone_number_refund', currency: r.currency }, r.request.refunded);
    metrics.provisioningOutcomes.inc({ outcome: 'refunded' });
    deps.log.info({ requestId, orgId: req.orgId, refunded: r.request.refunded }, 'provisioning refunded');
    return 'refunded';
  } catch (err) {
    // Never only logged (failure mode 6): counted here, retried by the job and by the sweeper.
    metrics.refunds.inc({ outcome: 'failed' });
    metrics.walletFailures.inc({ operation: 'refund' });
    throw err;
  }
}
