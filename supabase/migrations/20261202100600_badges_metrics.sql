/**
 * The per-user state of the metrics a catalog declares (badges.metrics): running totals,
 * distinct items and every counted event; the `track` action that counts one event and awards
 * what the new total reaches; and a level's status against the totals.
 */

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
-- A windowed metric badge (definitions.within_days) sums one user's events of one metric over a
-- few days: by this index, a range of the user's recent events rather than every event the user
-- ever had.
create index if not exists metric_events_user_metric_at_idx
  on badges.metric_events (user_id, metric, occurred_at);

drop policy if exists "Metric events are readable by their owner"
  on badges.metric_events;
create policy "Metric events are readable by their owner"
  on badges.metric_events for select
  to authenticated
  using (user_id = (select auth.uid()));

/**
 * The enabled metric p_metric, checked for the caller: a client (a user's own token) may track
 * only user_trackable metrics, by 1 to user_max_amount. BD005 unknown, BD003 not trackable by a
 * user, BD004 bad amount.
 */
create or replace function badges.trackable_metric(p_metric text, p_client boolean, p_amount integer)
returns badges.metrics
language plpgsql stable
set search_path = ''
as $$
declare
  v_metric badges.metrics;
begin
  select * into v_metric from badges.metrics where id = p_metric and enabled;
  if not found then
    raise exception using errcode = 'BD005', message = 'unknown metric',
      detail = pg_catalog.format('No enabled metric has the id %L.', p_metric);
  end if;
  if p_amount is null or p_amount = 0 then
    raise exception using errcode = 'BD004', message = 'amount must not be zero';
  end if;
  if p_client and not v_metric.user_trackable then
    raise exception using errcode = 'BD003', message = 'metric not trackable by users',
      detail = pg_catalog.format('Only the server may track %L.', p_metric);
  end if;
  if p_client and p_amount not between 1 and v_metric.user_max_amount then
    raise exception using errcode = 'BD003', message = 'amount not allowed for users',
      detail = case when v_metric.user_max_amount = 1
        then pg_catalog.format('A user may add only 1 to %L per call.', p_metric)
        else pg_catalog.format('A user may add 1 to %s to %L per call.',
                               v_metric.user_max_amount, p_metric) end;
  end if;
  return v_metric;
end;
$$;
revoke execute on function badges.trackable_metric(text, boolean, integer)
  from public, anon, authenticated;
grant execute on function badges.trackable_metric(text, boolean, integer) to service_role;

/**
 * Count one event of a metric for a user, add it to the leaderboards over the metric and award
 * what the new total reaches, in this transaction. A total never goes below 0. With p_key, a repeat of the same event (same key,
 * metric, amount and item) changes nothing and answers the current state; the key reused for a
 * different event is BD008. Callers hold badges.lock_user (which makes the key check safe).
 * Returns {metric, total, distinct_count, awarded, duplicate}.
 */
create or replace function badges.count_metric(
  p_user_id uuid, p_metric text, p_amount integer, p_item text, p_key text, p_at timestamptz)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_prev badges.metric_events;
  v_new_item integer := 0;
  v_before bigint := 0;
  v_totals badges.metric_totals;
  v_awarded text[] := '{}';
begin
  select * into v_prev from badges.metric_events e
  where e.user_id = p_user_id and e.idempotency_key = p_key;
  if found and (v_prev.metric, v_prev.amount, v_prev.item) is distinct from (p_metric, p_amount, p_item) then
    raise exception using errcode = 'BD008', message = 'idempotency key reused',
      detail = pg_catalog.format('The key %L was used for another event.', p_key);
  end if;
  if v_prev.id is null then
    if p_item is not null then
      insert into badges.metric_items (user_id, metric, item, first_at)
      values (p_user_id, p_metric, p_item, coalesce(p_at, now())) on conflict do nothing;
      v_new_item := case when found then 1 else 0 end;
    end if;
    if p_amount < 0 then
      -- A total stops at 0: the boards add what it really lost.
      select t.total into v_before from badges.metric_totals t
      where t.user_id = p_user_id and t.metric = p_metric;
    end if;
    insert into badges.metric_totals as t (user_id, metric, total, distinct_count)
    values (p_user_id, p_metric, greatest(p_amount, 0), v_new_item)
    on conflict (user_id, metric) do update set
      total = greatest(t.total + p_amount, 0), distinct_count = t.distinct_count + v_new_item,
      updated_at = now()
    returning * into v_totals;
    insert into badges.metric_events
      (user_id, metric, amount, total, item, idempotency_key, occurred_at)
    values (p_user_id, p_metric, p_amount, v_totals.total, p_item, p_key, coalesce(p_at, now()));
    perform badges.bump_boards(
      p_metric, array[p_user_id],
      array[case when p_amount < 0 then v_totals.total - coalesce(v_before, 0) else p_amount end],
      array[coalesce(p_at, now())]);
    v_awarded := badges.award_qualifying(p_user_id, array['metric', 'distinct'], p_at);
  else
    select * into v_totals from badges.metric_totals t
    where t.user_id = p_user_id and t.metric = p_metric;
  end if;
  return pg_catalog.jsonb_build_object(
    'metric', p_metric, 'total', coalesce(v_totals.total, 0),
    'distinct_count', coalesce(v_totals.distinct_count, 0),
    'awarded', pg_catalog.to_jsonb(v_awarded), 'duplicate', v_prev.id is not null);
end;
$$;
revoke execute on function badges.count_metric(uuid, text, integer, text, text, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.count_metric(uuid, text, integer, text, text, timestamptz)
  to service_role;

/**
 * The `track` action: check the metric for the caller (p_client: a user's own token), then
 * count the event under the user's lock. p_at (service callers only) dates the event and the
 * awards it causes. Returns {metric, total, distinct_count, awarded, duplicate}.
 */
create or replace function badges.track(
  p_user_id uuid, p_metric text, p_amount integer, p_client boolean,
  p_item text default null, p_idempotency_key text default null, p_at timestamptz default null)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
begin
  perform badges.trackable_metric(p_metric, p_client, p_amount);
  perform badges.lock_user(p_user_id);
  return badges.count_metric(p_user_id, p_metric, p_amount, p_item, p_idempotency_key, p_at);
end;
$$;
revoke execute on function badges.track(uuid, text, integer, boolean, text, text, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.track(uuid, text, integer, boolean, text, text, timestamptz)
  to service_role;

/**
 * A level's requirements against the user's metric totals.
 * Returns {level: {id, name, description}, achieved, steps: [{metric, required, current, remaining}]}.
 */
create or replace function badges.level_status(p_user_id uuid, p_level text)
returns jsonb
language plpgsql stable
set search_path = ''
set jit = off
as $$
declare
  v_level badges.levels;
  v_steps jsonb;
begin
  select * into v_level from badges.levels where id = p_level and enabled;
  if not found then
    raise exception using errcode = 'BD007', message = 'unknown level',
      detail = pg_catalog.format('No enabled level has the id %L.', p_level);
  end if;
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'metric', r.metric, 'required', r.required, 'current', s.current,
           'remaining', greatest(r.required - s.current, 0)) order by r.priority, r.metric),
         '[]'::jsonb)
  into v_steps
  from badges.level_requirements r
  cross join lateral (
    select coalesce((select t.total from badges.metric_totals t
                     where t.user_id = p_user_id and t.metric = r.metric), 0) as current) s
  where r.level_id = p_level;
  return pg_catalog.jsonb_build_object(
    'level', pg_catalog.jsonb_build_object(
      'id', v_level.id, 'name', v_level.name, 'description', v_level.description),
    'achieved', not pg_catalog.jsonb_path_exists(v_steps, '$[*] ? (@.remaining > 0)'),
    'steps', v_steps);
end;
$$;
revoke execute on function badges.level_status(uuid, text) from public, anon, authenticated;
grant execute on function badges.level_status(uuid, text) to service_role;
