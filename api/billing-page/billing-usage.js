// Usage at a glance on the billing page (CONTRACT §12): a 30-day usage chart (inline SVG built
// with DOM calls, calls and numbers per day, told apart by fill pattern and labels, not colour
// alone, with the same figures in a table for screen readers), the calls list (paged), the
// monthly statement download and a receipt for each paid top-up. Text is set with textContent
// only; every figure is the API's integer of minor units, formatted by billing-api.js.
import { formatMoney } from './billing-api.js';

const SVG = 'http://www.w3.org/2000/svg';
const CHART_DAYS = 30;
const CALLS_PAGE_SIZE = 10;
const TOP_UPS_PAGE_SIZE = 10;
const CHART_HEIGHT = 220;
const CHART_MIN_WIDTH = 300;
const MARGIN = { top: 12, right: 8, bottom: 30, left: 58 };
const DAY_MS = 86400000;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const TOP_UP_ID = /^[0-9a-fA-F-]{36}$/;

/** @type {{api: import('./billing-api.js').Api, currency: () => string, say: (id: string, text: string, tone?: string) => void, $: (id: string) => HTMLElement}} */
let page;
let usageDays = [];
let resizeTimer;
const callPages = { cursor: null, previous: [], next: null };
let topUpsCursor = null;
/** The receipt button last pressed: focus goes back to it when the receipt is closed. */
let openedBy = null;

const money = (minor) => formatMoney(minor, page.currency());
const messageOf = (body, fallback) => (typeof body?.message === 'string' && body.message !== '' ? body.message : fallback);
const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
const longDayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
/** In the lists: short enough for a 360 px table ("5 Dec, 21:01"); the year is in the title. */
const listTimeFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

function svg(name, attributes = {}, ...children) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  el.append(...children);
  return el;
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** What a bucket cost: the ledger's sum is negative for money spent; a net refund shows as 0. */
const spent = (amount) => Math.max(0, -amount);

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

// ---------------------------------------------------------------- the 30-day chart

function utcDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A round scale top for the largest day: 1, 2 or 5 times a power of ten, in minor units. */
function scaleTop(max) {
  if (max <= 0) return 100;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

function patterns() {
  const hatch = svg('pattern', { id: 'usage-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
    svg('rect', { width: 6, height: 6, class: 'chart-numbers-bg' }),
    svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'chart-numbers-line' }));
  return svg('defs', {}, hatch);
}

function barOf(day, x, width, y0, scale) {
  const calls = spent(day.calls.amount);
  const numbers = spent(day.numbers.amount);
  const callsHeight = calls * scale;
  const numbersHeight = numbers * scale;
  const label = `${longDayFormat.format(new Date(`${day.date}T00:00:00Z`))}: calls ${money(calls)} (${day.calls.count} ${day.calls.count === 1 ? 'call' : 'calls'}), numbers ${money(numbers)}`;
  const g = svg('g', {
    class: 'usage-bar',
    'data-date': day.date,
    'data-calls-amount': day.calls.amount,
    'data-calls-count': day.calls.count,
    'data-numbers-amount': day.numbers.amount,
  }, svg('title', {}, label));
  g.append(svg('rect', { class: 'chart-calls', x, width, y: y0 - callsHeight, height: callsHeight }));
  g.append(svg('rect', { class: 'chart-numbers', x, width, y: y0 - callsHeight - numbersHeight, height: numbersHeight, fill: 'url(#usage-hatch)' }));
  return g;
}

function drawChart() {
  const holder = page.$('usage-chart');
  const width = Math.max(CHART_MIN_WIDTH, Math.floor(holder.clientWidth));
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = CHART_HEIGHT - MARGIN.top - MARGIN.bottom;
  const top = scaleTop(Math.max(0, ...usageDays.map((d) => spent(d.calls.amount) + spent(d.numbers.amount))));
  const scale = plotHeight / top;
  const y0 = MARGIN.top + plotHeight;
  const slot = plotWidth / Math.max(usageDays.length, 1);
  const chart = svg('svg', { id: 'usage-svg', width, height: CHART_HEIGHT, viewBox: `0 0 ${width} ${CHART_HEIGHT}`, role: 'img', 'aria-labelledby': 'usage-svg-title usage-svg-desc' },
    svg('title', { id: 'usage-svg-title' }, `Spending per day, last ${CHART_DAYS} days`),
    svg('desc', { id: 'usage-svg-desc' }, 'Stacked bars: calls solid, phone numbers hatched. The table "Usage per day" gives the same figures.'),
    patterns());
  for (const fraction of [0, 0.5, 1]) {
    const y = y0 - fraction * plotHeight;
    chart.append(svg('line', { class: 'chart-grid', x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y }));
    chart.append(svg('text', { class: 'chart-axis', x: MARGIN.left - 6, y: y + 4, 'text-anchor': 'end' }, money(Math.round(top * fraction))));
  }
  usageDays.forEach((day, i) => {
    const x = MARGIN.left + i * slot + slot * 0.15;
    chart.append(barOf(day, x, Math.max(1, slot * 0.7), y0, scale));
    // A date under every seventh bar, counted back from today's (always labelled).
    if ((usageDays.length - 1 - i) % 7 === 0) {
      // The last label ends at the bar's right edge, so it is never cut off at the chart's edge.
      const last = i === usageDays.length - 1;
      const at = last ? { x: x + slot * 0.7, anchor: 'end' } : { x: x + slot * 0.35, anchor: 'middle' };
      chart.append(svg('text', { class: 'chart-axis', x: at.x, y: y0 + 18, 'text-anchor': at.anchor }, dayFormat.format(new Date(`${day.date}T00:00:00Z`))));
    }
  });
  holder.replaceChildren(chart);
}

function fillUsageTable() {
  const rows = usageDays.map((d) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = longDayFormat.format(new Date(`${d.date}T00:00:00Z`));
    tr.append(th, cell(String(d.calls.count), 'num'), cell(duration(d.calls.seconds), 'num'), cell(money(spent(d.calls.amount)), 'num'), cell(money(spent(d.numbers.amount)), 'num'));
    return tr;
  });
  page.$('usage-table-body').replaceChildren(...rows);
}

function summarise() {
  const calls = usageDays.reduce((n, d) => n + spent(d.calls.amount), 0);
  const count = usageDays.reduce((n, d) => n + d.calls.count, 0);
  const seconds = usageDays.reduce((n, d) => n + d.calls.seconds, 0);
  const numbers = usageDays.reduce((n, d) => n + spent(d.numbers.amount), 0);
  page.$('usage-summary').textContent =
    count === 0 && numbers === 0
      ? `No calls or phone numbers in the last ${CHART_DAYS} days.`
      : `Last ${CHART_DAYS} days: calls ${money(calls)} (${count} ${count === 1 ? 'call' : 'calls'}, ${duration(seconds)}), phone numbers ${money(numbers)}.`;
}

export async function loadUsage() {
  const to = utcDay(Date.now());
  const from = utcDay(Date.now() - (CHART_DAYS - 1) * DAY_MS);
  const { status, body } = await page.api.get(`/api/wallet/usage?from=${from}&to=${to}`);
  if (status === 404) {
    page.say('usage-message', 'Usage is not available on this service yet.');
    return;
  }
  if (status !== 200) {
    if (status !== 401) page.say('usage-message', messageOf(body, 'Usage could not be loaded.'), 'error');
    return;
  }
  usageDays = Array.isArray(body.days) ? body.days : [];
  page.say('usage-message', '');
  summarise();
  fillUsageTable();
  page.$('usage-figures').hidden = false; // shown first: the chart is drawn for its box's width
  drawChart();
}

// ---------------------------------------------------------------- the calls list

const CALL_STATUS = { in_progress: 'In progress', ended: 'Ended, being billed', billed: '', not_billed: 'Not billed' };

function timeCell(iso) {
  const td = document.createElement('td');
  const time = document.createElement('time');
  time.dateTime = iso;
  time.title = timeFormat.format(new Date(iso));
  time.textContent = listTimeFormat.format(new Date(iso));
  td.append(time);
  return td;
}

function numberText(text) {
  const span = document.createElement('span');
  span.className = 'phone';
  span.textContent = text;
  return span;
}

function callRow(c) {
  const tr = document.createElement('tr');
  const when = timeCell(c.startedAt);
  const parties = document.createElement('td');
  parties.append(numberText(c.from ?? 'Unknown caller'), document.createElement('br'), numberText(`→ ${c.to ?? '—'}`));
  const status = CALL_STATUS[c.status] ?? c.status;
  const cost = cell(c.amount === null ? status : money(c.amount), 'num');
  if (c.amount !== null && status !== '') cost.append(document.createElement('br'), document.createTextNode(status));
  tr.append(when, parties, cell(duration(c.seconds), 'num'), cost);
  tr.dataset.callId = c.callId;
  return tr;
}

async function loadCalls() {
  const query = new URLSearchParams({ limit: String(CALLS_PAGE_SIZE) });
  if (callPages.cursor !== null) query.set('cursor', callPages.cursor);
  const { status, body } = await page.api.get(`/api/calls?${query}`);
  if (status !== 200) {
    if (status !== 401) page.say('calls-message', status === 404 ? 'The calls list is not available on this service yet.' : messageOf(body, 'Calls could not be loaded.'), status === 404 ? '' : 'error');
    return;
  }
  const rows = body.items.map(callRow);
  page.$('calls-body').replaceChildren(...rows);
  page.$('calls-table').hidden = rows.length === 0;
  page.say('calls-message', rows.length === 0 ? 'No calls yet.' : '');
  callPages.next = body.nextCursor;
  page.$('calls-older').disabled = body.nextCursor === null;
  page.$('calls-newer').disabled = callPages.previous.length === 0;
  page.$('calls-pager').hidden = body.nextCursor === null && callPages.previous.length === 0;
}

export function firstCallsPage() {
  callPages.cursor = null;
  callPages.previous = [];
  return loadCalls();
}

// ---------------------------------------------------------------- statements

async function downloadStatement(event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (page.$('statement-month'));
  const month = input.value.trim();
  if (!MONTH.test(month)) {
    input.setAttribute('aria-invalid', 'true');
    page.say('statement-message', 'Choose a month, for example 2026-11.', 'error');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  page.say('statement-message', `Preparing the statement for ${month}…`);
  const r = await page.api.download(`/api/wallet/statement?month=${month}`, `statement-${month}.csv`);
  if (r.status !== 200 || r.blob === undefined) {
    if (r.status !== 401) page.say('statement-message', messageOf(r.body, 'The statement could not be downloaded.'), 'error');
    return;
  }
  const url = URL.createObjectURL(r.blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = r.filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  page.say('statement-message', `Statement for ${month} downloaded (${r.filename}).`, 'ok');
}

// ---------------------------------------------------------------- top-ups and receipts

const TOP_UP_STATUS = { pending: 'Waiting for payment', paid: 'Paid', failed: 'Payment failed', expired: 'Checkout expired' };

function topUpRow(t) {
  const tr = document.createElement('tr');
  const when = timeCell(t.createdAt);
  const receipt = document.createElement('td');
  if (t.receiptNumber !== null && TOP_UP_ID.test(t.topUpId)) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary receipt-button';
    // "R-000001" on screen (it fits a 360 px table); "Receipt R-000001" to a screen reader.
    const hidden = document.createElement('span');
    hidden.className = 'visually-hidden';
    hidden.textContent = 'Receipt ';
    button.append(hidden, document.createTextNode(t.receiptNumber));
    button.addEventListener('click', () => {
      openedBy = button;
      void showReceipt(t.topUpId);
    });
    receipt.append(button);
  } else {
    receipt.textContent = '—';
  }
  tr.append(when, cell(formatMoney(t.amount, t.currency), 'num'), cell(TOP_UP_STATUS[t.status] ?? t.status), receipt);
  return tr;
}

export async function loadTopUps(more = false) {
  const query = new URLSearchParams({ limit: String(TOP_UPS_PAGE_SIZE) });
  if (more && topUpsCursor !== null) query.set('cursor', topUpsCursor);
  const { status, body } = await page.api.get(`/api/wallet/top-ups?${query}`);
  if (status !== 200) {
    if (status !== 401) page.say('receipts-message', status === 404 ? 'Receipts are not available on this service yet.' : messageOf(body, 'Top-ups could not be loaded.'), status === 404 ? '' : 'error');
    return;
  }
  const rows = body.items.map(topUpRow);
  if (more) page.$('top-ups-body').append(...rows);
  else page.$('top-ups-body').replaceChildren(...rows);
  const empty = page.$('top-ups-body').children.length === 0;
  page.$('top-ups-table').hidden = empty;
  page.say('receipts-message', empty ? 'No top-ups yet.' : '');
  topUpsCursor = body.nextCursor ?? null;
  page.$('top-ups-more').hidden = topUpsCursor === null;
}

function receiptLine(term, value) {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = term;
  dd.textContent = value;
  div.append(dt, dd);
  return div;
}

async function showReceipt(topUpId) {
  const { status, body } = await page.api.get(`/api/wallet/top-ups/${topUpId}/receipt`);
  if (status !== 200) {
    if (status !== 401) page.say('receipts-message', messageOf(body, 'The receipt could not be loaded.'), 'error');
    return;
  }
  const card = body.card ? `${body.card.brand ?? 'Card'} ending ${body.card.last4 ?? '····'}` : 'Card details not available';
  page.$('receipt-title').textContent = `Receipt ${body.receiptNumber}`;
  page.$('receipt-details').replaceChildren(
    receiptLine('Receipt number', body.receiptNumber),
    receiptLine('Amount', formatMoney(body.amount, body.currency)),
    receiptLine('Paid', timeFormat.format(new Date(body.paidAt))),
    receiptLine('Card', card),
    receiptLine('Top-up', body.topUpId),
  );
  page.$('receipt').hidden = false;
  page.$('receipt-title').focus();
  page.say('receipts-message', '');
}

// ---------------------------------------------------------------- start

export function startUsage(context) {
  page = context;
  const month = /** @type {HTMLInputElement} */ (page.$('statement-month'));
  if (month.value === '') month.value = new Date().toISOString().slice(0, 7);
  page.$('statement-form').addEventListener('submit', (e) => void downloadStatement(e));
  page.$('top-ups-more').addEventListener('click', () => void loadTopUps(true));
  page.$('receipt-close').addEventListener('click', () => {
    page.$('receipt').hidden = true;
    if (openedBy?.isConnected) openedBy.focus();
  });
  page.$('calls-older').addEventListener('click', () => {
    if (callPages.next === null) return;
    callPages.previous.push(callPages.cursor);
    callPages.cursor = callPages.next;
    void loadCalls();
  });
  page.$('calls-newer').addEventListener('click', () => {
    if (callPages.previous.length === 0) return;
    callPages.cursor = callPages.previous.pop() ?? null;
    void loadCalls();
  });
  // The chart is drawn for its box's width (text stays readable at 360 px): again when that changes.
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (usageDays.length > 0) drawChart();
    }, 150);
  });
}
