// Summarises a V8 .cpuprofile (from BENCH_CPU_PROF): self time by function and by package, so a
// missed target can name where the time went.
// Usage: npx tsx bench/profile.ts <file> [top=25] [--after=[<function>@]<url part>]
// Percentages are of the *busy* time (every sample but "(idle)"): a bench process idles while the
// other sides of its scenario run, and on a shared machine while it waits for a core, so a share
// of wall time would mostly measure the machine. --after=<url part> drops every sample before the
// first one whose stack passes through a script whose URL contains that text, or through that
// function of it (e.g. --after=dispatch@routes/vapi-webhook.ts: the first webhook request; a bare
// file also matches its module's top level, which runs at start-up), so process start-up (tsx
// compiling, module loading) does not count as request work.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  if (url === '') return '(native/gc/idle)';
  const i = url.search(/\/(api|shared|workers|bench)\//);
  return i >= 0 ? url.slice(i + 1) : url;
}

const args = process.argv.slice(2);
const after = args.find((a) => a.startsWith('--after='))?.slice('--after='.length);
const [file, topArg] = args.filter((a) => !a.startsWith('--'));
if (!file) throw new Error('usage: bench/profile.ts <file.cpuprofile> [top] [--after=<url part>]');
const top = Number(topArg ?? 25);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const stackOf = (id: number): Node[] => {
  const out: Node[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) out.push(byId.get(at)!);
  return out;
};

let first = 0;
if (after !== undefined) {
  const at = after.indexOf('@');
  const [fnName, urlPart] = at >= 0 ? [after.slice(0, at), after.slice(at + 1)] : [undefined, after];
  const matches = (n: Node) => n.callFrame.url.includes(urlPart) && (fnName === undefined || n.callFrame.functionName === fnName);
  first = p.samples.findIndex((id) => stackOf(id).some(matches));
  if (first < 0) throw new Error(`no sample passes through a script matching ${after}`);
}
const selfUs = new Map<number, number>();
for (let i = first; i < p.samples.length; i++) {
  const id = p.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
}
const isIdle = (id: number) => byId.get(id)!.callFrame.functionName === '(idle)';
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const busy = [...selfUs].filter(([id]) => !isIdle(id)).reduce((a, [, us]) => a + us, 0);
const fn = new Map<string, number>();
const pkg = new Map<string, number>();
// Inclusive time of our own files (api/, shared/): a sample counts once per file on its stack.
const ours = new Map<string, number>();
for (const [id, us] of selfUs) {
  if (isIdle(id)) continue;
  const n = byId.get(id)!;
  const name = n.callFrame.functionName || '(anonymous)';
  const w = where(n.callFrame.url);
  const key = `${name}  ${w}:${n.callFrame.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  pkg.set(w, (pkg.get(w) ?? 0) + us);
  const files = new Set(stackOf(id).map((s) => where(s.callFrame.url)).filter((f) => /^(api|shared)\//.test(f)));
  for (const f of files) ours.set(f, (ours.get(f) ?? 0) + us);
}
const show = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${((us / busy) * 100).toFixed(1).padStart(5)}%  ${k}\n`);
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled${after ? ` after the first sample in ${after}` : ''}, ${(busy / 1e6).toFixed(1)} s busy (${((busy / total) * 100).toFixed(0)}%); shares below are of the busy time\n`);
show('self time by package/file', pkg);
show('self time by function', fn);
show('inclusive time of our own files (api/, shared/)', ours);
