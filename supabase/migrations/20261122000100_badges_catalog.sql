/**
 * The badges schema and its catalog: badge definitions and quiz providers.
 *
 * The catalog file (supabase/catalogs/<name>.toml) is the source of truth; badges.sync_catalog writes
 * it here. Everything in this schema is read by clients through RLS and written only through
 * functions executable by service_role.
 *
 * Custom errors raised by badges functions use SQLSTATE class BD:
 *   BD001 unknown badge     BD002 unknown provider
 *   BD003 forbidden         BD004 invalid argument
 */
create schema if not exists badges;
grant usage on schema badges to anon, authenticated, service_role;

/**
 * One row per badge. `rule` says how it is earned:
 *   streak         longest activity streak >= threshold days
 *   quiz_distinct  correct answers on >= threshold distinct active quiz providers
 *   quiz_all       correct answers on every active quiz provider
 *   client         awarded on the client's word (e.g. a share): the only rule a user may call
 *   manual         awarded by a service caller only
 * A badge removed from the catalog file is disabled, never deleted: awards keep their badge.
 */
create table if not exists badges.definitions (
  id text primary key check (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  name text not null check (length(name) between 1 and 200),
  description text not null default '',
  icon text not null default '',
  category text not null default 'general',
  tier text not null default 'bronze' check (tier in ('bronze', 'silver', 'gold', 'diamond')),
  rule text not null check (rule in ('streak', 'quiz_distinct', 'quiz_all', 'client', 'manual')),
  threshold integer check (threshold is null or threshold > 0),
  hidden boolean not null default false,
  sort_order integer not null default 0,
  enabled boolean not null default true,
  updated_at timestamptz not null default now(),
  constraint threshold_matches_rule check (
    (rule in ('streak', 'quiz_distinct')) = (threshold is not null)
  )
);
alter table badges.definitions enable row level security;
grant select on badges.definitions to anon, authenticated;
grant select, insert, update, delete on badges.definitions to service_role;

drop policy if exists "Enabled visible badges are readable by everyone"
  on badges.definitions;
create policy "Enabled visible badges are readable by everyone"
  on badges.definitions for select
  to anon, authenticated
  using (enabled and not hidden);

/** The quiz providers a user can answer for (quiz_master badges count distinct correct ones). */
create table if not exists badges.quiz_providers (
  id text primary key check (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  name text not null check (length(name) between 1 and 200),
  active boolean not null default true,
  sort_order integer not null default 0,
  updated_at timestamptz not null default now()
);
alter table badges.quiz_providers enable row level security;
grant select on badges.quiz_providers to anon, authenticated;
grant select, insert, update, delete on badges.quiz_providers to service_role;

drop policy if exists "Active quiz providers are readable by everyone"
  on badges.quiz_providers;
create policy "Active quiz providers are readable by everyone"
  on badges.quiz_providers for select
  to anon, authenticated
  using (active);

/**
 * Make the catalog tables equal to the catalog file, idempotently.
 * p_badges: [{id, name, description, icon, category, tier, rule, threshold, hidden, sort_order}]
 * p_providers: [{id, name, sort_order}]
 * Rows missing from the file are disabled / deactivated, not deleted.
 * Returns {changed, badges, providers}: rows written, then enabled badges and active providers.
 */
create or replace function badges.sync_catalog(p_badges jsonb, p_providers jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_changed integer;
  v_rows integer;
begin
  if pg_catalog.jsonb_typeof(p_badges) is distinct from 'array'
     or pg_catalog.jsonb_typeof(p_providers) is distinct from 'array' then
    raise exception using errcode = 'BD004', message = 'catalog must be two JSON arrays',
      detail = 'Pass p_badges and p_providers as arrays; null would disable every badge.';
  end if;

  with incoming as (
    select * from pg_catalog.jsonb_to_recordset(p_badges) as b(
      id text, name text, description text, icon text, category text, tier text,
      rule text, threshold integer, hidden boolean, sort_order integer)
  ), upserted as (
    insert into badges.definitions as d
      (id, name, description, icon, category, tier, rule, threshold, hidden, sort_order, enabled)
    select id, name, coalesce(description, ''), coalesce(icon, ''), coalesce(category, 'general'),
           coalesce(tier, 'bronze'), rule, threshold, coalesce(hidden, false),
           coalesce(sort_order, 0), true
    from incoming
    on conflict (id) do update set
      name = excluded.name, description = excluded.description, icon = excluded.icon,
      category = excluded.category, tier = excluded.tier, rule = excluded.rule,
      threshold = excluded.threshold, hidden = excluded.hidden, sort_order = excluded.sort_order,
      enabled = true, updated_at = now()
    where (d.name, d.description, d.icon, d.category, d.tier, d.rule, d.threshold, d.hidden,
           d.sort_order, d.enabled)
      is distinct from (excluded.name, excluded.description, excluded.icon, excluded.category,
           excluded.tier, excluded.rule, excluded.threshold, excluded.hidden,
           excluded.sort_order, true)
    returning 1
  )
  select count(*) into v_changed from upserted;

  update badges.definitions set enabled = false, updated_at = now()
  where enabled and id not in (select b ->> 'id' from pg_catalog.jsonb_array_elements(p_badges) b);
  get diagnostics v_rows = row_count;
  v_changed := v_changed + v_rows;

  with incoming as (
    select * from pg_catalog.jsonb_to_recordset(p_providers) as p(id text, name text, sort_order integer)
  ), upserted as (
    insert into badges.quiz_providers as q (id, name, sort_order, active)
    select id, name, coalesce(sort_order, 0), true from incoming
    on conflict (id) do update set
      name = excluded.name, sort_order = excluded.sort_order, active = true, updated_at = now()
    where (q.name, q.sort_order, q.active) is distinct from (excluded.name, excluded.sort_order, true)
    returning 1
  )
  select v_changed + count(*) into v_changed from upserted;

  update badges.quiz_providers set active = false, updated_at = now()
  where active and id not in (select p ->> 'id' from pg_catalog.jsonb_array_elements(p_providers) p);
  get diagnostics v_rows = row_count;

  return pg_catalog.jsonb_build_object(
    'changed', v_changed + v_rows,
    'badges', (select count(*) from badges.definitions where enabled),
    'providers', (select count(*) from badges.quiz_providers where active));
end;
$$;
revoke execute on function badges.sync_catalog(jsonb, jsonb) from public, anon, authenticated;
grant execute on function badges.sync_catalog(jsonb, jsonb) to service_role;
