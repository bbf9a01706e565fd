// The billing page (CONTRACT §9): one customer's wallet, transactions, number purchases, rented
// numbers (CONTRACT §11), top-ups, auto-recharge, alerts and events, through the dashboard API
// only; usage, calls, statements and receipts (CONTRACT §12) are billing-usage.js. Text is always set with
// textContent (never HTML), so nothing the API returns can run as script.
import { Api, decimalString, forgetToken, formatMoney, minorDigits, newIdempotencyKey, parseMoney, pollWithBackoff, takeToken } from './billing-api.js';
import { firstCallsPage, loadTopUps, loadUsage, startUsage } from './billing-usage.js';

const PAGE_SIZE = 10;
const PENDING_TOP_UP_KEY = 'billing-gates:pending-top-up';
const PROVISIONING_POLL = { firstDelayMs: 400, maxDelayMs: 5000, maxPolls: 120 };
const TOP_UP_POLL = { firstDelayMs: 400, maxDelayMs: 3000, maxPolls: 10 };
const STATUS_URL = /^\/api\/managed-telephony\/provisioning\/[0-9a-fA-F-]{36}$/;

const $ = (id) => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`invariant violated: #${id} is missing from the page`);
  return el;
};

/** @type {{currency: string, balance: number, available: number} | undefined} */
let wallet;
/** @type {Api} */
let api;

function say(id, text, tone = '') {
  const el = $(id);
  el.textContent = text;
  el.className = `message ${tone}`.trim();
}

const money = (minor) => formatMoney(minor, wallet?.currency ?? 'gbp');
/** The value to put in an amount field: "12.34" from 1234 (no symbol, no grouping). */
const amountField = (minor, currency) => (Number.isSafeInteger(minor) ? decimalString(minor, minorDigits(currency)) : '');
const messageOf = (body, fallback) => (typeof body?.message === 'string' && body.message !== '' ? body.message : fallback);

function signedOut(text) {
  forgetToken();
  for (const section of document.querySelectorAll('main > section, #frozen-banner')) section.hidden = true;
  say('page-message', text, 'error');
}

// ---------------------------------------------------------------- wallet

async function loadWallet() {
  const { status, body } = await api.get('/api/wallet');
  if (status === 200) {
    wallet = { currency: body.currency, balance: body.balance, available: body.available };
    $('balance').textContent = money(body.balance);
    $('available').textContent = money(body.available);
    for (const el of document.querySelectorAll('.currency-code')) el.textContent = body.currency.toUpperCase();
    // frozen / frozenReason (CONTRACT §8) may be absent on older servers: absent means not frozen.
    $('frozen-banner').hidden = body.frozen !== true;
    $('frozen-reason').textContent = typeof body.frozenReason === 'string' && body.frozenReason !== '' ? `Reason: ${body.frozenReason}.` : '';
    say('wallet-message', '');
    return true;
  }
  if (status === 401) return false;
  $('balance').textContent = '—';
  $('available').textContent = '—';
  if (status === 403) say('wallet-message', 'Your account is not linked to an organisation, so there is no wallet to show.', 'error');
  else if (status === 404) say('wallet-message', 'This organisation has no wallet yet. Please contact support to set it up.', 'error');
  else say('wallet-message', messageOf(body, 'The wallet could not be loaded. Try Refresh.'), 'error');
  return false;
}

// ---------------------------------------------------------------- transactions

const KIND_LABELS = {
  topup: 'Top-up',
  phone_number: 'Phone number',
  phone_number_refund: 'Phone number refund',
  phone_number_rent: 'Number rental',
  call: 'Call',
  topup_refund: 'Top-up refunded',
  dispute: 'Payment disputed',
  dispute_reversal: 'Dispute won',
};
const transactionPages = { cursor: null, previous: [], next: null };
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

async function loadTransactions() {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (transactionPages.cursor !== null) query.set('cursor', transactionPages.cursor);
  const { status, body } = await api.get(`/api/wallet/transactions?${query}`);
  if (status !== 200) {
    if (status !== 401) say('transactions-message', messageOf(body, 'Transactions could not be loaded.'), 'error');
    return;
  }
  const rows = body.items.map((t) => {
    const tr = document.createElement('tr');
    const when = document.createElement('td');
    const time = document.createElement('time');
    time.dateTime = t.createdAt;
    time.textContent = dateFormat.format(new Date(t.createdAt));
    when.append(time);
    tr.append(when, cell(KIND_LABELS[t.kind] ?? t.kind), cell(money(t.amount), t.amount > 0 ? 'num credit' : 'num'), cell(money(t.balanceAfter), 'num'));
    return tr;
  });
  $('transactions-body').replaceChildren(...rows);
  $('transactions-table').hidden = rows.length === 0;
  say('transactions-message', rows.length === 0 ? 'No transactions yet.' : '');
  transactionPages.next = body.nextCursor;
  $('transactions-older').disabled = body.nextCursor === null;
  $('transactions-newer').disabled = transactionPages.previous.length === 0;
  $('transactions-pager').hidden = body.nextCursor === null && transactionPages.previous.length === 0;
}

function firstTransactionsPage() {
  transactionPages.cursor = null;
  transactionPages.previous = [];
  return loadTransactions();
}

// ---------------------------------------------------------------- events (CONTRACT §7)

const EVENT_LABELS = {
  'balance.low': 'Balance low',
  'balance.recovered': 'Balance recovered',
  'auto_recharge.failed': 'Auto-recharge failed',
  'auto_recharge.disabled': 'Auto-recharge turned off after repeated failures',
  'wallet.frozen': 'Wallet frozen',
  'wallet.unfrozen': 'Wallet unfrozen',
  'number.past_due': 'Number rental unpaid',
  'number.reactivated': 'Number rental paid, number active again',
  'number.released': 'Number released',
};
const RELEASE_REASONS = { unpaid: 'its rental was not paid', customer: 'at your request' };
let eventsCursor = null;

function describeEvent(e) {
  const d = e.data ?? {};
  const parts = [EVENT_LABELS[e.type] ?? e.type];
  if (typeof d.phoneNumber === 'string') parts.push(d.phoneNumber);
  if (Number.isSafeInteger(d.threshold) && typeof d.currency === 'string') parts.push(`threshold ${formatMoney(d.threshold, d.currency)}`);
  if (Number.isSafeInteger(d.available) && typeof d.currency === 'string') parts.push(`available ${formatMoney(d.available, d.currency)}`);
  if (e.type === 'number.released') parts.push(RELEASE_REASONS[d.reason] ?? '');
  else if (typeof d.reason === 'string' && d.reason !== '') parts.push(d.reason);
  return parts.join(' — ');
}

async function loadEvents(more = false) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (more && eventsCursor !== null) query.set('cursor', eventsCursor);
  const { status, body } = await api.get(`/api/wallet/events?${query}`);
  if (status === 404) {
    say('events-message', 'Account events are not available on this service yet.');
    $('events-list').hidden = true;
    $('events-more').hidden = true;
    return;
  }
  if (status !== 200) {
    if (status !== 401) say('events-message', messageOf(body, 'Events could not be loaded.'), 'error');
    return;
  }
  const items = body.items.map((e) => {
    const li = document.createElement('li');
    const time = document.createElement('time');
    time.dateTime = e.createdAt;
    time.textContent = dateFormat.format(new Date(e.createdAt));
    li.append(time, document.createTextNode(describeEvent(e)));
    return li;
  });
  if (more) $('events-list').append(...items);
  else $('events-list').replaceChildren(...items);
  const empty = $('events-list').children.length === 0;
  $('events-list').hidden = empty;
  say('events-message', empty ? 'No events yet.' : '');
  eventsCursor = body.nextCursor ?? null;
  $('events-more').hidden = eventsCursor === null;
}

// ---------------------------------------------------------------- rented numbers (CONTRACT §11)

const NUMBER_STATUS_TEXT = { active: 'Active', past_due: 'Rent overdue', released: 'Released' };
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const day = (iso) => (typeof iso === 'string' ? dayFormat.format(new Date(iso)) : '');
/** The number whose release the dialog is asking about, and the button that asked. */
let releaseAsked;

function nextChargeText(n) {
  const rent = Number.isSafeInteger(n.monthlyPrice) ? formatMoney(n.monthlyPrice, n.currency) : 'The rent';
  if (n.status === 'past_due') return `${rent} overdue since ${day(n.paidUntil)}. Top up before ${day(n.releaseAt)} to keep it.`;
  if (n.status === 'active' && n.nextChargeAt) return `${rent} on ${day(n.nextChargeAt)}`;
  return '—';
}

function numberRow(n) {
  const tr = document.createElement('tr');
  // The number with its status under it: three columns read at 360 px without breaking a word.
  const number = cell(n.phoneNumber);
  const status = document.createElement('span');
  status.className = `number-status ${n.status}`;
  status.textContent = NUMBER_STATUS_TEXT[n.status] ?? n.status;
  number.append(status);
  const action = cell('', 'release');
  if (n.status !== 'released') {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'danger';
    button.textContent = 'Release';
    button.setAttribute('aria-label', `Release ${n.phoneNumber}`);
    button.addEventListener('click', () => askRelease(n, button));
    action.append(button);
  }
  tr.append(number, cell(nextChargeText(n)), action);
  return tr;
}

async function loadNumbers() {
  const { status, body } = await api.get('/api/numbers');
  if (status === 404) {
    $('numbers-table').hidden = true;
    say('numbers-message', 'Your numbers are not shown on this service yet.');
    return;
  }
  if (status !== 200) {
    if (status !== 401) say('numbers-message', messageOf(body, 'Your numbers could not be loaded.'), 'error');
    return;
  }
  const rows = body.items.map(numberRow);
  $('numbers-body').replaceChildren(...rows);
  $('numbers-table').hidden = rows.length === 0;
  const overdue = body.items.filter((n) => n.status === 'past_due').length;
  if (rows.length === 0) say('numbers-message', 'No numbers yet.');
  else if (overdue > 0) say('numbers-message', `${overdue === 1 ? 'One number is' : `${overdue} numbers are`} not taking calls until its rent is paid: top up to keep ${overdue === 1 ? 'it' : 'them'}.`, 'error');
  else say('numbers-message', '');
}

/** A confirm step before anything is released: a modal <dialog> ("Keep it" focused; Escape keeps it). */
function askRelease(n, button) {
  releaseAsked = { n, button };
  $('release-text').textContent = `${n.phoneNumber} stops taking calls and is given up now; it cannot be got back. The month already begun is not refunded, and nothing more is charged for it.`;
  const dialog = /** @type {HTMLDialogElement} */ ($('release-dialog'));
  dialog.returnValue = '';
  dialog.showModal();
}

async function releaseClosed() {
  const asked = releaseAsked;
  releaseAsked = undefined;
  if (asked === undefined) return;
  if (/** @type {HTMLDialogElement} */ ($('release-dialog')).returnValue !== 'release') {
    asked.button.focus();
    return;
  }
  asked.button.disabled = true;
  say('numbers-message', `Releasing ${asked.n.phoneNumber}…`);
  const { status, body } = await api.request('DELETE', `/api/numbers/${encodeURIComponent(asked.n.id)}`);
  if (status === 200 || status === 202) {
    await loadNumbers();
    say('numbers-message', `${asked.n.phoneNumber} has been released.`, 'ok');
    $('numbers-heading').focus();
    return;
  }
  asked.button.disabled = false;
  if (status === 404) say('numbers-message', `${asked.n.phoneNumber} is not one of your numbers any more.`, 'error');
  else if (status !== 401) say('numbers-message', messageOf(body, 'The number could not be released. Please try again.'), 'error');
}

// ---------------------------------------------------------------- buying a number

const STATUS_TEXT = {
  queued: 'Queued — waiting for a worker to buy the number',
  provisioning: 'Buying a number…',
  retrying: 'The phone company did not answer; trying again',
  failed: 'No number could be bought; refunding the price…',
  completed: 'Completed',
  refunded: 'Refunded',
};

function showStep(status, attempts, maxAttempts) {
  const steps = $('buy-steps');
  if (steps.lastElementChild?.getAttribute('data-status') === status) return;
  const li = document.createElement('li');
  li.setAttribute('data-status', status);
  const attempt = status === 'retrying' && attempts ? ` (attempt ${attempts + 1} of ${maxAttempts})` : '';
  li.textContent = `${STATUS_TEXT[status] ?? status}${attempt}`;
  steps.append(li);
}

function finishBuy(text, tone) {
  $('buy-progress').classList.add('done');
  $('buy-progress-bar').hidden = true;
  const result = $('buy-result');
  result.textContent = text;
  result.className = `result ${tone}`;
  $('buy-submit').disabled = false;
}

async function followProvisioning(statusUrl, areaCode) {
  let last;
  const done = await pollWithBackoff(async () => {
    const { status, body } = await api.get(statusUrl);
    if (status !== 200) return status === 401;
    last = body;
    showStep(body.status, body.attempts, body.maxAttempts);
    return body.status === 'completed' || body.status === 'refunded';
  }, PROVISIONING_POLL);
  if (!done || last === undefined) {
    finishBuy('This is taking longer than usual. The purchase goes on; check back later or press Refresh.', '');
    return;
  }
  if (last.status === 'completed') {
    $('buy-progress-title').textContent = `Your new number in area code ${areaCode}`;
    finishBuy(`Your new number: ${last.phoneNumber}`, 'ok');
    void loadNumbers();
  } else {
    $('buy-progress-title').textContent = `No number in area code ${areaCode}`;
    finishBuy(`No number could be bought in area code ${areaCode}. ${formatMoney(last.refunded, last.currency)} has been refunded to your balance.`, 'error');
  }
  await Promise.all([loadWallet(), firstTransactionsPage(), loadUsage()]);
}

function showShortfall(body) {
  const currency = body.currency ?? wallet?.currency ?? 'gbp';
  $('buy-shortfall-text').textContent =
    `Not enough money: a number costs ${formatMoney(body.required, currency)} and your balance is ${formatMoney(body.balance, currency)}. ` +
    `Top up at least ${formatMoney(body.shortfall, currency)} to buy it.`;
  const action = $('buy-top-up');
  action.textContent = `Top up ${formatMoney(body.shortfall, currency)}`;
  action.dataset.amount = String(body.shortfall);
  $('buy-shortfall').hidden = false;
}

async function buyNumber(event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('area-code'));
  const areaCode = input.value.trim();
  $('buy-shortfall').hidden = true;
  if (!/^[0-9]{3}$/.test(areaCode)) {
    input.setAttribute('aria-invalid', 'true');
    say('buy-message', 'Enter an area code of three digits, for example 415.', 'error');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  say('buy-message', `Asking for a number in area code ${areaCode}…`);
  $('buy-submit').disabled = true;
  const { status, body } = await api.request('POST', '/api/managed-telephony/provision', { body: { areaCode }, idempotencyKey: newIdempotencyKey() });
  if (status === 202 && STATUS_URL.test(body.statusUrl)) {
    say('buy-message', `${formatMoney(body.charged, body.currency)} taken from your balance.`);
    $('buy-progress').hidden = false;
    $('buy-progress').classList.remove('done');
    $('buy-progress-bar').hidden = false;
    $('buy-progress-title').textContent = `Buying a number in area code ${areaCode}`;
    $('buy-steps').replaceChildren();
    $('buy-result').textContent = '';
    showStep(body.status);
    void loadWallet();
    await followProvisioning(body.statusUrl, areaCode);
    return;
  }
  $('buy-submit').disabled = false;
  if (status === 402) {
    say('buy-message', '');
    showShortfall(body);
  } else if (status === 403 && body.error === 'wallet_frozen') {
    say('buy-message', 'Your wallet is frozen, so no number can be bought for now.', 'error');
  } else if (status === 403 && body.error === 'limit_reached') {
    say('buy-message', 'A spending limit on your account has been reached; no number was bought.', 'error');
  } else if (status !== 401) {
    say('buy-message', messageOf(body, 'The number could not be ordered. Please try again.'), 'error');
  }
}

// ---------------------------------------------------------------- top-ups (CONTRACT §7)

function startTopUpFromShortfall() {
  const amount = Number($('buy-top-up').dataset.amount);
  const input = /** @type {HTMLInputElement} */ ($('top-up-amount'));
  if (Number.isSafeInteger(amount) && amount > 0) input.value = amountField(amount, wallet?.currency ?? 'gbp');
  $('top-up').scrollIntoView({ block: 'start' });
  input.focus();
}

/** Stripe's checkout page: https, or loopback http (the sandbox's simulator). Nothing else. */
function isCheckoutUrl(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || (url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost'));
  } catch {
    return false;
  }
}

async function topUp(event) {
  event.preventDefault();
  if (wallet === undefined) return;
  const input = /** @type {HTMLInputElement} */ ($('top-up-amount'));
  const amount = parseMoney(input.value, wallet.currency);
  if (amount === undefined || amount <= 0) {
    input.setAttribute('aria-invalid', 'true');
    say('top-up-message', `Enter an amount in ${wallet.currency.toUpperCase()}, for example 20 or 20.00.`, 'error');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  $('top-up-submit').disabled = true;
  say('top-up-message', 'Opening the secure checkout…');
  const returnUrl = `${location.origin}/billing?top_up=returned`;
  const { status, body } = await api.request('POST', '/api/wallet/top-ups', { body: { amount, returnUrl }, idempotencyKey: newIdempotencyKey() });
  if (status === 201 && isCheckoutUrl(body.checkoutUrl)) {
    sessionStorage.setItem(PENDING_TOP_UP_KEY, JSON.stringify({ topUpId: body.topUpId, amount: body.amount, currency: body.currency }));
    // Stripe Checkout cannot be framed: an embedded page sends the whole window there.
    if (window.top !== window.self) window.top.location.assign(body.checkoutUrl);
    else location.assign(body.checkoutUrl);
    return;
  }
  $('top-up-submit').disabled = false;
  if (status === 404) say('top-up-message', 'Card top-ups are not available on this service yet. Please contact support to add credit.', 'error');
  else if (status !== 401) say('top-up-message', messageOf(body, 'The checkout could not be opened. Please try again.'), 'error');
}

/** Back from Stripe Checkout: poll the top-up briefly until Stripe has told the service it was paid. */
async function confirmReturningTopUp() {
  const returned = new URLSearchParams(location.search).get('top_up') !== null;
  if (returned) history.replaceState(history.state, '', location.pathname);
  const raw = sessionStorage.getItem(PENDING_TOP_UP_KEY);
  if (raw === null) return;
  sessionStorage.removeItem(PENDING_TOP_UP_KEY);
  let pending;
  try {
    pending = JSON.parse(raw);
  } catch {
    return;
  }
  if (typeof pending?.topUpId !== 'string' || !/^[A-Za-z0-9_-]{1,100}$/.test(pending.topUpId)) return;
  const amountText = formatMoney(pending.amount, pending.currency);
  say('top-up-message', `Confirming your payment of ${amountText}…`);
  let last;
  await pollWithBackoff(async () => {
    const { status, body } = await api.get(`/api/wallet/top-ups/${pending.topUpId}`);
    if (status !== 200) return true;
    last = body;
    return body.status !== 'pending';
  }, TOP_UP_POLL);
  if (last?.status === 'paid') say('top-up-message', `Payment received: ${amountText} has been added to your balance.`, 'ok');
  else if (last?.status === 'failed') say('top-up-message', `The payment of ${amountText} did not go through. Nothing was added and nothing was charged.`, 'error');
  else if (last?.status === 'expired') say('top-up-message', `The checkout for ${amountText} expired. Nothing was added and nothing was charged.`, 'error');
  else say('top-up-message', `The payment of ${amountText} has not been confirmed. Nothing has been added yet; if you paid, your balance updates shortly.`, 'error');
  await Promise.all([loadWallet(), firstTransactionsPage(), loadTopUps(), loadUsage()]);
}

// ---------------------------------------------------------------- auto-recharge (CONTRACT §7)

function showAutoRecharge(body) {
  const fields = /** @type {HTMLFormElement} */ ($('auto-recharge-form')).elements;
  fields.namedItem('enabled').checked = body.enabled === true;
  fields.namedItem('threshold').value = amountField(body.threshold, body.currency);
  fields.namedItem('amount').value = amountField(body.amount, body.currency);
  const card = body.paymentMethod;
  $('auto-recharge-card').textContent = card
    ? `Charged to your saved card: ${card.brand} ending ${card.last4}.`
    : 'No card is saved yet: a card top-up saves the card for auto-recharge.';
  $('auto-recharge-form').hidden = false;
}

async function loadAutoRecharge() {
  const { status, body } = await api.get('/api/wallet/auto-recharge');
  if (status === 200) {
    showAutoRecharge(body);
    say('auto-recharge-message', '');
  } else if (status === 404) {
    $('auto-recharge-form').hidden = true;
    say('auto-recharge-message', 'Auto-recharge is not available on this service yet.');
  } else if (status !== 401) {
    say('auto-recharge-message', messageOf(body, 'Auto-recharge settings could not be loaded.'), 'error');
  }
}

async function saveAutoRecharge(event) {
  event.preventDefault();
  if (wallet === undefined) return;
  const fields = /** @type {HTMLFormElement} */ ($('auto-recharge-form')).elements;
  const threshold = parseMoney(fields.namedItem('threshold').value, wallet.currency);
  const amount = parseMoney(fields.namedItem('amount').value, wallet.currency);
  if (threshold === undefined || amount === undefined || amount <= 0) {
    say('auto-recharge-message', `Enter both amounts in ${wallet.currency.toUpperCase()}, for example 10 and 50.`, 'error');
    return;
  }
  const enabled = fields.namedItem('enabled').checked;
  const { status, body } = await api.request('PUT', '/api/wallet/auto-recharge', { body: { enabled, threshold, amount } });
  if (status === 200) {
    showAutoRecharge(body);
    say('auto-recharge-message', body.enabled ? 'Auto-recharge is on.' : 'Auto-recharge is off.', 'ok');
  } else if (status === 409 && body.error === 'no_payment_method') {
    say('auto-recharge-message', 'Auto-recharge needs a saved card: make one card top-up first.', 'error');
  } else if (status === 404) {
    say('auto-recharge-message', 'Auto-recharge is not available on this service yet.', 'error');
  } else if (status !== 401) {
    say('auto-recharge-message', messageOf(body, 'The settings could not be saved.'), 'error');
  }
}

// ---------------------------------------------------------------- alerts (CONTRACT §7)

async function saveAlerts(event) {
  event.preventDefault();
  if (wallet === undefined) return;
  const fields = /** @type {HTMLFormElement} */ ($('alerts-form')).elements;
  // A list of amounts: commas, semicolons or spaces separate them; a decimal point is a dot.
  const listed = fields.namedItem('thresholds').value.split(/[\s,;]+/).filter((s) => s !== '');
  const thresholds = listed.map((s) => parseMoney(s, wallet.currency));
  if (thresholds.some((t) => t === undefined) || thresholds.length > 5) {
    say('alerts-message', `Enter up to five amounts in ${wallet.currency.toUpperCase()}, separated by commas, for example "20, 5".`, 'error');
    return;
  }
  const webhookUrl = fields.namedItem('webhookUrl').value.trim();
  const { status, body } = await api.request('PUT', '/api/wallet/alerts', { body: { thresholds, webhookUrl } });
  if (status === 200) {
    const saved = Array.isArray(body.thresholds) ? body.thresholds.map((t) => money(t)).join(', ') : '';
    say('alerts-message', `Alerts saved${saved ? `: ${saved}` : ''}.`, 'ok');
    if (typeof body.signingSecret === 'string') {
      $('alerts-secret-value').textContent = body.signingSecret;
      $('alerts-secret').hidden = false;
    }
  } else if (status === 404) {
    say('alerts-message', 'Alerts are not available on this service yet.', 'error');
  } else if (status !== 401) {
    say('alerts-message', messageOf(body, 'The alerts could not be saved.'), 'error');
  }
}

// ---------------------------------------------------------------- start

async function refreshAll() {
  say('page-message', '');
  if (await loadWallet()) await Promise.all([firstTransactionsPage(), loadNumbers(), loadEvents(), loadAutoRecharge(), loadUsage(), firstCallsPage(), loadTopUps()]);
}

async function start() {
  const token = takeToken();
  if (token === null) {
    signedOut('You are not signed in. Open the billing page from your dashboard to see your wallet.');
    return;
  }
  api = new Api(token, () => signedOut('Your session has expired. Open the billing page from your dashboard again to sign in.'));
  $('buy-form').addEventListener('submit', (e) => void buyNumber(e));
  $('buy-top-up').addEventListener('click', startTopUpFromShortfall);
  $('top-up-form').addEventListener('submit', (e) => void topUp(e));
  $('auto-recharge-form').addEventListener('submit', (e) => void saveAutoRecharge(e));
  $('alerts-form').addEventListener('submit', (e) => void saveAlerts(e));
  $('refresh').addEventListener('click', () => void refreshAll());
  startUsage({ api, $, say, currency: () => wallet?.currency ?? 'gbp' });
  $('events-more').addEventListener('click', () => void loadEvents(true));
  $('release-dialog').addEventListener('close', () => void releaseClosed());
  $('transactions-older').addEventListener('click', () => {
    if (transactionPages.next === null) return;
    transactionPages.previous.push(transactionPages.cursor);
    transactionPages.cursor = transactionPages.next;
    void loadTransactions();
  });
  $('transactions-newer').addEventListener('click', () => {
    if (transactionPages.previous.length === 0) return;
    transactionPages.cursor = transactionPages.previous.pop() ?? null;
    void loadTransactions();
  });
  await refreshAll();
  await confirmReturningTopUp();
  document.body.dataset.ready = 'true';
}

void start();
