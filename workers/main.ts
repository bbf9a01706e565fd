// Starts every worker and scheduler of this process, and closes them within a deadline.
import type { Services } from '../shared/process/services';
import { startCallBillingWorker } from './call-billing-worker';
import { startCallMeterWorker } from './call-meter-worker';
import { CALL_SWEEP_SCHEDULER_ID, callSweepDeps, sweepCalls } from './call-sweeper';
import { keepSchedules, scheduleMaintenanceTask } from './keep-schedules';
import { catchUpStripeEvents } from '../shared/money-in/stripe-catch-up';
import { STRIPE_CATCH_UP_SCHEDULER_ID, stripeCatchUpDeps } from './stripe-catch-up';
import { RECONCILE_SCHEDULER_ID, reconcileNumbers } from './number-reconciler';
import { startMaintenanceWorker } from './maintenance-worker';
import { startMoneyInWorkers } from './money-in-worker';
import { meterPumpDeps, startMeterPump } from './meter-pump';
import { meterSweepDeps, sweepMeters } from './meter-sweeper';
import { PROVISIONING_SWEEP_SCHEDULER_ID, sweepProvisioning } from './provisioning-sweeper';
import { startProvisioningWorker } from './provisioning-worker';
import { startRefundWorker } from './refund-worker';
import { scheduleRentSweep, startRentWorker } from './rent-worker';

export interface RunningWorkers {
  close(deadlineMs: number): Promise<void>;
}

export async function startWorkers(services: Services): Promise<RunningWorkers> {
  const closers: Array<(deadlineMs: number) => Promise<void>> = [];
  // Provisioning (issue 3): attempts, and refunds after a final failure.
  closers.push(startProvisioningWorker(services).close);
  closers.push(startRefundWorker(services).close);
  // Call gate (issue 4): billing of end-of-call reports.
  closers.push(startCallBillingWorker(services).close);
  // Metered calls (issue 10): renewals of live calls' holds, and ending calls out of money.
  closers.push(startCallMeterWorker(services).close);
  // Issue 15: the first renewals Redis-path admissions wrote into the due set, into that queue.
  closers.push(startMeterPump(meterPumpDeps(services)).close);
  // Money in (issue 11): wallet events to customers' webhooks, auto-recharges, the outbox relay.
  closers.push(startMoneyInWorkers(services).close);
  // Issue 24: monthly rents of numbers, past-due numbers' retries, releases of unpaid numbers.
  closers.push(startRentWorker(services).close);
  // One maintenance worker for every periodic task; each task has one schedule.
  const sweepDeps = callSweepDeps(services);
  const meterDeps = meterSweepDeps(services);
  closers.push(
    startMaintenanceWorker(services, {
      // Outbound calls whose Vapi answer was lost first: one found is then metered and billed as any call.
      'sweep-calls': async () => ({ meters: await sweepMeters(meterDeps), outbound: await services.outbound.sweepPlacing(new Date()), calls: await sweepCalls(sweepDeps) }),
      'sweep-provisioning': () => sweepProvisioning(services),
      // Issue 13: releases numbers Twilio or Vapi hold that no completed request owns.
      'reconcile-numbers': () => reconcileNumbers(services),
      // Stripe events no webhook brought (a payment, a refund, a dispute): applied as the webhook would.
      'stripe-catch-up': () => catchUpStripeEvents(stripeCatchUpDeps(services)),
    }).close,
  );
  const { maintenance } = services.queues;
  const every = services.config.sweep.intervalMs;
  const schedules = await keepSchedules(
    async () => {
      await scheduleMaintenanceTask(maintenance, CALL_SWEEP_SCHEDULER_ID, every);
      await scheduleMaintenanceTask(maintenance, PROVISIONING_SWEEP_SCHEDULER_ID, every);
      await scheduleMaintenanceTask(maintenance, RECONCILE_SCHEDULER_ID, services.config.reconcile.intervalMs);
      await scheduleMaintenanceTask(maintenance, STRIPE_CATCH_UP_SCHEDULER_ID, services.config.stripe.catchUp.intervalMs);
      await scheduleRentSweep(services.queues.rentals, services.config.rental.intervalMs);
    },
    every,
    services.log,
    services.metrics,
  );
  closers.unshift(async () => schedules.stop());
  services.log.info({ workers: closers.length }, 'workers started');
  return {
    async close(deadlineMs) {
      await Promise.allSettled(closers.map((c) => c(deadlineMs)));
    },
  };
}
