// Proves docker-compose.yml and the Dockerfile hang together, as far as can be checked without a
// Docker engine (none on this machine: the stack has NOT been run here): the YAML parses, every
// service the stack needs is there with a healthcheck, every depends_on condition can be met
// (service_healthy only on services that have a healthcheck), Redis keeps jobs (noeviction, AOF),
// PostgREST and the app share one JWT secret, the service-role key really is a service_role JWT
// for that secret, and every command runs a launch.ts role that exists; that
// docker-compose.cluster.yml, laid over it, makes a three-master cluster the api and worker wait for;
// and that the image holds every file bin/launch.ts loads (it lacked bin/ itself: no role could
// start from it) and installs every package those files import.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { jwtVerify } from 'jose';
import { parse } from 'yaml';
import { ENV_VARIABLES } from '../../shared/config';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
}
const root = join(__dirname, '../..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

/** Resolves ${VAR:-default} to its default, as compose does with VAR unset. */
const defaulted = (v: string | undefined) => (v ?? '').replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

/** Every depends_on names a service of the stack, service_healthy only one with a healthcheck, else service_completed_successfully. */
function expectDependenciesMet(stack: Record<string, Service>): void {
  for (const [name, svc] of Object.entries(stack)) {
    for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
      expect([name, dep, Boolean(stack[dep])]).toEqual([name, dep, true]);
      if (condition === 'service_healthy') expect([name, dep, Boolean(stack[dep]?.healthcheck)]).toEqual([name, dep, true]);
      else expect([name, dep, condition]).toEqual([name, dep, 'service_completed_successfully']);
    }
  }
}

describe('docker-compose.yml', () => {
  it('has postgres 15, redis, migrate, postgrest, gateway, sandbox, api and worker', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'gateway', 'migrate', 'postgres', 'postgrest', 'redis', 'sandbox', 'worker']);
    expect(services.postgres?.image).toBe('postgres:15');
    for (const name of ['api', 'worker', 'migrate', 'sandbox']) expect(services[name]?.build).toBe('.');
  });

  it('checks health the right way for each service', () => {
    expect(services.postgres?.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(services.redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(services.api?.healthcheck?.test.join(' ')).toContain('/readyz');
    for (const name of ['postgrest', 'gateway', 'sandbox']) expect(services[name]?.healthcheck?.test.length).toBeGreaterThan(1);
  });

  it('has depends_on conditions that can be met', () => {
    expectDependenciesMet(services);
    expect(services.postgrest?.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    expect(services.api?.depends_on?.redis?.condition).toBe('service_healthy');
    expect(services.worker?.depends_on?.redis?.condition).toBe('service_healthy');
  });

  it('runs Redis with noeviction and AOF', () => {
    const cmd = services.redis?.command?.join(' ') ?? '';
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
    expect(cmd).toMatch(/--appendonly yes/);
  });

  it('configures PostgREST as the supabase-js path expects, with the app\'s JWT secret', async () => {
    const env = services.postgrest?.environment ?? {};
    expect(env.PGRST_DB_ANON_ROLE).toBe('anon');
    expect(env.PGRST_DB_SCHEMAS).toBe('public');
    const secret = defaulted(env.PGRST_JWT_SECRET);
    expect(secret.length).toBeGreaterThanOrEqual(32);
    const api = services.api?.environment ?? {};
    expect(defaulted(api.SUPABASE_JWT_SECRET)).toBe(secret);
    expect(api.DATABASE_URL).toBeUndefined();
    expect(api.SUPABASE_URL).toBe('http://gateway:8000');
    const { payload } = await jwtVerify(defaulted(api.SUPABASE_SERVICE_ROLE_KEY), new TextEncoder().encode(secret), { algorithms: ['HS256'] });
    expect(payload.role).toBe('service_role');
    // The simulators must listen beyond loopback for the api and worker containers to reach them.
    expect(services.sandbox?.environment?.SANDBOX_HOST).toBe('0.0.0.0');
    expect(ENV_VARIABLES).toContain('SANDBOX_HOST');
    expect(api.TWILIO_API_BASE_URL).toBe('http://sandbox:4010');
    expect(readFileSync(join(root, 'deploy/gateway/nginx.conf'), 'utf8')).toMatch(/location \/rest\/v1\/ \{\s*proxy_pass http:\/\/postgrest:3000\/;/);
  });

  it('sets only variables the service reads on its own containers (no misspelt setting)', () => {
    for (const name of ['api', 'worker', 'sandbox', 'migrate']) {
      for (const key of Object.keys(services[name]?.environment ?? {})) {
        expect([name, key, (ENV_VARIABLES as readonly string[]).includes(key)]).toEqual([name, key, true]);
      }
    }
  });

  it('starts each process with a launch.ts role that exists', () => {
    const launch = readFileSync(join(root, 'bin/launch.ts'), 'utf8');
    const expected: Record<string, string> = { api: 'api', worker: 'workers', migrate: 'migrate', sandbox: 'sandbox' };
    for (const [name, role] of Object.entries(expected)) {
      expect(services[name]?.command?.slice(-2)).toEqual(['bin/launch.ts', role]);
      expect(launch).toContain(`'${role}'`);
    }
  });
});

/** docker-compose.yml with an override file on top, merged as compose merges them (maps key by key; lists and scalars replaced). */
function withOverride(file: string): Record<string, Service> {
  const merge = (a: unknown, b: unknown): unknown => {
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) || Array.isArray(b)) return b;
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  };
  const override = parse(readFileSync(join(root, file), 'utf8'), { merge: true }) as { services: Record<string, Service> };
  return merge(services, override.services) as Record<string, Service>;
}

describe('docker-compose.cluster.yml (the stack on a three-master Redis Cluster)', () => {
  const stack = withOverride('docker-compose.cluster.yml');
  const nodes = ['redis', 'redis-2', 'redis-3'];

  it('runs three cluster-mode masters that keep jobs (noeviction, AOF) and announce their service names', () => {
    for (const name of nodes) {
      const cmd = stack[name]?.command?.join(' ') ?? '';
      expect([name, cmd]).toEqual([name, expect.stringMatching(/--cluster-enabled yes/)]);
      expect(cmd).toMatch(/--maxmemory-policy noeviction/);
      expect(cmd).toMatch(/--appendonly yes/);
      expect(cmd).toContain(`--cluster-announce-hostname ${name} --cluster-preferred-endpoint-type hostname`);
      expect(stack[name]?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    }
    // Each master keeps its own data and nodes.conf.
    expect(new Set(nodes.map((n) => stack[n]?.volumes?.[0]?.split(':')[0])).size).toBe(3);
  });

  it('joins all three once, by address, before the api and worker start, and points them at all three', () => {
    const init = stack['redis-cluster-init'];
    const script = init?.command?.join('\n') ?? '';
    expect(script).toContain('redis-cli --cluster create');
    expect(script).toContain(`for n in ${nodes.join(' ')};`);
    expect(script).toMatch(/getent hosts/);
    for (const n of nodes) expect(init?.depends_on?.[n]?.condition).toBe('service_healthy');
    for (const name of ['api', 'worker']) {
      expect(stack[name]?.depends_on?.['redis-cluster-init']?.condition).toBe('service_completed_successfully');
      const seeds = (stack[name]?.environment?.REDIS_CLUSTER_NODES ?? '').split(',');
      expect(seeds.map((s) => s.split(':')[0])).toEqual(nodes);
      // The rest of the app's environment is docker-compose.yml's.
      expect(stack[name]?.environment?.SUPABASE_URL).toBe('http://gateway:8000');
    }
  });

  it('has depends_on conditions that can be met', () => expectDependenciesMet(stack));
});

/**
 * Every file the image's processes load: bin/launch.ts and, transitively, what it imports (type-only
 * imports are erased and left out), with the packages they import by name.
 */
function importClosure(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const builtins = new Set(builtinModules);
  const statement = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|\bimport\('([^']+)'\)|\brequire\('([^']+)'\)/gm;
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    if (!file.endsWith('.ts')) return;
    for (const m of readFileSync(join(root, file), 'utf8').matchAll(statement)) {
      if (m[2] !== undefined) continue; // `import type`: nothing at run time
      const spec = m[3] ?? m[4] ?? m[5] ?? m[6];
      if (spec === undefined) continue;
      if (spec.startsWith('.')) {
        const base = join(dirname(file), spec);
        const found = [`${base}.ts`, join(base, 'index.ts'), base].find((f) => existsSync(join(root, f)) && !statSync(join(root, f)).isDirectory());
        if (found === undefined) throw new Error(`${file} imports ${spec}, which is not there`);
        visit(found);
      } else if (!spec.startsWith('node:') && !builtins.has(spec)) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  };
  visit(entry);
  return { files: [...files], packages: [...packages] };
}

describe('Dockerfile', () => {
  it('holds every file the roles load, and installs every package they import (production dependencies only)', () => {
    const copied = [...dockerfile.matchAll(/^COPY (\S+) /gm)].map((m) => m[1]!.replace(/\/$/, ''));
    const { files, packages } = importClosure('bin/launch.ts');
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => !copied.some((c) => f === c || f.startsWith(`${c}/`)))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(packages.filter((p) => pkg.dependencies[p] === undefined).sort()).toEqual([]);
  });

  it('builds on Node 20 from the lock file and copies the code every role needs', () => {
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toMatch(/^RUN npm ci /m);
    expect(dockerfile).toMatch(/^COPY package\.json package-lock\.json/m);
    for (const dir of ['bin', 'api', 'shared', 'workers', 'supabase']) expect(dockerfile).toMatch(new RegExp(`^COPY ${dir} `, 'm'));
    expect(dockerfile).toMatch(/^USER node$/m);
  });
});
