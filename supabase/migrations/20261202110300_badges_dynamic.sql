/**
 * Dynamic badges (issue 12): a badge whose rule looks back over a rolling window of
 * `within_days` days ("active on 5 of the last 7 days", "10 answers this week"). It is awarded
 * when its rule holds, like any automatic badge, and removed by the batch check (revoke_lapsed,
 * logged as an automatic revocation, which writes no notification) when it no longer does; the
 * rules award it again, announced again, when it holds again.
 *
 *   metric + within_days       the sum of the metric's event amounts with occurred_at in the
 *                              window >= threshold
 *   distinct + within_days     distinct items among the metric's events in the window
 *                              >= threshold
 *   active_days (new rule)     active days (badges.activity_days) in the window >= threshold;
 *                              within_days required, threshold <= within_days
 *
 * "The window" as of an instant t: for events, t - within_days x 24 hours < occurred_at <= t
 * (hours, not days: "7 days" subtracted in a session whose zone changes clocks that week would
 * be 167 or 169 hours, and the window must not depend on the session); for active days, the
 * within_days calendar days ending with the user's today at t (the day activity at t counts
 * for, badges.activity_day, as the streaks use). t is the engine's "now": now(), or the
 * instant a dated call (track, record_activity with p_at; check_badges_all with p_at) runs as
 * of, which those functions publish in the transaction-local setting badges.as_of (read by the
 * qualified view, which cannot take an argument and must stay a view: a user filter is pushed
 * into every branch of it).
 *
 * A windowed badge is always auto_revoke (the sync implies it, a check enforces it): a badge
 * that says "this week" and stayed forever would say something false.
 *
 * Replaces: badges.sync_catalog (catalog), record_activity (activity), record_score (quiz),
 * qualified, base_rules, award_rules, award_qualifying, check_badges_all (rules),
 * badge_progress (reads). check_badges_all gains p_at (its three-argument form is dropped).
 */

/* ----------------------------------------------------------------------------------------- */
/* The catalog: within_days and the active_days rule                                         */
/* ----------------------------------------------------------------------------------------- */

alter table badges.definitions add column if not exists within_days integer;

-- Dropped and added again, so this file applied again leaves the same checks (a check cannot
-- be replaced in place); the catalog file creates the table only when it is missing.
alter table badges.definitions
  drop constraint if exists definitions_rule_check,
  add constraint definitions_rule_check check (rule in (
    'streak', 'quiz_distinct', 'quiz_all', 'metric', 'distinct', 'all_of', 'client', 'manual',
    'shared', 'active_days')),
  drop constraint if exists threshold_matches_rule,
  add constraint threshold_matches_rule check (
    (rule in ('streak', 'quiz_distinct', 'metric', 'distinct', 'active_days'))
    = (threshold is not null)),
  drop constraint if exists within_days_matches_rule,
  add constraint within_days_matches_rule check (case
    when within_days is null then rule <> 'active_days'
    else within_days between 1 and 366 and rule in ('metric', 'distinct', 'active_days')
         and (rule <> 'active_days' or threshold <= within_days) end),
  drop constraint if exists windowed_is_auto_revoke,
  add constraint windowed_is_auto_revoke check (within_days is null or auto_revoke);

/**
 * The instant the rules judge windows at: the transaction's badges.as_of when a dated call set
 * it (badges.set_as_of), else now(). The qualified view and badge_progress write the same
 * expression out rather than call this: a function with SET search_path is not inlined.
 */
create or replace function badges.as_of()
returns timestamptz
language sql stable
set search_path = ''
as $$
  select coalesce(nullif(pg_catalog.current_setting('badges.as_of', true), '')::timestamptz,
                  pg_catalog.now())
$$;
revoke execute on function badges.as_of() from public, anon, authenticated;
grant execute on function badges.as_of() to service_role;

/**
 * Make p_at (when not null) the instant the rules judge windows at, for the rest of the
 * transaction or until the caller puts back the returned previous value (which may be '').
 * Written in UTC ISO 8601, which reads back exactly whatever the session's DateStyle.
 */
create or replace function badges.set_as_of(p_at timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_previous text := coalesce(pg_catalog.current_setting('badges.as_of', true), '');
begin
  if p_at is not null then
    perform pg_catalog.set_config(
      'badges.as_of',
      pg_catalog.to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), true);
  end if;
  return v_previous;
end;
$$;
revoke execute on function badges.set_as_of(timestamptz) from public, anon, authenticated;
grant execute on function badges.set_as_of(timestamptz) to service_role;

/**
 * Make the catalog tables equal to the catalog file (as in the catalog baseline), with
 * within_days; a badge with within_days is auto_revoke whatever the payload says.
 */
create or replace function badges.sync_catalog(
  p_badges jsonb, p_providers jsonb, p_metrics jsonb, p_levels jsonb)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
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
      ends_at timestamptz, label_key text, description_key text, notify boolean,
      within_days integer)
  ), upserted as (
    insert into badges.definitions as d
      (id, name, description, icon, category, tier, rule, threshold, metric, requires, hidden,
       sort_order, auto_revoke, enabled, starts_at, ends_at, label_key, description_key, notify,
       within_days)
    select id, name, coalesce(description, ''), coalesce(icon, ''), coalesce(category, 'general'),
           coalesce(tier, 'bronze'), rule, threshold, metric, coalesce(requires, '{}'),
           coalesce(hidden, false), coalesce(sort_order, 0),
           coalesce(auto_revoke, false) or within_days is not null,
           coalesce(enabled, true), starts_at, ends_at, label_key, description_key,
           coalesce(notify, true), within_days
    from incoming
    on conflict (id) do update set
      name = excluded.name, description = excluded.description, icon = excluded.icon,
      category = excluded.category, tier = excluded.tier, rule = excluded.rule,
      threshold = excluded.threshold, metric = excluded.metric, requires = excluded.requires,
      hidden = excluded.hidden, sort_order = excluded.sort_order,
      auto_revoke = excluded.auto_revoke, enabled = excluded.enabled,
      starts_at = excluded.starts_at, ends_at = excluded.ends_at,
      label_key = excluded.label_key, description_key = excluded.description_key,
      notify = excluded.notify, within_days = excluded.within_days, updated_at = now()
    where (d.name, d.description, d.icon, d.category, d.tier, d.rule, d.threshold, d.metric,
           d.requires, d.hidden, d.sort_order, d.auto_revoke, d.enabled, d.starts_at, d.ends_at,
           d.label_key, d.description_key, d.notify, d.within_days)
      is distinct from (excluded.name, excluded.description, excluded.icon, excluded.category,
           excluded.tier, excluded.rule, excluded.threshold, excluded.metric, excluded.requires,
           excluded.hidden, excluded.sort_order, excluded.auto_revoke, excluded.enabled,
           excluded.starts_at, excluded.ends_at, excluded.label_key, excluded.description_key,
           excluded.notify, excluded.within_days)
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

/* ----------------------------------------------------------------------------------------- */
/* The rules engine                                                                          */
/* ----------------------------------------------------------------------------------------- */

-- A windowed metric badge sums one user's events of one metric over a few days: by this index,
-- a range of the user's recent events rather than every event the user ever had.
create index if not exists metric_events_user_metric_at_idx
  on badges.metric_events (user_id, metric, occurred_at);

/**
 * The pairs the base automatic rules grant (as in the rules baseline), the windowed ones judged
 * as of badges.as_of (else now). Each windowed branch starts from the user's row (metric_totals,
 * streaks), so a user filter is pushed into it and it reads that user's window by key; the
 * batch reads it once per user who has the metric or any activity.
 */
create or replace view badges.qualified with (security_invoker = true) as
  select t.user_id, d.id as badge_id
  from badges.metric_totals t
  join badges.definitions d
    on d.rule in ('metric', 'distinct') and d.within_days is null and d.metric = t.metric
   and case d.rule when 'metric' then t.total else t.distinct_count end >= d.threshold
  union all
  select s.user_id, d.id
  from badges.streaks s
  join badges.definitions d on d.rule = 'streak' and s.longest_streak >= d.threshold
  union all
  select q.user_id, d.id
  from (select q.user_id, count(*) as correct
        from badges.quiz_scores q
        join badges.quiz_providers p on p.id = q.provider_id and p.active
        where q.quiz_correct
        group by q.user_id) q
  join badges.definitions d
    on (d.rule = 'quiz_distinct' and q.correct >= d.threshold)
    or (d.rule = 'quiz_all'
        and q.correct >= (select count(*) from badges.quiz_providers p where p.active))
  union all
  select t.user_id, d.id
  from badges.metric_totals t
  join badges.definitions d
    on d.rule in ('metric', 'distinct') and d.within_days is not null and d.metric = t.metric
  cross join lateral (
    select coalesce(nullif(pg_catalog.current_setting('badges.as_of', true), '')::timestamptz,
                    pg_catalog.now()) as at) n
  cross join lateral (
    select coalesce(sum(e.amount), 0) as total, count(distinct e.item) as items
    from badges.metric_events e
    where e.user_id = t.user_id and e.metric = t.metric
      and e.occurred_at > n.at - d.within_days * interval '24 hours' and e.occurred_at <= n.at) w
  where case d.rule when 'metric' then w.total else w.items end >= d.threshold
  union all
  select s.user_id, d.id
  from badges.streaks s
  join badges.definitions d on d.rule = 'active_days'
  cross join lateral (
    select badges.activity_day(
      coalesce(nullif(pg_catalog.current_setting('badges.as_of', true), '')::timestamptz,
               pg_catalog.now()),
      s.timezone, s.timezone, s.previous_timezone, s.timezone_changed_at) as today) n
  where (select count(*) from badges.activity_days a
         where a.user_id = s.user_id and a.day > n.today - d.within_days and a.day <= n.today)
        >= d.threshold;
revoke all on badges.qualified from public, anon, authenticated;
grant select on badges.qualified to service_role;

/** Every automatic rule kind but all_of (which award_composites handles). */
create or replace function badges.base_rules()
returns text[]
language sql immutable
set search_path = ''
as $$
  select array['metric', 'distinct', 'streak', 'quiz_distinct', 'quiz_all', 'active_days']
$$;
revoke execute on function badges.base_rules() from public, anon, authenticated;
grant execute on function badges.base_rules() to service_role;

/**
 * Award what the base rules in p_rules grant (as in the rules baseline). "Now" is
 * badges.as_of(): the instant a dated call runs as of, else now(). A windowed badge is not
 * backdated: its goal holds as of now, whenever it was first reached, so it is dated now.
 */
create or replace function badges.award_rules(
  p_user_id uuid, p_rules text[], p_badge_id text default null, p_at timestamptz default null,
  p_backdate boolean default false)
returns setof badges.awards
language plpgsql
set search_path = ''
as $$
declare
  v_at timestamptz := coalesce(p_at, badges.as_of());
begin
  if p_user_id is not null and p_badge_id is null and not p_backdate then
    return query
    insert into badges.awards as a (user_id, badge_id, earned_at)
    select q.user_id, q.badge_id, v_at
    from badges.qualified q
    join badges.definitions d on d.id = q.badge_id
    where q.user_id = p_user_id
      and d.rule = any (p_rules) and d.enabled
      and (d.starts_at is null or d.starts_at <= v_at)
      and (d.ends_at is null or v_at < d.ends_at)
      and not exists (select 1 from badges.awards x
                      where x.user_id = p_user_id and x.badge_id = q.badge_id)
      and not exists (select 1 from badges.revocations r
                      where r.user_id = p_user_id and r.badge_id = q.badge_id and not r.automatic)
    order by q.badge_id
    on conflict do nothing
    returning a.*;
    return;
  end if;

  return query
  insert into badges.awards as a (user_id, badge_id, earned_at)
  select q.user_id, q.badge_id,
         coalesce(p_at, case when r.reached is not null then greatest(r.reached, d.starts_at) end, v_at)
  from badges.qualified q
  join badges.definitions d on d.id = q.badge_id
  cross join lateral (
    select case when p_backdate and d.within_days is null then
      case d.rule
        when 'metric' then (
          select e.occurred_at from badges.metric_events e
          where e.user_id = q.user_id and e.metric = d.metric and e.total >= d.threshold
          order by e.id limit 1)
        when 'distinct' then (
          select i.first_at from badges.metric_items i
          where i.user_id = q.user_id and i.metric = d.metric
          order by i.first_at offset d.threshold - 1 limit 1)
      end end as reached) r
  where (p_user_id is null or q.user_id = p_user_id)
    and (p_badge_id is null or d.id = p_badge_id)
    and d.rule = any (p_rules) and d.enabled
    and (d.starts_at is null or d.starts_at <= v_at)
    and (d.ends_at is null or v_at < d.ends_at)
    and not exists (select 1 from badges.awards x
                    where x.user_id = q.user_id and x.badge_id = q.badge_id)
    and not exists (select 1 from badges.revocations r
                    where r.user_id = q.user_id and r.badge_id = q.badge_id and not r.automatic)
  order by q.user_id, q.badge_id
  on conflict do nothing
  returning a.*;
end;
$$;
revoke execute on function badges.award_rules(uuid, text[], text, timestamptz, boolean)
  from public, anon, authenticated;
grant execute on function badges.award_rules(uuid, text[], text, timestamptz, boolean)
  to service_role;

/**
 * Award one user every badge that the rules in p_rules grant, then the composites that makes
 * due (as in the rules baseline); with p_at, windows are judged as of p_at too. Returns the ids
 * this call awarded, sorted. Callers hold badges.lock_user.
 */
create or replace function badges.award_qualifying(
  p_user_id uuid, p_rules text[], p_at timestamptz default null)
returns text[]
language plpgsql
set search_path = ''
as $$
declare
  v_awarded text[];
  v_previous text := badges.set_as_of(p_at);
begin
  select coalesce(pg_catalog.array_agg(a.badge_id), '{}') into v_awarded
  from badges.award_rules(p_user_id, p_rules, null, p_at) a;
  select v_awarded || coalesce(pg_catalog.array_agg(a.badge_id), '{}') into v_awarded
  from badges.award_composites(p_user_id, null, p_at) a;
  perform pg_catalog.set_config('badges.as_of', v_previous, true);
  return array(select pg_catalog.unnest(v_awarded) order by 1);
end;
$$;
revoke execute on function badges.award_qualifying(uuid, text[], timestamptz)
  from public, anon, authenticated;
grant execute on function badges.award_qualifying(uuid, text[], timestamptz) to service_role;

drop function if exists badges.check_badges_all(text, boolean, boolean);

/**
 * Bring every user's awards in line with the rules, set-based (as in the rules baseline): award
 * what is due, and with p_revoke remove auto_revoke badges that lapsed, windowed ones included.
 * p_at (tests, replays) runs the check as of that instant: windows are judged then, and what
 * is not backdated is dated then. Returns {awarded_count, revoked_count}.
 */
create or replace function badges.check_badges_all(
  p_badge_id text default null, p_notify boolean default false, p_revoke boolean default true,
  p_at timestamptz default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_def badges.definitions;
  v_awarded bigint;
  v_revoked integer := 0;
  v_previous text := badges.set_as_of(p_at);
begin
  if p_badge_id is not null then
    v_def := badges.definition(p_badge_id);
    if v_def.rule in ('client', 'manual') then
      raise exception using errcode = 'BD004', message = 'badge not awarded by rules',
        detail = pg_catalog.format('%L is a %s badge: there is nothing to backfill.',
                                   p_badge_id, v_def.rule);
    end if;
  end if;
  perform pg_catalog.set_config('badges.silent', case when p_notify then '' else 'on' end, true);
  select count(*) into v_awarded
  from badges.award_rules(null, badges.base_rules(), p_badge_id, null, true);
  -- A backfilled badge may complete composites: award those too (only the one when it is one).
  select v_awarded + count(*) into v_awarded
  from badges.award_composites(null, case when v_def.rule = 'all_of' then p_badge_id end, null,
                               true);
  if p_revoke then
    v_revoked := badges.revoke_lapsed(null);
  end if;
  perform pg_catalog.set_config('badges.silent', '', true);
  perform pg_catalog.set_config('badges.as_of', v_previous, true);
  return pg_catalog.jsonb_build_object('awarded_count', v_awarded, 'revoked_count', v_revoked);
end;
$$;
revoke execute on function badges.check_badges_all(text, boolean, boolean, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.check_badges_all(text, boolean, boolean, timestamptz)
  to service_role;

/* ----------------------------------------------------------------------------------------- */
/* The actions that record activity also award active_days badges                           */
/* ----------------------------------------------------------------------------------------- */

/**
 * Mark today (in the user's time zone) active and award the streak and active_days badges
 * reached (as in the activity baseline). p_at backdates the activity for tests and imports (the
 * HTTP function never sends it); the badges it causes are then judged and dated as of p_at.
 */
create or replace function badges.record_activity(
  p_user_id uuid, p_timezone text default null, p_at timestamptz default null)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_streak badges.streaks;
  v_awarded text[];
begin
  perform badges.lock_user(p_user_id);
  v_streak := badges.touch_activity(p_user_id, p_timezone, p_at);
  v_awarded := badges.award_qualifying(p_user_id, array['streak', 'active_days'], p_at);
  return pg_catalog.jsonb_build_object(
    'current_streak', badges.live_streak(v_streak, coalesce(p_at, now())),
    'longest_streak', v_streak.longest_streak,
    'awarded', pg_catalog.to_jsonb(v_awarded));
end;
$$;
revoke execute on function badges.record_activity(uuid, text, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.record_activity(uuid, text, timestamptz) to service_role;

/**
 * Record a quiz answer (as in the quiz baseline); the answer is activity, so the active_days
 * badges it completes are awarded with the streak and quiz badges.
 */
create or replace function badges.record_score(
  p_user_id uuid, p_provider_id text, p_quiz_correct boolean)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_newly boolean;
  v_awarded text[];
  v_facts record;
begin
  perform badges.lock_user(p_user_id);
  v_newly := badges.score_attempt(p_user_id, p_provider_id, p_quiz_correct);
  perform badges.touch_activity(p_user_id, null, null);
  v_awarded := badges.award_qualifying(
    p_user_id, array['streak', 'quiz_distinct', 'quiz_all', 'active_days']);
  if v_newly then
    perform badges.count_correct(p_user_id);
  end if;
  select * into v_facts from badges.user_facts(p_user_id);
  return pg_catalog.jsonb_build_object(
    'newly_correct', v_newly,
    'correct_providers', v_facts.correct_providers,
    'total_providers', v_facts.total_providers,
    'awarded', pg_catalog.to_jsonb(v_awarded));
end;
$$;
revoke execute on function badges.record_score(uuid, text, boolean) from public, anon, authenticated;
grant execute on function badges.record_score(uuid, text, boolean) to service_role;

/* ----------------------------------------------------------------------------------------- */
/* Progress                                                                                  */
/* ----------------------------------------------------------------------------------------- */

/**
 * Every badge with the user's state (as in the reads baseline). A windowed badge's current is
 * its value in the window as of now (badges.as_of), and it is shown earned only while that
 * value reaches its target: between the moment it lapses and the batch check that revokes it,
 * it reads as not earned (and is proposed as a next milestone) though the award still counts.
 */
create or replace function badges.badge_progress(p_user_id uuid)
returns table (def badges.definitions, earned_at timestamptz, current bigint, target bigint,
               unit text, unit_one text)
language sql stable
set search_path = ''
as $$
  with facts as materialized (
    select f.*, n.at,
      badges.activity_day(n.at, s.timezone, s.timezone, s.previous_timezone,
                          s.timezone_changed_at) as today
    from badges.user_facts(p_user_id) f
    cross join (select coalesce(
      nullif(pg_catalog.current_setting('badges.as_of', true), '')::timestamptz,
      pg_catalog.now()) as at) n
    left join badges.streaks s on s.user_id = p_user_id
  ), goals as (
    select d,
      (select a.earned_at from badges.awards a
       where a.user_id = p_user_id and a.badge_id = d.id) as earned_at,
      case
        when d.within_days is not null and d.rule = 'metric' then greatest(coalesce(
          (select sum(e.amount) from badges.metric_events e
           where e.user_id = p_user_id and e.metric = d.metric
             and e.occurred_at > f.at - d.within_days * interval '24 hours'
             and e.occurred_at <= f.at), 0), 0)
        when d.within_days is not null and d.rule = 'distinct' then
          (select count(distinct e.item) from badges.metric_events e
           where e.user_id = p_user_id and e.metric = d.metric
             and e.occurred_at > f.at - d.within_days * interval '24 hours'
             and e.occurred_at <= f.at)
        when d.rule = 'active_days' then
          (select count(*) from badges.activity_days a
           where a.user_id = p_user_id and a.day > f.today - d.within_days
             and a.day <= f.today)
        else case d.rule
          when 'streak' then f.current_streak
          when 'quiz_distinct' then f.correct_providers
          when 'quiz_all' then f.correct_providers
          when 'metric' then coalesce((select t.total from badges.metric_totals t
                                       where t.user_id = p_user_id and t.metric = d.metric), 0)
          when 'distinct' then coalesce((select t.distinct_count from badges.metric_totals t
                                         where t.user_id = p_user_id and t.metric = d.metric), 0)
          when 'all_of' then (select count(*) from badges.awards b
                              where b.user_id = p_user_id and b.badge_id = any (d.requires))
        end
      end as current,
      case d.rule
        when 'quiz_all' then nullif(f.total_providers, 0)
        when 'all_of' then cardinality(d.requires)
        else d.threshold
      end as target,
      case when d.metric is not null then coalesce(nullif(m.unit, ''), m.name)
        when d.rule in ('streak', 'active_days') then 'days' when d.rule = 'all_of' then 'badges'
        else 'providers' end as unit,
      case when d.metric is not null
        then coalesce(nullif(m.unit_one, ''), nullif(m.unit, ''), m.name)
        when d.rule in ('streak', 'active_days') then 'day' when d.rule = 'all_of' then 'badge'
        else 'provider' end as unit_one
    from badges.definitions d
    cross join facts f
    left join badges.metrics m on m.id = d.metric
  ), held as (
    select d, case when (d).within_days is null or current >= target then earned_at end
             as earned_at,
           current, target, unit, unit_one
    from goals
  )
  select d, earned_at,
         case when target is null then null
              when earned_at is not null then target else least(current, target) end,
         target, unit, unit_one
  from held
$$;
revoke execute on function badges.badge_progress(uuid) from public, anon, authenticated;
grant execute on function badges.badge_progress(uuid) to service_role;
