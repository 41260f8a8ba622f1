/**
 * The rules engine: one view says which (user, badge) pairs each automatic rule grants, and the
 * awarding functions insert from it set-based, for one user (the request path) or for every user
 * (the batch check, backfill). Composite badges (all_of) are awarded after the badges they
 * require, until nothing more is due. Per-user statements are written for one user, so their
 * plans are cached, not re-planned.
 *
 * A windowed rule (definitions.within_days: metric, distinct, active_days) is judged as of an
 * instant t: for events, t - within_days x 24 hours < occurred_at <= t (hours, not days: "7 days"
 * subtracted in a session whose zone changes clocks that week would be 167 or 169 hours, and the
 * window must not depend on the session); for active days, the within_days calendar days ending
 * with the user's today at t (the day activity at t counts for, badges.activity_day, as the
 * streaks use). t is the engine's "now": now(), or the instant a dated call (track,
 * record_activity with p_at; check_badges_all with p_at) runs as of, which those functions
 * publish in the transaction-local setting badges.as_of (read by the qualified view, which
 * cannot take an argument and must stay a view: a user filter is pushed into every branch of
 * it). A windowed badge is removed by the batch check (revoke_lapsed, logged as an automatic
 * revocation, which writes no notification) when its rule no longer holds.
 */

/**
 * The instant the rules judge windows at: the transaction's badges.as_of when a dated call set
 * it (badges.set_as_of), else now(). The qualified view and badge_progress write the same
 * expression out rather than call this: a function with SET search_path is not inlined.
 */
create or replace function badges.as_of()
returns timestamptz
language plpgsql stable
set search_path = ''
as $$
begin
  return coalesce(nullif(pg_catalog.current_setting('badges.as_of', true), '')::timestamptz,
                  pg_catalog.now());
end;
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

/** What the rules look at for one user, as of p_at. */
create or replace function badges.user_facts(p_user_id uuid, p_at timestamptz default now())
returns table (
  current_streak integer, longest_streak integer, correct_providers integer, total_providers integer)
language plpgsql stable
set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
    select
      coalesce((select badges.live_streak(s, p_at)
                from badges.streaks s where s.user_id = p_user_id), 0),
      coalesce((select s.longest_streak from badges.streaks s where s.user_id = p_user_id), 0),
      (select count(*)::integer from badges.quiz_scores q
         join badges.quiz_providers p on p.id = q.provider_id and p.active
       where q.user_id = p_user_id and q.quiz_correct),
      (select count(*)::integer from badges.quiz_providers p where p.active);
end;
$$;
revoke execute on function badges.user_facts(uuid, timestamptz) from public, anon, authenticated;
grant execute on function badges.user_facts(uuid, timestamptz) to service_role;

/**
 * The pairs the base automatic rules grant, whether or not the badge is enabled, in its window,
 * or already awarded (the callers decide that). A query filtered by user_id is pushed into every
 * branch, so the request path reads one user's rows by primary key. The windowed rules are
 * judged as of badges.as_of (else now); each windowed branch starts from the user's row
 * (metric_totals, streaks), so a user filter is pushed into it and it reads that user's window
 * by key (metric_events_user_metric_at_idx); the batch reads it once per user who has the
 * metric or any activity.
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
        >= d.threshold
  union all
  -- A final place within the top threshold of an archived period (threshold <= 100: the
  -- placings keep ranks up to 100).
  select distinct x.user_id, d.id
  from badges.board_placings x
  join badges.definitions d on d.rule = 'rank' and d.board = x.board_id and x.rank <= d.threshold;
revoke all on badges.qualified from public, anon, authenticated;
grant select on badges.qualified to service_role;

/** Whether a badge may be awarded now: enabled and inside its active window. */
create or replace function badges.awardable(d badges.definitions, p_at timestamptz default now())
returns boolean
language plpgsql stable
set search_path = ''
as $$
begin
  return d.enabled and (d.starts_at is null or d.starts_at <= p_at)
     and (d.ends_at is null or p_at < d.ends_at);
end;
$$;
revoke execute on function badges.awardable(badges.definitions, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.awardable(badges.definitions, timestamptz) to service_role;

/** Every automatic rule kind but all_of (which award_composites handles). */
create or replace function badges.base_rules()
returns text[]
language plpgsql immutable
set search_path = ''
as $$
begin
  return array['metric', 'distinct', 'streak', 'quiz_distinct', 'quiz_all', 'active_days',
               'rank'];
end;
$$;
revoke execute on function badges.base_rules() from public, anon, authenticated;
grant execute on function badges.base_rules() to service_role;

/**
 * Award what the base rules in p_rules grant: to p_user_id, or to every user when it is null;
 * only p_badge_id when given. Skips disabled badges, badges outside their window, awards that
 * exist and badges a service revoked by hand. p_at (a dated event) is when the award happens:
 * the window is judged then, and it is earned_at. Else earned_at is (p_backdate) when the goal was
 * reached where the record says (the first metric event whose total reached the threshold; the
 * threshold-th distinct item), never before the window opened, else now. "Now" is
 * badges.as_of(): the instant a dated call runs as of, else now(). A windowed badge is not
 * backdated: its goal holds as of now, whenever it was first reached, so it is dated now.
 * Returns the rows inserted.
 * The request path (one user, no badge filter, no backdating) has a statement of its own, whose
 * plan is cached: the general one would be planned anew per call (a generic plan for
 * "p_user_id is null or user_id = p_user_id" cannot use the user's index).
 * The window test and the look-ups are written out, not called: a backfill runs them per row.
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
 * Award the composite (all_of) badges whose required badges are all earned: to p_user_id, or to
 * every user when null; only p_badge_id when given. Repeats until nothing more is due, so a
 * composite of composites is awarded in the same call. p_at (a dated event) is when the award
 * happens, as in award_rules. Else earned_at is (p_backdate) when the last required badge was
 * earned, never before the window opened, else now. Returns the rows inserted.
 * Nothing to do, and no statement run, when no enabled composite exists; one user's check has a
 * statement of its own, as in award_rules.
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
  if not exists (select from badges.definitions d where d.rule = 'all_of' and d.enabled) then
    return;
  end if;
  loop
    if p_user_id is not null and p_badge_id is null and not p_backdate then
      return query
      insert into badges.awards as a (user_id, badge_id, earned_at)
      select p_user_id, d.id, coalesce(p_at, now())
      from badges.definitions d
      where d.rule = 'all_of' and d.enabled
        and (d.starts_at is null or d.starts_at <= coalesce(p_at, now()))
        and (d.ends_at is null or coalesce(p_at, now()) < d.ends_at)
        and (select count(*) from badges.awards e
             where e.user_id = p_user_id and e.badge_id = any (d.requires))
            = cardinality(d.requires)
        and not exists (select 1 from badges.awards x where x.user_id = p_user_id and x.badge_id = d.id)
        and not exists (select 1 from badges.revocations r
                        where r.user_id = p_user_id and r.badge_id = d.id and not r.automatic)
      order by d.id
      on conflict do nothing
      returning a.*;
    else
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
    end if;
    get diagnostics v_rows = row_count;
    exit when v_rows = 0;
  end loop;
end;
$$;
revoke execute on function badges.award_composites(uuid, text, timestamptz, boolean)
  from public, anon, authenticated;
grant execute on function badges.award_composites(uuid, text, timestamptz, boolean)
  to service_role;

/**
 * Award one user every badge that the rules in p_rules grant, then the composites that makes
 * due; with p_at, windows are judged as of p_at too. Returns the ids this call awarded, sorted.
 * Callers hold badges.lock_user.
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
 * says), and with p_revoke remove auto_revoke badges that lapsed, windowed ones included.
 * Without p_notify no notification is written (a backfill is silent). p_at (tests, replays)
 * runs the check as of that instant: windows are judged then, and what is not backdated is
 * dated then. Returns {awarded_count, revoked_count}.
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

/**
 * One user's check of every automatic badge: award what is due, remove auto_revoke badges that
 * lapsed. Returns {awarded, revoked}.
 */
create or replace function badges.check_badges(p_user_id uuid)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
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
