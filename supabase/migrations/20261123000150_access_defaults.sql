-- Access defaults (failure mode 20), for databases that start like a Supabase project.
--
-- Supabase's default privileges hand every new table, sequence and function in `public` to anon,
-- authenticated AND service_role. 20261123000100 revoked anon and authenticated, so on Supabase
-- service_role kept direct table access (it could set wallets.balance without a ledger entry,
-- failure mode 2) and EXECUTE on the internal helpers (ledger_post could post any entry).
-- This migration closes both, and changes the default privileges of the migrating role so that
-- objects created by every later migration start closed to all API roles: each migration grants
-- EXECUTE on its public functions to service_role explicitly, and nothing else.
-- On a plain Postgres (no Supabase defaults) every statement here is a harmless no-op.

revoke all on all tables in schema public from service_role;
revoke all on all sequences in schema public from service_role;
revoke execute on function
  ledger_post(uuid, text, bigint, text, text, bigint, boolean),
  ledger_result(text, ledger_entries, wallets),
  idempotency_lookup(uuid, text, text, text),
  idempotency_record(uuid, text, text, text, jsonb),
  lock_wallet(uuid),
  ledger_entries_append_only()
from public, anon, authenticated, service_role;

alter default privileges in schema public revoke all on tables from public, anon, authenticated, service_role;
alter default privileges in schema public revoke all on sequences from public, anon, authenticated, service_role;
alter default privileges in schema public revoke execute on functions from public, anon, authenticated, service_role;
-- PUBLIC's EXECUTE on new functions is a global default, and per-schema default privileges can
-- only add to the global ones (PostgreSQL docs, ALTER DEFAULT PRIVILEGES), so the per-schema
-- revoke in 20261123000100 changed nothing. This one applies to functions the migrating role
-- creates in any schema of this database.
alter default privileges revoke execute on functions from public;

-- The migration runner's own bookkeeping table (shared/db/migrate.ts) lives in public when this
-- service applies the migrations itself; keep it closed like every other table.
do $$
begin
  if to_regclass('public.schema_migrations') is not null then
    alter table public.schema_migrations enable row level security;
    revoke all on public.schema_migrations from public, anon, authenticated, service_role;
  end if;
end $$;
