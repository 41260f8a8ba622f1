/**
 * The badges schema and its catalog: badge definitions, quiz providers, metrics and levels.
 *
 * The catalog file (supabase/catalogs/<name>.toml) is the source of truth; badges.sync_catalog
 * writes it here. Clients read the catalog through RLS; everything in this schema is written
 * only through functions executable by service_role.
 *
 * These files are a baseline: every table, view, function, trigger, index, policy and grant of
 * the schema is defined once, in the file of its concern, and supabase/schema.sql shows them all
 * as the files leave them. Until the first release a change edits the file of its concern in
 * place (badges.migrate refuses a database migrated with an earlier text of a file); after it, a
 * later change is a new migration file. Either way the snapshot is regenerated with
 * `make schema`.
 *
 * What every file keeps to: each table has row level security; each function pins
 * search_path = '' and names everything schema-qualified, is revoked from public, anon and
 * authenticated and granted to service_role only (trigger functions to nobody); grants are
 * explicit. Each file is re-runnable: applied again, it changes nothing.
 *
 * The functions a request calls are `set jit = off`: a request's statements read a few rows by
 * key, and on a database whose statistics are missing (restored, bulk-loaded, never analysed)
 * their estimates can pass jit_above_cost; a server with JIT would then compile them on every
 * call, hundreds of milliseconds for a read of microseconds. The batch functions
 * (check_streaks_all, check_badges_all, consistency_report) keep the server's setting.
 *
 * Custom errors raised by badges functions use SQLSTATE class BD:
 *   BD001 unknown badge      BD002 unknown provider    BD003 forbidden
 *   BD004 invalid argument   BD005 unknown metric      BD006 badge outside its active window
 *   BD007 unknown level      BD008 idempotency key reused for another event
 *   BD009 unknown share      BD010 push token registered to another user
 *   BD011 unknown user       BD012 badge not earned    BD013 unknown leaderboard
 */
create schema if not exists badges;
grant usage on schema badges to anon, authenticated, service_role;

/**
 * One row per badge. `rule` says how it is earned:
 *   streak         longest activity streak >= threshold days
 *   quiz_distinct  correct answers on >= threshold distinct active quiz providers
 *   quiz_all       correct answers on every active quiz provider
 *   metric         the user's total of `metric` >= threshold
 *   distinct       distinct items tracked for `metric` >= threshold (quiz_distinct, generalised)
 *   all_of         every badge in `requires` earned (composite)
 *   client         awarded on the client's word (e.g. a share): the only rule a user may call
 *   manual         awarded by a service caller only
 *   shared         awarded when a different signed-in user opens the user's share link, which
 *                  the server observes (badges.open_share); the user's own client cannot award it
 *   active_days    active days (badges.activity_days) in the last within_days days >= threshold
 *   rank           a final place <= threshold (top N, at most 100) in a finished period of the
 *                  leaderboard `board` (badges.board_placings); awarded when the period is
 *                  archived, once, however often the user places again
 * and per badge: an active window (starts_at, ends_at: no new awards outside it), notify (false:
 * a quiet badge, announced neither in the inbox nor the outbox), auto_revoke (the batch check
 * removes the badge when its rule no longer holds), i18n keys.
 *
 * within_days makes a badge dynamic: its rule looks back over a rolling window of that many days
 * ("active on 5 of the last 7 days", "10 answers this week"); metric and distinct then count only
 * the events in the window, and active_days requires it (threshold <= within_days). The rules
 * file says what the window is as of an instant. A windowed badge is always auto_revoke (the
 * sync implies it, windowed_is_auto_revoke enforces it): a badge that says "this week" and
 * stayed forever would say something false; it is awarded again, announced again, when its rule
 * holds again.
 * A badge removed from the catalog file is disabled, never deleted: awards keep their badge.
 *
 * wire, wire_json, event_badge and earned_text are derived, kept by the trigger
 * definitions_derive (below): what a badge looks like on the wire and in its announcement is
 * computed when its definition (or its metric's unit) changes, not per award or per read.
 * wire_json is wire as json text, for answers that only send it on (an award's): jsonb would
 * take it apart and write it out again on every call.
 */
create table if not exists badges.definitions (
  id text primary key check (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  name text not null check (length(name) between 1 and 200),
  description text not null default '',
  icon text not null default '',
  category text not null default 'general',
  tier text not null default 'bronze' check (tier in ('bronze', 'silver', 'gold', 'diamond')),
  rule text not null check (rule in (
    'streak', 'quiz_distinct', 'quiz_all', 'metric', 'distinct', 'all_of', 'client', 'manual',
    'shared', 'active_days', 'rank')),
  threshold integer check (threshold is null or threshold > 0),
  hidden boolean not null default false,
  sort_order integer not null default 0,
  enabled boolean not null default true,
  updated_at timestamptz not null default now(),
  metric text,
  requires text[] not null default '{}',
  auto_revoke boolean not null default false,
  starts_at timestamptz,
  ends_at timestamptz,
  label_key text check (length(label_key) between 1 and 200),
  description_key text check (length(description_key) between 1 and 200),
  notify boolean not null default true,
  wire jsonb,
  wire_json json,
  event_badge jsonb,
  earned_text text,
  within_days integer,
  board text,
  constraint threshold_matches_rule check (
    (rule in ('streak', 'quiz_distinct', 'metric', 'distinct', 'active_days', 'rank'))
    = (threshold is not null)),
  constraint board_matches_rule check (
    (rule = 'rank') = (board is not null) and (rule <> 'rank' or threshold <= 100)),
  constraint metric_matches_rule check ((rule in ('metric', 'distinct')) = (metric is not null)),
  constraint requires_matches_rule check ((rule = 'all_of') = (cardinality(requires) > 0)),
  constraint auto_revoke_is_automatic
    check (not auto_revoke or rule not in ('client', 'manual', 'shared', 'rank')),
  constraint window_is_ordered check (starts_at < ends_at),
  constraint within_days_matches_rule check (case
    when within_days is null then rule <> 'active_days'
    else within_days between 1 and 366 and rule in ('metric', 'distinct', 'active_days')
         and (rule <> 'active_days' or threshold <= within_days) end),
  constraint windowed_is_auto_revoke check (within_days is null or auto_revoke)
);
alter table badges.definitions enable row level security;
grant select on badges.definitions to anon, authenticated;
grant select, insert, update, delete on badges.definitions to service_role;
create index if not exists definitions_metric_idx
  on badges.definitions (metric) where metric is not null;
-- The composites, which every new award asks about (does an enabled all_of badge require this
-- one?): that check reads the few composites, not the whole catalog.
create index if not exists definitions_composites_idx
  on badges.definitions (id) where rule = 'all_of' and enabled;

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
 * The catalog's [streak_freezes] policy: one freeze is granted each time a user's current streak
 * reaches a multiple of every_days, while the user holds fewer than max_held. One row at most
 * (id is always true); no row: no automatic grants (service grants still work).
 */
create table if not exists badges.streak_freeze_policy (
  id boolean primary key default true check (id),
  every_days integer not null check (every_days between 1 and 366),
  max_held integer not null check (max_held between 1 and 100),
  updated_at timestamptz not null default now()
);
alter table badges.streak_freeze_policy enable row level security;
grant select on badges.streak_freeze_policy to anon, authenticated;
grant select, insert, update, delete on badges.streak_freeze_policy to service_role;

drop policy if exists "The streak freeze policy is readable by everyone"
  on badges.streak_freeze_policy;
create policy "The streak freeze policy is readable by everyone"
  on badges.streak_freeze_policy for select
  to anon, authenticated
  using (true);

/* ----------------------------------------------------------------------------------------- */
/* Definitions: derived columns                                                              */
/* ----------------------------------------------------------------------------------------- */

/** The wire shape of a badge definition (stored as definitions.wire). */
create or replace function badges.badge_json(d badges.definitions)
returns jsonb
language sql stable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'id', d.id, 'name', d.name, 'description', d.description, 'icon', d.icon,
    'category', d.category, 'tier', d.tier, 'rule', d.rule, 'threshold', d.threshold,
    'metric', d.metric, 'requires', pg_catalog.to_jsonb(d.requires), 'hidden', d.hidden,
    'starts_at', d.starts_at, 'ends_at', d.ends_at, 'label_key', d.label_key,
    'description_key', d.description_key)
  -- Only where they apply: the shape of every other badge stays as it was.
  || case when d.within_days is not null
       then pg_catalog.jsonb_build_object('within_days', d.within_days) else '{}' end
  || case when d.board is not null
       then pg_catalog.jsonb_build_object('board', d.board) else '{}' end
$$;
revoke execute on function badges.badge_json(badges.definitions) from public, anon, authenticated;
grant execute on function badges.badge_json(badges.definitions) to service_role;

/** The badge object of an announcement (webhook body, push data), stored as event_badge. */
create or replace function badges.event_badge(d badges.definitions)
returns jsonb
language sql immutable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'id', d.id, 'name', d.name, 'description', d.description, 'icon', d.icon,
    'category', d.category, 'tier', d.tier, 'label_key', d.label_key,
    'description_key', d.description_key)
$$;
revoke execute on function badges.event_badge(badges.definitions) from public, anon, authenticated;
grant execute on function badges.event_badge(badges.definitions) to service_role;

/**
 * The sentence announcing a badge (stored as earned_text): "Congrats! You earned Project Rookie
 * for 5 projects!" for a goal in a metric's unit, else the badge's description after the name.
 */
create or replace function badges.earned_message(d badges.definitions)
returns text
language sql stable
set search_path = ''
as $$
  select 'Congrats! You earned ' || d.name || coalesce(
    case
      when d.rule in ('metric', 'distinct') then (
        select ' for ' || d.threshold || ' '
          || case when d.threshold = 1 then coalesce(nullif(m.unit_one, ''), m.unit) else m.unit end
          || '!'
        from badges.metrics m where m.id = d.metric and m.unit <> '')
    end,
    '!' || case when d.description <> '' then ' ' || d.description else '' end)
$$;
revoke execute on function badges.earned_message(badges.definitions)
  from public, anon, authenticated;
grant execute on function badges.earned_message(badges.definitions) to service_role;

/**
 * Fill the derived columns of a definition being written. Times in the wire shape are written
 * in UTC whatever the writing session's zone, so every reader gets the same text.
 */
create or replace function badges.derive_definition()
returns trigger
language plpgsql
set search_path = ''
set timezone = 'UTC'
as $$
begin
  new.wire := badges.badge_json(new);
  new.wire_json := new.wire::json;
  new.event_badge := badges.event_badge(new);
  new.earned_text := badges.earned_message(new);
  return new;
end;
$$;
revoke execute on function badges.derive_definition() from public, anon, authenticated;

create or replace trigger definitions_derive
  before insert or update on badges.definitions
  for each row execute function badges.derive_definition();

/** A metric's unit words its badges' messages: rewrite them when it changes. */
create or replace function badges.metric_units_changed()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update badges.definitions d set earned_text = null where d.metric = new.id;
  return null;
end;
$$;
revoke execute on function badges.metric_units_changed() from public, anon, authenticated;

create or replace trigger metrics_units_changed
  after update of unit, unit_one on badges.metrics
  for each row execute function badges.metric_units_changed();

/* ----------------------------------------------------------------------------------------- */
/* Reading and syncing the catalog                                                           */
/* ----------------------------------------------------------------------------------------- */

/** The enabled definition of a badge, or BD001. */
create or replace function badges.definition(p_badge_id text)
returns badges.definitions
language plpgsql stable
set search_path = ''
as $$
declare
  v_def badges.definitions;
begin
  select * into v_def from badges.definitions where id = p_badge_id and enabled;
  if not found then
    raise exception using errcode = 'BD001', message = 'unknown badge',
      detail = pg_catalog.format('No enabled badge has the id %L.', p_badge_id);
  end if;
  return v_def;
end;
$$;
revoke execute on function badges.definition(text) from public, anon, authenticated;
grant execute on function badges.definition(text) to service_role;

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

/**
 * Make the catalog tables equal to the catalog file, idempotently: metrics and levels,
 * leaderboards, badge definitions, quiz providers, the streak freeze policy. p_catalog is the
 * file as one object: {badges, providers, metrics, levels: arrays, leaderboards: an array (absent:
 * none), streak_freezes: the [streak_freezes] table ({every_days, max_held}) or null (absent: no
 * policy)}. Rows missing from the file are disabled / deactivated, never deleted: awards keep
 * their badge, totals their metric, boards their history. A badge with within_days is auto_revoke
 * whatever the payload says.
 * Returns {changed, badges, providers, metrics, levels, leaderboards}: rows written, then what is
 * enabled.
 */
create or replace function badges.sync_catalog(p_catalog jsonb)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_changed integer;
  v_rows integer;
  v_orphan text;
  p_badges jsonb := p_catalog -> 'badges';
  p_providers jsonb := p_catalog -> 'providers';
  p_streak_freezes jsonb := nullif(p_catalog -> 'streak_freezes', 'null'::jsonb);
  p_leaderboards jsonb := coalesce(p_catalog -> 'leaderboards', '[]');
begin
  if pg_catalog.jsonb_typeof(p_catalog) is distinct from 'object'
     or pg_catalog.jsonb_typeof(p_badges) is distinct from 'array'
     or pg_catalog.jsonb_typeof(p_providers) is distinct from 'array'
     or pg_catalog.jsonb_typeof(p_catalog -> 'metrics') is distinct from 'array'
     or pg_catalog.jsonb_typeof(p_catalog -> 'levels') is distinct from 'array'
     or pg_catalog.jsonb_typeof(p_leaderboards) is distinct from 'array' then
    raise exception using errcode = 'BD004',
      message = 'catalog must be an object of JSON arrays',
      detail = 'Pass {"badges", "providers", "metrics", "levels", "leaderboards"} as arrays;'
        || ' null would disable all.';
  end if;
  if p_streak_freezes is not null and pg_catalog.jsonb_typeof(p_streak_freezes) <> 'object' then
    raise exception using errcode = 'BD004', message = 'streak_freezes must be a JSON object',
      detail = 'Pass {"every_days": n, "max_held": m}, or null for no automatic freezes.';
  end if;
  -- Metrics first (boards rank them), then boards (rank badges name them), then badges.
  v_changed := badges.sync_metrics_and_levels(p_catalog -> 'metrics', p_catalog -> 'levels');
  v_changed := v_changed + badges.sync_leaderboards(p_leaderboards);
  select b ->> 'id' into v_orphan
  from pg_catalog.jsonb_array_elements(p_badges) b
  where b ->> 'rule' = 'rank'
    and not exists (select 1 from badges.leaderboards l
                    where l.id = b ->> 'board' and l.enabled and l.period <> 'all_time')
  limit 1;
  if v_orphan is not null then
    raise exception using errcode = 'BD004', message = 'rank badge without a periodic board',
      detail = pg_catalog.format('The rank badge %L must name a leaderboard of the catalog whose'
        ' period ends (not all_time).', v_orphan);
  end if;

  with incoming as (
    select * from pg_catalog.jsonb_to_recordset(p_badges) as b(
      id text, name text, description text, icon text, category text, tier text,
      rule text, threshold integer, metric text, requires text[], hidden boolean,
      sort_order integer, auto_revoke boolean, enabled boolean, starts_at timestamptz,
      ends_at timestamptz, label_key text, description_key text, notify boolean,
      within_days integer, board text)
  ), upserted as (
    insert into badges.definitions as d
      (id, name, description, icon, category, tier, rule, threshold, metric, requires, hidden,
       sort_order, auto_revoke, enabled, starts_at, ends_at, label_key, description_key, notify,
       within_days, board)
    select id, name, coalesce(description, ''), coalesce(icon, ''), coalesce(category, 'general'),
           coalesce(tier, 'bronze'), rule, threshold, metric, coalesce(requires, '{}'),
           coalesce(hidden, false), coalesce(sort_order, 0),
           coalesce(auto_revoke, false) or within_days is not null,
           coalesce(enabled, true), starts_at, ends_at, label_key, description_key,
           coalesce(notify, true), within_days, board
    from incoming
    on conflict (id) do update set
      name = excluded.name, description = excluded.description, icon = excluded.icon,
      category = excluded.category, tier = excluded.tier, rule = excluded.rule,
      threshold = excluded.threshold, metric = excluded.metric, requires = excluded.requires,
      hidden = excluded.hidden, sort_order = excluded.sort_order,
      auto_revoke = excluded.auto_revoke, enabled = excluded.enabled,
      starts_at = excluded.starts_at, ends_at = excluded.ends_at,
      label_key = excluded.label_key, description_key = excluded.description_key,
      notify = excluded.notify, within_days = excluded.within_days, board = excluded.board,
      updated_at = now()
    where (d.name, d.description, d.icon, d.category, d.tier, d.rule, d.threshold, d.metric,
           d.requires, d.hidden, d.sort_order, d.auto_revoke, d.enabled, d.starts_at, d.ends_at,
           d.label_key, d.description_key, d.notify, d.within_days, d.board)
      is distinct from (excluded.name, excluded.description, excluded.icon, excluded.category,
           excluded.tier, excluded.rule, excluded.threshold, excluded.metric, excluded.requires,
           excluded.hidden, excluded.sort_order, excluded.auto_revoke, excluded.enabled,
           excluded.starts_at, excluded.ends_at, excluded.label_key, excluded.description_key,
           excluded.notify, excluded.within_days, excluded.board)
    returning 1
  )
  select v_changed + count(*) into v_changed from upserted;

  update badges.definitions set enabled = false, updated_at = now()
  where enabled and id not in (select b ->> 'id' from pg_catalog.jsonb_array_elements(p_badges) b);
  get diagnostics v_rows = row_count;
  v_changed := v_changed + v_rows + badges.sync_providers(p_providers);

  if p_streak_freezes is null then
    delete from badges.streak_freeze_policy;
    get diagnostics v_rows = row_count;
  else
    insert into badges.streak_freeze_policy as t (id, every_days, max_held)
    values (true, (p_streak_freezes ->> 'every_days')::integer,
            (p_streak_freezes ->> 'max_held')::integer)
    on conflict (id) do update set
      every_days = excluded.every_days, max_held = excluded.max_held, updated_at = now()
    where (t.every_days, t.max_held) is distinct from (excluded.every_days, excluded.max_held);
    get diagnostics v_rows = row_count;
  end if;
  v_changed := v_changed + v_rows;

  return pg_catalog.jsonb_build_object(
    'changed', v_changed,
    'badges', (select count(*) from badges.definitions where enabled),
    'providers', (select count(*) from badges.quiz_providers where active),
    'metrics', (select count(*) from badges.metrics where enabled),
    'levels', (select count(*) from badges.levels where enabled),
    'leaderboards', (select count(*) from badges.leaderboards where enabled));
end;
$$;
revoke execute on function badges.sync_catalog(jsonb) from public, anon, authenticated;
grant execute on function badges.sync_catalog(jsonb) to service_role;
