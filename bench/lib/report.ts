// Results out: a table on stdout, JSON under bench/results/ (timestamped + latest.json), and an
// SVG chart (latest.svg) of throughput and p50/p99 per scenario beside its baseline.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { judge, type Measurement, type ScenarioResult } from './types';

export const RESULTS_DIR = join(__dirname, '..', 'results');

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '-');

export function table(results: ScenarioResult[]): string {
  const rows: string[][] = [['scenario', 'side', 'throughput', 'p50 ms', 'p99 ms', 'count', 'errors', 'ratio', 'p99 ×', 'target', 'verdict']];
  for (const r of results) {
    const j = judge(r);
    const line = (m: Measurement, side: string, extra: string[]) => [r.name, side, `${fmt(m.throughput)} ${m.unit}`, fmt(m.p50Ms, 2), fmt(m.p99Ms, 2), String(m.count), String(m.errors), ...extra];
    rows.push(line(r.subject, r.subject.label, [pct(j.throughputRatio), fmt(j.p99Ratio, 2), r.target?.text ?? '-', j.verdict]));
    rows.push(line(r.baseline, r.baseline.label, ['', '', '', '']));
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n');
}

export async function writeResults(results: ScenarioResult[], meta: Record<string, unknown>): Promise<{ json: string; svg: string }> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const doc = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, loadavg: loadavg() },
    ...meta,
    results: results.map((r) => ({ ...r, ...judge(r) })),
  };
  const text = JSON.stringify(doc, null, 2);
  const stamp = doc.at.replace(/[:.]/g, '-');
  const json = join(RESULTS_DIR, `bench-${stamp}.json`);
  await writeFile(json, text);
  await writeFile(join(RESULTS_DIR, 'latest.json'), text);
  const svg = join(RESULTS_DIR, 'latest.svg');
  await writeFile(svg, chart(results));
  return { json, svg };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Per scenario: throughput bars (subject vs baseline) and p50/p99 bars, each scaled within its row. */
export function chart(results: ScenarioResult[]): string {
  const rowH = 96;
  const W = 980;
  const top = 40;
  const H = top + rowH * results.length + 30;
  const tx = 250; // throughput panel x
  const lx = 620; // latency panel x
  const barW = 300;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${tx}" y="22" font-weight="bold">throughput</text>`,
    `<text x="${lx}" y="22" font-weight="bold">latency p50 (solid) / p99 (light), ms</text>`,
  ];
  results.forEach((r, i) => {
    const y = top + i * rowH;
    const j = judge(r);
    const colour = j.verdict === 'MISS' ? '#c0392b' : j.verdict === 'PASS' ? '#1e8449' : '#555';
    out.push(`<text x="10" y="${y + 20}" font-weight="bold">${esc(r.name)}</text>`);
    out.push(`<text x="10" y="${y + 38}" fill="${colour}">${j.verdict} ${pct(j.throughputRatio)} of baseline</text>`);
    out.push(`<text x="10" y="${y + 56}" fill="#555">${esc(r.target?.text ?? 'no target')}</text>`);
    const maxT = Math.max(r.subject.throughput, r.baseline.throughput, 1e-9);
    const maxL = Math.max(r.subject.p99Ms, r.baseline.p99Ms, 1e-9);
    [r.subject, r.baseline].forEach((m, k) => {
      const by = y + 8 + k * 34;
      const fill = k === 0 ? '#2e86c1' : '#999';
      const tw = Math.max(1, (m.throughput / maxT) * barW);
      out.push(`<rect x="${tx}" y="${by}" width="${tw.toFixed(1)}" height="14" fill="${fill}"/>`);
      out.push(`<text x="${tx + 4}" y="${by + 27}">${esc(m.label)}: ${fmt(m.throughput)} ${m.unit}</text>`);
      const p99w = Math.max(1, (m.p99Ms / maxL) * barW);
      const p50w = Math.max(1, (m.p50Ms / maxL) * barW);
      out.push(`<rect x="${lx}" y="${by}" width="${p99w.toFixed(1)}" height="14" fill="${fill}" opacity="0.35"/>`);
      out.push(`<rect x="${lx}" y="${by}" width="${p50w.toFixed(1)}" height="14" fill="${fill}"/>`);
      out.push(`<text x="${lx + 4}" y="${by + 27}">p50 ${fmt(m.p50Ms, 2)} / p99 ${fmt(m.p99Ms, 2)}</text>`);
    });
    out.push(`<line x1="10" x2="${W - 10}" y1="${y + rowH - 4}" y2="${y + rowH - 4}" stroke="#ddd"/>`);
  });
  out.push(`<text x="10" y="${H - 10}" fill="#555">blue: subject, grey: baseline; bars scaled within each row. ${esc(new Date().toISOString())}</text>`);
  out.push('</svg>');
  return out.join('\n');
}
