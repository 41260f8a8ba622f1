/**
 * The rules engine's catalog: badges defined as data over app metrics, levels made of metric
 * requirements, and the per-user metric state the rules read.
 *
 * New rule kinds in badges.definitions:
 *   metric    the user's total of `metric` >= threshold
 *   distinct  distinct items tracked for `metric` >= threshold (quiz_distinct, generalised)
 *   all_of    every badge in `requires` earned (composite)
 * and per badge: an active window (starts_at, ends_at: no new awards outside it), notify (false:
 * a quiet badge, announced neither in the inbox nor the outbox of …0500), auto_revoke
 * (the batch check removes the badge when its rule no longer holds), i18n keys.
 *
 * New error codes: BD005 unknown metric, BD006 badge outside its active window,
 * BD007 unknown level, BD008 idempotency key reused for another event.
 */

-- Once, while definitions has no metric column (the statement adds it with the rest): a re-run
-- must not put back these rule checks over the wider ones of a later file (which would fail on a
-- badge of a newer rule).
do $$
begin
  if not exists (select from pg_catalog.pg_attribute
                 where attrelid = 'badges.definitions'::regclass and attname = 'metric'
                   and not attisdropped) then
    alter table badges.definitions
      add column metric text,
      add column requires text[] not null default '{}',
      add column auto_revoke boolean not null default false,
      add column starts_at timestamptz,
      add column ends_at timestamptz,
      add column label_key text check (length(label_key) between 1 and 200),
      add column description_key text check (length(description_key) between 1 and 200),
      drop constraint definitions_rule_check,
      drop constraint threshold_matches_rule,
      add constraint definitions_rule_check check (rule in (
        'streak', 'quiz_distinct', 'quiz_all', 'metric', 'distinct', 'all_of', 'client',
        'manual')),
      add constraint threshold_matches_rule check (
        (rule in ('streak', 'quiz_distinct', 'metric', 'distinct')) = (threshold is not null)),
      add constraint metric_matches_rule
        check ((rule in ('metric', 'distinct')) = (metric is not null)),
      add constraint requires_matches_rule
        check ((rule = 'all_of') = (cardinality(requires) > 0)),
      add constraint auto_revoke_is_automatic
        check (not auto_revoke or rule not in ('client', 'manual')),
      add constraint window_is_ordered check (starts_at < ends_at);
  end if;
end
$$;

create index if not exists definitions_metric_idx
  on badges.definitions (metric) where metric is not null;

/** notify = false: a quiet badge, awarded without an inbox message or an outbox row. */
alter table badges.definitions add column if not exists notify boolean not null default true;

/** Manual revocations are final for the rules; automatic ones (auto_revoke) are not. */
alter table badges.revocations add column if not exists automatic boolean not null default false;

/**
 * The metrics a catalog declares. user_trackable: a user's own token may `track` it (with at
 * most user_max_amount per call); otherwise only service callers and table triggers count it.
 * Removed from the file: disabled (no more `track` calls), never deleted.
 */
create table if not exists badges.metrics (
  id text primary key check (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  name text not null check (length(name) between 1 and 200),
  description text not null default '',
  unit text not null default '',
  unit_one text not null default '',
  user_trackable boolean not null default false,
  user_max_amount integer not null default 1 check (user_max_amount between 1 and 1000),
  enabled boolean not null default true,
  updated_at timestamptz not null default now()
);
alter table badges.metrics enable row level security;
grant select on badges.metrics to anon, authenticated;
grant select, insert, update, delete on badges.metrics to service_role;

drop policy if exists "Enabled metrics are readable by everyone"
  on badges.metrics;
create policy "Enabled metrics are readable by everyone"
  on badges.metrics for select
  to anon, authenticated
  using (enabled);

/** A user's running total per metric, and how many distinct items were tracked for it. */
create table if not exists badges.metric_totals (
  user_id uuid not null,
  metric text not null references badges.metrics (id),
  total bigint not null default 0 check (total >= 0),
  distinct_count integer not null default 0 check (distinct_count >= 0),
  updated_at timestamptz not null default now(),
  primary key (user_id, metric)
);
alter table badges.metric_totals enable row level security;
grant select on badges.metric_totals to authenticated;
grant select, insert, update, delete on badges.metric_totals to service_role;
create index if not exists metric_totals_metric_idx on badges.metric_totals (metric, total);

drop policy if exists "Metric totals are readable by their owner"
  on badges.metric_totals;
create policy "Metric totals are readable by their owner"
  on badges.metric_totals for select
  to authenticated
  using (user_id = (select auth.uid()));

/** The distinct items per user and metric (providers answered, features used, …). */
create table if not exists badges.metric_items (
  user_id uuid not null,
  metric text not null references badges.metrics (id),
  item text not null check (length(item) between 1 and 128),
  first_at timestamptz not null default now(),
  primary key (user_id, metric, item)
);
alter table badges.metric_items enable row level security;
grant select on badges.metric_items to authenticated;
grant select, insert, update, delete on badges.metric_items to service_role;

drop policy if exists "Metric items are readable by their owner"
  on badges.metric_items;
create policy "Metric items are readable by their owner"
  on badges.metric_items for select
  to authenticated
  using (user_id = (select auth.uid()));

/**
 * Every counted event, with the total it produced: the audit trail of a metric, the record of
 * idempotency keys (unique per user), and what a backfill reads to date an award to the moment
 * the threshold was crossed.
 */
create table if not exists badges.metric_events (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  metric text not null references badges.metrics (id),
  amount integer not null,
  total bigint not null,
  item text,
  idempotency_key text check (length(idempotency_key) between 1 and 200),
  occurred_at timestamptz not null default now(),
  recorded_at timestamptz not null default now(),
  unique (user_id, idempotency_key)
);
alter table badges.metric_events enable row level security;
grant select on badges.metric_events to authenticated;
grant select, insert, update, delete on badges.metric_events to service_role;
create index if not exists metric_events_user_metric_idx
  on badges.metric_events (user_id, metric, id);

drop policy if exists "Metric events are readable by their owner"
  on badges.metric_events;
create policy "Metric events are readable by their owner"
  on badges.metric_events for select
  to authenticated
  using (user_id = (select auth.uid()));

/** Levels: a named set of metric requirements (as in the pgpm achievements package). */
create table if not exists badges.levels (
  id text primary key check (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  name text not null check (length(name) between 1 and 200),
  description text not null default '',
  sort_order integer not null default 0,
  enabled boolean not null default true,
  updated_at timestamptz not null default now()
);
alter table badges.levels enable row level security;
grant select on badges.levels to anon, authenticated;
grant select, insert, update, delete on badges.levels to service_role;

drop policy if exists "Enabled levels are readable by everyone"
  on badges.levels;
create policy "Enabled levels are readable by everyone"
  on badges.levels for select
  to anon, authenticated
  using (enabled);

create table if not exists badges.level_requirements (
  level_id text not null references badges.levels (id) on delete cascade,
  metric text not null references badges.metrics (id),
  required bigint not null check (required > 0),
  priority integer not null default 0,
  primary key (level_id, metric)
);
alter table badges.level_requirements enable row level security;
grant select on badges.level_requirements to anon, authenticated;
grant select, insert, update, delete on badges.level_requirements to service_role;

drop policy if exists "Requirements of enabled levels are readable by everyone"
  on badges.level_requirements;
create policy "Requirements of enabled levels are readable by everyone"
  on badges.level_requirements for select
  to anon, authenticated
  using (exists (select 1 from badges.levels l where l.id = level_id and l.enabled));

/**
 * Make the metrics and levels equal to the catalog file (badges.sync_catalog calls it first:
 * badges reference metrics). Missing rows are disabled; a level's requirements are replaced.
 * Returns the number of rows written.
 */
create or replace function badges.sync_metrics_and_levels(p_metrics jsonb, p_levels jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_changed integer;
  v_rows integer;
begin
  with incoming as (
    select * from pg_catalog.jsonb_to_recordset(p_metrics) as m(
      id text, name text, description text, unit text, unit_one text, user_trackable boolean,
      user_max_amount integer)
  ), upserted as (
    insert into badges.metrics as t
      (id, name, description, unit, unit_one, user_trackable, user_max_amount, enabled)
    select id, name, coalesce(description, ''), coalesce(unit, ''), coalesce(unit_one, ''),
           coalesce(user_trackable, false), coalesce(user_max_amount, 1), true
    from incoming
    on conflict (id) do update set
      name = excluded.name, description = excluded.description, unit = excluded.unit,
      unit_one = excluded.unit_one, user_trackable = excluded.user_trackable,
      user_max_amount = excluded.user_max_amount, enabled = true, updated_at = now()
    where (t.name, t.description, t.unit, t.unit_one, t.user_trackable, t.user_max_amount,
           t.enabled) is distinct from (excluded.name, excluded.description, excluded.unit,
           excluded.unit_one, excluded.user_trackable, excluded.user_max_amount, true)
    returning 1
  )
  select count(*) into v_changed from upserted;
  update badges.metrics set enabled = false, updated_at = now()
  where enabled and id not in (select m ->> 'id' from pg_catalog.jsonb_array_elements(p_metrics) m);
  get diagnostics v_rows = row_count;
  v_changed := v_changed + v_rows;

  with incoming as (
    select * from pg_catalog.jsonb_to_recordset(p_levels) as l(
      id text, name text, description text, sort_order integer)
  ), upserted as (
    insert into badges.levels as t (id, name, description, sort_order, enabled)
    select id, name, coalesce(description, ''), coalesce(sort_order, 0), true from incoming
    on conflict (id) do update set
      name = excluded.name, description = excluded.description,
      sort_order = excluded.sort_order, enabled = true, updated_at = now()
    where (t.name, t.description, t.sort_order, t.enabled)
      is distinct from (excluded.name, excluded.description, excluded.sort_order, true)
    returning 1
  )
  select v_changed + count(*) into v_changed from upserted;
  update badges.levels set enabled = false, updated_at = now()
  where enabled and id not in (select l ->> 'id' from pg_catalog.jsonb_array_elements(p_levels) l);
  get diagnostics v_rows = row_count;
  return v_changed + v_rows + badges.sync_level_requirements(p_levels);
end;
$$;
revoke execute on function badges.sync_metrics_and_levels(jsonb, jsonb)
  from public, anon, authenticated;
grant execute on function badges.sync_metrics_and_levels(jsonb, jsonb) to service_role;

/** Make the requirements of every level equal to p_levels; returns rows written. */
create or replace function badges.sync_level_requirements(p_levels jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_upserted integer;
  v_deleted integer;
begin
  with incoming as (
    select l ->> 'id' as level_id, r.value ->> 'metric' as metric,
           (r.value ->> 'count')::bigint as required, r.ordinality::integer as priority
    from pg_catalog.jsonb_array_elements(p_levels) l,
         pg_catalog.jsonb_array_elements(l -> 'requirements') with ordinality r
  ), upserted as (
    insert into badges.level_requirements as t (level_id, metric, required, priority)
    select level_id, metric, required, priority from incoming
    on conflict (level_id, metric) do update set
      required = excluded.required, priority = excluded.priority
    where (t.required, t.priority) is distinct from (excluded.required, excluded.priority)
    returning 1
  )
  select count(*) into v_upserted from upserted;

  delete from badges.level_requirements t
  where not exists (
    select 1
    from pg_catalog.jsonb_array_elements(p_levels) l,
         pg_catalog.jsonb_array_elements(l -> 'requirements') r
    where l ->> 'id' = t.level_id and r ->> 'metric' = t.metric);
  get diagnostics v_deleted = row_count;
  return v_upserted + v_deleted;
end;
$$;
revoke execute on function badges.sync_level_requirements(jsonb) from public, anon, authenticated;
grant execute on function badges.sync_level_requirements(jsonb) to service_role;

drop function if exists badges.sync_catalog(jsonb, jsonb);

/**
 * Make the catalog tables equal to the catalog file, idempotently: metrics and levels, badge
 * definitions, quiz providers. Rows missing from the file are disabled /
 * deactivated, never deleted: awards keep their badge, totals their metric.
 * Returns {changed, badges, providers, metrics, levels}: rows written, then what is enabled.
 */
create or replace function badges.sync_catalog(
  p_badges jsonb, p_providers jsonb, p_metrics jsonb, p_levels jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_changed integer;
  v_rows integer;
begin
  if pg_catalog.jsonb_typeof(p_badges) is distinct from 'array'
     or pg_catalog.jsonb_typeof(p_providers) is distinct from 'array'
     or pg_catalog.jsonb_typeof(p_metrics) is distinct from 'array'
     or pg_catalog.jsonb_typeof(p_levels) is distinct from 'array' then
    raise exception using errcode = 'BD004', message = 'catalog must be four JSON arrays',
      detail = 'Pass badges, providers, metrics and levels as arrays; null would disable all.';
  end if;
  v_changed := badges.sync_metrics_and_levels(p_metrics, p_levels);

  with incoming as (
    select * from pg_catalog.jsonb_to_recordset(p_badges) as b(
      id text, name text, description text, icon text, category text, tier text,
      rule text, threshold integer, metric text, requires text[], hidden boolean,
      sort_order integer, auto_revoke boolean, enabled boolean, starts_at timestamptz,
      ends_at timestamptz, label_key text, description_key text, notify boolean)
  ), upserted as (
    insert into badges.definitions as d
      (id, name, description, icon, category, tier, rule, threshold, metric, requires, hidden,
       sort_order, auto_revoke, enabled, starts_at, ends_at, label_key, description_key, notify)
    select id, name, coalesce(description, ''), coalesce(icon, ''), coalesce(category, 'general'),
           coalesce(tier, 'bronze'), rule, threshold, metric, coalesce(requires, '{}'),
           coalesce(hidden, false), coalesce(sort_order, 0), coalesce(auto_revoke, false),
           coalesce(enabled, true), starts_at, ends_at, label_key, description_key,
           coalesce(notify, true)
    from incoming
    on conflict (id) do update set
      name = excluded.name, description = excluded.description, icon = excluded.icon,
      category = excluded.category, tier = excluded.tier, rule = excluded.rule,
      threshold = excluded.threshold, metric = excluded.metric, requires = excluded.requires,
      hidden = excluded.hidden, sort_order = excluded.sort_order,
      auto_revoke = excluded.auto_revoke, enabled = excluded.enabled,
      starts_at = excluded.starts_at, ends_at = excluded.ends_at,
      label_key = excluded.label_key, description_key = excluded.description_key,
      notify = excluded.notify, updated_at = now()
    where (d.name, d.description, d.icon, d.category, d.tier, d.rule, d.threshold, d.metric,
           d.requires, d.hidden, d.sort_order, d.auto_revoke, d.enabled, d.starts_at, d.ends_at,
           d.label_key, d.description_key, d.notify)
      is distinct from (excluded.name, excluded.description, excluded.icon, excluded.category,
           excluded.tier, excluded.rule, excluded.threshold, excluded.metric, excluded.requires,
           excluded.hidden, excluded.sort_order, excluded.auto_revoke, excluded.enabled,
           excluded.starts_at, excluded.ends_at, excluded.label_key, excluded.description_key,
           excluded.notify)
    returning 1
  )
  select v_changed + count(*) into v_changed from upserted;

  update badges.definitions set enabled = false, updated_at = now()
  where enabled and id not in (select b ->> 'id' from pg_catalog.jsonb_array_elements(p_badges) b);
  get diagnostics v_rows = row_count;
  v_changed := v_changed + v_rows + badges.sync_providers(p_providers);

  return pg_catalog.jsonb_build_object(
    'changed', v_changed,
    'badges', (select count(*) from badges.definitions where enabled),
    'providers', (select count(*) from badges.quiz_providers where active),
    'metrics', (select count(*) from badges.metrics where enabled),
    'levels', (select count(*) from badges.levels where enabled));
end;
$$;
revoke execute on function badges.sync_catalog(jsonb, jsonb, jsonb, jsonb)
  from public, anon, authenticated;
grant execute on function badges.sync_catalog(jsonb, jsonb, jsonb, jsonb) to service_role;

/** Make the quiz providers equal to p_providers; returns rows written. */
create or replace function badges.sync_providers(p_providers jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_changed integer;
  v_rows integer;
begin
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
  select count(*) into v_changed from upserted;

  update badges.quiz_providers set active = false, updated_at = now()
  where active and id not in (select p ->> 'id' from pg_catalog.jsonb_array_elements(p_providers) p);
  get diagnostics v_rows = row_count;
  return v_changed + v_rows;
end;
$$;
revoke execute on function badges.sync_providers(jsonb) from public, anon, authenticated;
grant execute on function badges.sync_providers(jsonb) to service_role;
