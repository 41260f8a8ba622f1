/**
 * The rules engine: one view says which (user, badge) pairs each automatic rule grants, and the
 * awarding functions insert from it set-based, for one user (the request path) or for every user
 * (the batch check, backfill). Composite badges (all_of) are awarded after the badges they
 * require, until nothing more is due.
 */

/**
 * The pairs the base automatic rules grant, whether or not the badge is enabled, in its window,
 * or already awarded (the callers decide that). A query filtered by user_id is pushed into every
 * branch, so the request path reads one user's rows by primary key.
 */
create or replace view badges.qualified with (security_invoker = true) as
  select t.user_id, d.id as badge_id
  from badges.metric_totals t
  join badges.definitions d
    on d.rule in ('metric', 'distinct') and d.metric = t.metric
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
        and q.correct >= (select count(*) from badges.quiz_providers p where p.active));
revoke all on badges.qualified from public, anon, authenticated;
grant select on badges.qualified to service_role;

/** Whether a badge may be awarded now: enabled and inside its active window. */
create or replace function badges.awardable(d badges.definitions, p_at timestamptz default now())
returns boolean
language sql stable
set search_path = ''
as $$
  select d.enabled and (d.starts_at is null or d.starts_at <= p_at)
     and (d.ends_at is null or p_at < d.ends_at)
$$;
revoke execute on function badges.awardable(badges.definitions, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.awardable(badges.definitions, timestamptz) to service_role;

/**
 * Award what the base rules in p_rules grant: to p_user_id, or to every user when it is null;
 * only p_badge_id when given. Skips disabled badges, badges outside their window, awards that
 * exist and badges a service revoked by hand. p_at (a dated event) is when the award happens:
 * the window is judged then, and it is earned_at. Else earned_at is (p_backdate) when the goal was
 * reached where the record says (the first metric event whose total reached the threshold; the
 * threshold-th distinct item), never before the window opened, else now. Returns the rows
 * inserted.
 * The window test and the look-ups are written out, not called: a backfill runs them per row.
 */
create or replace function badges.award_rules(
  p_user_id uuid, p_rules text[], p_badge_id text default null, p_at timestamptz default null,
  p_backdate boolean default false)
returns setof badges.awards
language plpgsql
set search_path = ''
as $$
begin
  return query
  insert into badges.awards as a (user_id, badge_id, earned_at)
  select q.user_id, q.badge_id,
         coalesce(p_at, case when r.reached is not null then greatest(r.reached, d.starts_at) end, now())
  from badges.qualified q
  join badges.definitions d on d.id = q.badge_id
  cross join lateral (
    select case when p_backdate then
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
    and (d.starts_at is null or d.starts_at <= coalesce(p_at, now()))
    and (d.ends_at is null or coalesce(p_at, now()) < d.ends_at)
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
 * Award the composite (all_of) badges whose required badges are all earned: to p_user_id, or to
 * every user when null; only p_badge_id when given. Repeats until nothing more is due, so a
 * composite of composites is awarded in the same call. p_at (a dated event) is when the award
 * happens, as in award_rules. Else earned_at is (p_backdate) when the last required badge was
 * earned, never before the window opened, else now. Returns the rows inserted.
 */
create or replace function badges.award_composites(
  p_user_id uuid, p_badge_id text default null, p_at timestamptz default null,
  p_backdate boolean default false)
returns setof badges.awards
language plpgsql
set search_path = ''
as $$
declare
  v_rows integer;
begin
  loop
    return query
    insert into badges.awards as a (user_id, badge_id, earned_at)
    select e.user_id, d.id,
           coalesce(p_at, case when p_backdate then greatest(max(e.earned_at), d.starts_at) end,
                    now())
    from badges.definitions d
    join badges.awards e on e.badge_id = any (d.requires)
    where d.rule = 'all_of' and d.enabled
      and (d.starts_at is null or d.starts_at <= coalesce(p_at, now()))
      and (d.ends_at is null or coalesce(p_at, now()) < d.ends_at)
      and (p_user_id is null or e.user_id = p_user_id)
      and (p_badge_id is null or d.id = p_badge_id)
      and not exists (select 1 from badges.awards x where x.user_id = e.user_id and x.badge_id = d.id)
      and not exists (select 1 from badges.revocations r
                      where r.user_id = e.user_id and r.badge_id = d.id and not r.automatic)
    group by e.user_id, d.id, d.requires, d.starts_at
    having count(*) = cardinality(d.requires)
    order by e.user_id, d.id
    on conflict do nothing
    returning a.*;
    get diagnostics v_rows = row_count;
    exit when v_rows = 0;
  end loop;
end;
$$;
revoke execute on function badges.award_composites(uuid, text, timestamptz, boolean)
  from public, anon, authenticated;
grant execute on function badges.award_composites(uuid, text, timestamptz, boolean)
  to service_role;

drop function if exists badges.award_qualifying(uuid, text[]);

/**
 * Award one user every badge that the rules in p_rules grant, then the composites that makes
 * due. Returns the ids this call awarded, sorted. Callers hold badges.lock_user.
 */
create or replace function badges.award_qualifying(
  p_user_id uuid, p_rules text[], p_at timestamptz default null)
returns text[]
language plpgsql
set search_path = ''
as $$
declare
  v_awarded text[];
begin
  select coalesce(pg_catalog.array_agg(a.badge_id), '{}') into v_awarded
  from badges.award_rules(p_user_id, p_rules, null, p_at) a;
  select v_awarded || coalesce(pg_catalog.array_agg(a.badge_id), '{}') into v_awarded
  from badges.award_composites(p_user_id, null, p_at) a;
  return array(select pg_catalog.unnest(v_awarded) order by 1);
end;
$$;
revoke execute on function badges.award_qualifying(uuid, text[], timestamptz)
  from public, anon, authenticated;
grant execute on function badges.award_qualifying(uuid, text[], timestamptz) to service_role;

/** Every automatic rule kind but all_of (which award_composites handles). */
create or replace function badges.base_rules()
returns text[]
language sql immutable
set search_path = ''
as $$
  select array['metric', 'distinct', 'streak', 'quiz_distinct', 'quiz_all']
$$;
revoke execute on function badges.base_rules() from public, anon, authenticated;
grant execute on function badges.base_rules() to service_role;

/**
 * Remove the auto_revoke badges whose rule no longer holds (a metric went down, a required badge
 * was revoked), for p_user_id or every user; each removal is logged in revocations as automatic,
 * so the rules may award the badge again. Returns how many were removed.
 */
create or replace function badges.revoke_lapsed(p_user_id uuid)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_rows integer;
  v_total integer := 0;
begin
  loop
    with lapsed as (
      select a.user_id, a.badge_id
      from badges.awards a
      join badges.definitions d on d.id = a.badge_id and d.auto_revoke and d.enabled
      where (p_user_id is null or a.user_id = p_user_id)
        and case when d.rule = 'all_of' then
              (select count(*) from badges.awards b
               where b.user_id = a.user_id and b.badge_id = any (d.requires))
              < cardinality(d.requires)
            else not exists (select 1 from badges.qualified q
                             where q.user_id = a.user_id and q.badge_id = a.badge_id)
            end
    ), removed as (
      delete from badges.awards a using lapsed l
      where a.user_id = l.user_id and a.badge_id = l.badge_id
      returning a.user_id, a.badge_id, a.earned_at
    )
    insert into badges.revocations (user_id, badge_id, earned_at, reason, revoked_by, automatic)
    select user_id, badge_id, earned_at, 'rule no longer holds', 'auto_revoke', true
    from removed order by user_id, badge_id;
    get diagnostics v_rows = row_count;
    v_total := v_total + v_rows;
    exit when v_rows = 0;
  end loop;
  return v_total;
end;
$$;
revoke execute on function badges.revoke_lapsed(uuid) from public, anon, authenticated;
grant execute on function badges.revoke_lapsed(uuid) to service_role;

/**
 * Bring every user's awards in line with the rules, set-based: award what is due (only
 * p_badge_id when given; earned_at backdated to when the goal was reached where the record
 * says), and with p_revoke remove auto_revoke badges that lapsed. Without p_notify no
 * notification is written (a backfill is silent). Returns {awarded_count, revoked_count}.
 */
create or replace function badges.check_badges_all(
  p_badge_id text default null, p_notify boolean default false, p_revoke boolean default true)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_def badges.definitions;
  v_awarded bigint;
  v_revoked integer := 0;
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
  return pg_catalog.jsonb_build_object('awarded_count', v_awarded, 'revoked_count', v_revoked);
end;
$$;
revoke execute on function badges.check_badges_all(text, boolean, boolean)
  from public, anon, authenticated;
grant execute on function badges.check_badges_all(text, boolean, boolean) to service_role;

/**
 * One user's check of every automatic badge: award what is due, remove auto_revoke badges that
 * lapsed. Returns {awarded, revoked}.
 */
create or replace function badges.check_badges(p_user_id uuid)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_awarded text[];
begin
  perform badges.lock_user(p_user_id);
  v_awarded := badges.award_qualifying(p_user_id, badges.base_rules());
  return pg_catalog.jsonb_build_object(
    'awarded', pg_catalog.to_jsonb(v_awarded), 'revoked', badges.revoke_lapsed(p_user_id));
end;
$$;
revoke execute on function badges.check_badges(uuid) from public, anon, authenticated;
grant execute on function badges.check_badges(uuid) to service_role;

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
 * Count one event of a metric for a user and award what the new total reaches, in this
 * transaction. A total never goes below 0. With p_key, a repeat of the same event (same key,
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
    insert into badges.metric_totals as t (user_id, metric, total, distinct_count)
    values (p_user_id, p_metric, greatest(p_amount, 0), v_new_item)
    on conflict (user_id, metric) do update set
      total = greatest(t.total + p_amount, 0), distinct_count = t.distinct_count + v_new_item,
      updated_at = now()
    returning * into v_totals;
    insert into badges.metric_events
      (user_id, metric, amount, total, item, idempotency_key, occurred_at)
    values (p_user_id, p_metric, p_amount, v_totals.total, p_item, p_key, coalesce(p_at, now()));
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

/**
 * Award one badge, idempotently. p_client says the caller is the user's own client, which may
 * only award badges whose rule is 'client'. No new award outside the badge's window (BD006).
 * Composite badges the award completes are awarded too. Returns {awarded, earned_at, badge}:
 * awarded is true only when this call created the award.
 */
create or replace function badges.award_badge(p_user_id uuid, p_badge_id text, p_client boolean)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_def badges.definitions := badges.definition(p_badge_id);
  v_earned_at timestamptz;
begin
  perform badges.lock_user(p_user_id);
  if p_client and v_def.rule <> 'client' then
    raise exception using errcode = 'BD003', message = 'badge not client-awardable',
      detail = pg_catalog.format('The badge %L can only be awarded by the server.', p_badge_id);
  end if;
  select earned_at into v_earned_at from badges.awards
  where user_id = p_user_id and badge_id = p_badge_id;
  if not found then
    if not badges.awardable(v_def) then
      raise exception using errcode = 'BD006', message = 'badge not available now',
        detail = pg_catalog.format('%L can be earned only%s%s.', p_badge_id,
          ' from ' || v_def.starts_at, ' until ' || v_def.ends_at);
    end if;
    -- ON CONFLICT still: the batch check awards without taking the user's lock.
    insert into badges.awards (user_id, badge_id) values (p_user_id, p_badge_id)
    on conflict do nothing
    returning earned_at into v_earned_at;
    if v_earned_at is not null then
      perform badges.award_composites(p_user_id);
      return pg_catalog.jsonb_build_object(
        'awarded', true, 'earned_at', v_earned_at, 'badge', badges.badge_json(v_def));
    end if;
    select earned_at into v_earned_at from badges.awards
    where user_id = p_user_id and badge_id = p_badge_id;
  end if;
  return pg_catalog.jsonb_build_object(
    'awarded', false, 'earned_at', v_earned_at, 'badge', badges.badge_json(v_def));
end;
$$;

/** The daily batch for streak badges (v1): award them to every user who reached them. */
create or replace function badges.check_streaks_all()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_awarded bigint;
begin
  select count(*) into v_awarded from badges.award_rules(null, array['streak']);
  select v_awarded + count(*) into v_awarded from badges.award_composites(null);
  return pg_catalog.jsonb_build_object(
    'users_checked', (select count(*) from badges.streaks), 'awarded_count', v_awarded);
end;
$$;
