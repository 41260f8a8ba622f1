/**
 * What Supabase provides and plain PostgreSQL lacks, created idempotently so that the same
 * migrations run on the embedded database, in CI and on self-hosted Postgres.
 *
 * - the API roles PostgREST switches into: anon, authenticated, service_role (which, as on
 *   Supabase, bypasses row level security);
 * - auth.uid(), auth.role() and auth.jwt(), reading the claims PostgREST puts in
 *   request.jwt.claims, so RLS policies can be tested exactly as PostgREST runs them:
 *     set local role authenticated;
 *     select set_config('request.jwt.claims', '{"sub": "…", "role": "authenticated"}', true);
 *
 * Never apply this to a Supabase project: there these objects already exist.
 * It is not a migration, so the Supabase CLI never sees it.
 */

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

-- The connecting role must be able to `set role` into the API roles, as postgres can on Supabase.
do $$
begin
  if not (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
    execute format('grant anon, authenticated, service_role to %I', current_user);
  end if;
end
$$;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

/** The user id (`sub`) of the JWT PostgREST verified, or null. */
create or replace function auth.uid() returns uuid
language sql stable
set search_path = ''
as $$
  select nullif(
    coalesce(
      pg_catalog.current_setting('request.jwt.claim.sub', true),
      (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    ),
    ''
  )::uuid
$$;

/** The role claim of the verified JWT, or null. */
create or replace function auth.role() returns text
language sql stable
set search_path = ''
as $$
  select coalesce(
    pg_catalog.current_setting('request.jwt.claim.role', true),
    (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )
$$;

/** All claims of the verified JWT. */
create or replace function auth.jwt() returns jsonb
language sql stable
set search_path = ''
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('request.jwt.claim', true), ''),
    nullif(pg_catalog.current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role;
