// What a database's schema is, as comparable text: one entry per object (function, table, column,
// constraint, index, trigger, sequence, row-level security, policy, grant, default privilege),
// keyed by a name a reader can find, so two databases built different ways can be compared and
// the first object that differs named.
import type { Client } from 'pg';

export interface CatalogEntry {
  key: string; // e.g. "function ledger_post(uuid,text,bigint,text,text,bigint,boolean)"
  definition: string;
}

// The migration runner's own bookkeeping table: present when migrations ran, never in a schema.
const IGNORED_TABLES = ['schema_migrations'];

// Each query returns (key, definition) rows for one kind of object in schema public. ACLs are
// compared as sorted grantee:privileges lists, with a null ACL read as its default, so "never
// granted" and "granted then revoked back to the default" compare equal, as they behave.
const QUERIES: Array<{ kind: string; sql: string }> = [
  {
    kind: 'function',
    sql: `select 'function ' || p.oid::regprocedure::text as key, pg_get_functiondef(p.oid) as definition
            from pg_proc p where p.pronamespace = 'public'::regnamespace`,
  },
  {
    kind: 'table',
    sql: `select 'table ' || c.relname as key,
                 'kind=' || c.relkind::text || ' rls=' || c.relrowsecurity || ' force_rls=' || c.relforcerowsecurity as definition
            from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
             and c.relname <> all ($1)`,
  },
  {
    kind: 'column',
    sql: `select 'column ' || c.relname || '.' || a.attname as key,
                 concat_ws(' ', format_type(a.atttypid, a.atttypmod),
                   case when a.attnotnull then 'not null' end,
                   'default ' || pg_get_expr(d.adbin, d.adrelid),
                   case when a.attidentity <> '' then 'identity ' || a.attidentity::text end,
                   case when a.attgenerated <> '' then 'generated ' || a.attgenerated::text end,
                   'collate ' || nullif(co.collname, 'default'),
                   'position ' || (select count(*) from pg_attribute b where b.attrelid = a.attrelid and b.attnum > 0
                                    and not b.attisdropped and b.attnum <= a.attnum)) as definition
            from pg_attribute a
            join pg_class c on c.oid = a.attrelid
            left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
            left join pg_collation co on co.oid = a.attcollation
           where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
             and a.attnum > 0 and not a.attisdropped and c.relname <> all ($1)`,
  },
  {
    kind: 'constraint',
    sql: `select 'constraint ' || c.relname || '.' || k.conname as key,
                 pg_get_constraintdef(k.oid) || case when k.condeferrable then ' deferrable' else '' end
                   || case when k.condeferred then ' initially deferred' else '' end as definition
            from pg_constraint k join pg_class c on c.oid = k.conrelid
           where c.relnamespace = 'public'::regnamespace and c.relname <> all ($1)`,
  },
  {
    kind: 'index',
    sql: `select 'index ' || i.relname as key, pg_get_indexdef(i.oid) as definition
            from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
           where c.relnamespace = 'public'::regnamespace and c.relname <> all ($1)`,
  },
  {
    kind: 'trigger',
    sql: `select 'trigger ' || c.relname || '.' || t.tgname as key, pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text as definition
            from pg_trigger t join pg_class c on c.oid = t.tgrelid
           where c.relnamespace = 'public'::regnamespace and not t.tgisinternal`,
  },
  {
    kind: 'sequence',
    sql: `select 'sequence ' || c.relname as key,
                 concat_ws(' ', format_type(s.seqtypid, null), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                   'owned by ' || (select o.relname || '.' || a.attname from pg_depend d
                                     join pg_class o on o.oid = d.refobjid
                                     join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                                    where d.objid = c.oid and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i'))) as definition
            from pg_sequence s join pg_class c on c.oid = s.seqrelid
           where c.relnamespace = 'public'::regnamespace`,
  },
  {
    kind: 'policy',
    sql: `select 'policy ' || tablename || '.' || policyname as key,
                 concat_ws(' ', permissive, cmd, array_to_string(roles, ','), 'using ' || qual, 'check ' || with_check) as definition
            from pg_policies where schemaname = 'public'`,
  },
  {
    kind: 'type',
    sql: `select 'type ' || t.typname as key,
                 t.typtype::text || ' ' || coalesce((select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid), '') as definition
            from pg_type t where t.typnamespace = 'public'::regnamespace and t.typtype in ('e', 'd')`,
  },
  {
    kind: 'grant',
    sql: `with acls as (
            select case c.relkind when 'S' then 'sequence ' else 'table ' end || c.relname as object,
                   coalesce(c.relacl, acldefault((case c.relkind when 'S' then 's' else 'r' end)::"char", c.relowner)) as acl
              from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'S')
               and c.relname <> all ($1)
            union all
            select 'function ' || p.oid::regprocedure::text, coalesce(p.proacl, acldefault('f'::"char", p.proowner))
              from pg_proc p where p.pronamespace = 'public'::regnamespace
            union all
            select 'schema public', coalesce(n.nspacl, acldefault('n'::"char", n.nspowner)) from pg_namespace n where n.nspname = 'public'
            union all
            select 'column ' || c.relname || '.' || a.attname, a.attacl
              from pg_attribute a join pg_class c on c.oid = a.attrelid
             where c.relnamespace = 'public'::regnamespace and a.attacl is not null and c.relname <> all ($1))
          select 'grant on ' || object as key,
                 coalesce((select string_agg(case when x.grantee = 0 then 'PUBLIC' else pg_get_userbyid(x.grantee) end
                                             || ':' || x.privilege_type || case when x.is_grantable then '+grant' else '' end,
                                             ' ' order by 1)
                             from aclexplode(acl) x), '(none)') as definition
            from acls`,
  },
  {
    kind: 'default privileges',
    sql: `select 'default privileges of ' || pg_get_userbyid(d.defaclrole) || ' in ' || coalesce(n.nspname, 'every schema')
                   || ' on ' || d.defaclobjtype::text as key,
                 (select string_agg(case when x.grantee = 0 then 'PUBLIC' else pg_get_userbyid(x.grantee) end || ':' || x.privilege_type, ' ' order by 1)
                    from aclexplode(d.defaclacl) x) as definition
            from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace`,
  },
];

/** Every object of schema public, sorted by key. */
export async function readCatalog(client: Client): Promise<CatalogEntry[]> {
  const entries: CatalogEntry[] = [];
  for (const q of QUERIES) {
    const params = q.sql.includes('$1') ? [IGNORED_TABLES] : [];
    const { rows } = await client.query<CatalogEntry>(q.sql, params);
    entries.push(...rows.map((r) => ({ key: r.key, definition: r.definition ?? '' })));
  }
  return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface CatalogDifference {
  key: string;
  expected: string | undefined; // undefined: missing on that side
  actual: string | undefined;
}

/** Every object that differs, in key order: present on one side only, or defined otherwise. */
export function diffCatalogs(expected: CatalogEntry[], actual: CatalogEntry[]): CatalogDifference[] {
  const a = new Map(expected.map((e) => [e.key, e.definition]));
  const b = new Map(actual.map((e) => [e.key, e.definition]));
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys
    .filter((k) => a.get(k) !== b.get(k))
    .map((key) => ({ key, expected: a.get(key), actual: b.get(key) }));
}

/** One line per difference, naming the object and where the two first part. */
export function describeDifference(d: CatalogDifference, expectedName: string, actualName: string): string {
  if (d.expected === undefined) return `${d.key}: only in ${actualName}`;
  if (d.actual === undefined) return `${d.key}: only in ${expectedName}`;
  const e = d.expected.split('\n');
  const f = d.actual.split('\n');
  const line = e.findIndex((l, i) => l !== f[i]);
  const at = line === -1 ? e.length : line;
  return `${d.key}: differs at line ${at + 1} — ${expectedName}: ${JSON.stringify(e[at] ?? '(end)')}, ${actualName}: ${JSON.stringify(f[at] ?? '(end)')}`;
}
