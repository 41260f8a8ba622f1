-- The badges schema as supabase/migrations leave it: generated, never edited by hand.
-- Read it for the current definition of every table, view, function, trigger, index, policy
-- and grant in one place; databases apply the migrations, never this file.
--
-- Until the first release a change edits the migration file of its concern in place (each
-- object stays defined once); after it, a later change is a new migration file,
-- supabase/migrations/<version>_badges_<concern>.sql, its version above the last one. Either
-- way this file is regenerated in the same change:
--   make schema  (or: .venv/bin/python -m badges.schema_snapshot)
-- tests/sql/test_schema_snapshot.py fails while it is stale.

--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: badges; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA badges;

--
-- Name: activity_day(timestamp with time zone, text, text, text, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.activity_day(p_at timestamp with time zone, p_timezone text, p_stored text, p_previous text, p_changed_at timestamp with time zone) RETURNS date
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return least(
    (p_at at time zone p_timezone)::date,
    (p_at at time zone coalesce(p_stored, p_timezone))::date,
    case when p_at < p_changed_at + interval '24 hours'
      then (p_at at time zone p_previous)::date end);
end;
$$;

--
-- Name: after_awards_delete(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.after_awards_delete() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  with removed as (
    select user_id, count(*)::integer as n from old_awards group by user_id
  ), stats as (
    update badges.user_stats s
    set badge_count = s.badge_count - r.n,
        badge_count_at = (select max(a.earned_at) from badges.awards a where a.user_id = s.user_id)
    from removed r
    where s.user_id = r.user_id
    returning s.user_id, s.badge_count
  ), board as (
    insert into badges.board_deltas (board, value, users)
    select 'badge_count', value, sum(users) from (
      select s.badge_count + r.n as value, -1 as users
      from stats s join removed r on r.user_id = s.user_id
      union all
      select s.badge_count, 1 from stats s where s.badge_count > 0) moves
    group by value having sum(users) <> 0
  )
  insert into badges.rarity_deltas (badge_id, holders)
  select badge_id, -count(*) from old_awards group by badge_id;

  if exists (select 1 from badges.leaderboards l where l.metric = 'badge_count' and l.enabled) then
    perform badges.bump_boards('badge_count', pg_catalog.array_agg(o.user_id),
                               pg_catalog.array_agg(-1::bigint), pg_catalog.array_agg(now()))
    from old_awards o;
  end if;
  return null;
end;
$$;

--
-- Name: after_awards_insert(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.after_awards_insert() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  with added as (
    select user_id, count(*)::integer as n, max(earned_at) as at
    from new_awards group by user_id
  ), stats as (
    insert into badges.user_stats as s (user_id, badge_count, badge_count_at)
    select user_id, n, at from added order by user_id
    on conflict (user_id) do update
      set badge_count = s.badge_count + excluded.badge_count,
          badge_count_at = excluded.badge_count_at
    returning s.user_id, s.badge_count
  ), board as (
    insert into badges.board_deltas (board, value, users)
    select 'badge_count', value, sum(users) from (
      select s.badge_count as value, 1 as users from stats s
      union all
      select s.badge_count - a.n, -1 from stats s join added a on a.user_id = s.user_id
      where s.badge_count > a.n) moves
    group by value having sum(users) <> 0
  ), rarity as (
    insert into badges.rarity_deltas (badge_id, holders)
    select badge_id, count(*) from new_awards group by badge_id
  ), events as (
    -- The event id is the outbox's dedupe key: one row per award. A badge earned again after a
    -- revocation (a lapsed dynamic badge, a service's award after a revoke) is a new award, so
    -- its id also names the instant.
    select n.user_id, n.badge_id, d.earned_text as message,
           pg_catalog.jsonb_build_object(
             'type', 'badge.earned',
             'id', 'badge.earned:' || n.user_id || ':' || n.badge_id
               || case when exists (select 1 from badges.revocations r
                                    where r.user_id = n.user_id and r.badge_id = n.badge_id)
                  then ':' || (extract(epoch from n.earned_at) * 1000000)::bigint else '' end,
             'user_id', n.user_id, 'badge', d.event_badge, 'earned_at', n.earned_at,
             'message', d.earned_text) as payload
    from new_awards n join badges.definitions d on d.id = n.badge_id
    where d.notify
      and pg_catalog.current_setting('badges.silent', true) is distinct from 'on'
  ), inbox as (
    insert into badges.notifications (user_id, kind, badge_id, message)
    select user_id, 'badge.earned', badge_id, message from events order by user_id, badge_id
  )
  insert into badges.outbox (dedupe_key, kind, user_id, badge_id, payload)
  select payload ->> 'id', 'badge.earned', user_id, badge_id, payload
  from events order by user_id, badge_id
  on conflict (dedupe_key) do nothing;

  if exists (select 1 from badges.leaderboards l where l.metric = 'badge_count' and l.enabled) then
    perform badges.bump_boards('badge_count', pg_catalog.array_agg(n.user_id),
                               pg_catalog.array_agg(1::bigint), pg_catalog.array_agg(n.earned_at))
    from new_awards n;
  end if;
  if pg_catalog.random() < 0.015625 then
    perform badges.fold_counts();
  end if;
  return null;
end;
$$;

--
-- Name: after_board_counts_change(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.after_board_counts_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if tg_op = 'INSERT' then
    perform badges.move_board_buckets(pg_catalog.array_agg(n.board), pg_catalog.array_agg(n.period),
                                      pg_catalog.array_agg(n.value), pg_catalog.array_agg(n.users))
    from new_counts n where n.value > 0;
  elsif tg_op = 'UPDATE' then
    perform badges.move_board_buckets(pg_catalog.array_agg(c.board), pg_catalog.array_agg(c.period),
                                      pg_catalog.array_agg(c.value), pg_catalog.array_agg(c.users))
    from (select n.board, n.period, n.value, n.users from new_counts n where n.value > 0
          union all
          select o.board, o.period, o.value, -o.users from old_counts o where o.value > 0) c;
  else
    perform badges.move_board_buckets(pg_catalog.array_agg(o.board), pg_catalog.array_agg(o.period),
                                      pg_catalog.array_agg(o.value), pg_catalog.array_agg(-o.users))
    from old_counts o where o.value > 0;
  end if;
  return null;
end;
$$;

--
-- Name: archive_boards(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.archive_boards() RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_due record;
  v_archived integer := 0;
begin
  for v_due in
    select l as board, p.period
    from badges.leaderboards l
    cross join lateral (
      select badges.board_period(l, b.starts_at - interval '1 microsecond') as period
      from badges.period_bounds(l, badges.board_period(l, pg_catalog.now())) b
      where l.period in ('daily', 'weekly', 'monthly')
      union
      select (l.starts_at at time zone l.timezone)::date where l.period = 'season'
      union
      select c.period from badges.board_counts c where c.board = l.id
      union
      select c.period from badges.board_deltas c where c.board = l.id) p
    cross join lateral badges.period_bounds(l, p.period) b
    where l.enabled and l.period <> 'all_time' and p.period is not null
      and badges.period_final(b.ends_at)
      and (b.ends_at > l.created_at
           or exists (select 1 from badges.board_entries e
                      where e.board_id = l.id and e.period = p.period))
      and not exists (select 1 from badges.board_periods x
                      where x.board_id = l.id and x.period = p.period)
    order by l.id, p.period
  loop
    if badges.archive_period(v_due.board, v_due.period) then
      v_archived := v_archived + 1;
    end if;
  end loop;
  return v_archived;
end;
$$;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: leaderboards; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.leaderboards (
    id text NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    metric text NOT NULL,
    period text DEFAULT 'all_time'::text NOT NULL,
    timezone text DEFAULT 'UTC'::text NOT NULL,
    week_start smallint DEFAULT 1 NOT NULL,
    starts_at timestamp with time zone,
    ends_at timestamp with time zone,
    sort_order integer DEFAULT 0 NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT leaderboards_id_check CHECK (((id ~ '^[A-Za-z0-9_.:-]{1,64}$'::text) AND (id <> ALL (ARRAY['badge_count'::text, 'correct_count'::text])))),
    CONSTRAINT leaderboards_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT leaderboards_period_check CHECK ((period = ANY (ARRAY['all_time'::text, 'daily'::text, 'weekly'::text, 'monthly'::text, 'season'::text]))),
    CONSTRAINT leaderboards_week_start_check CHECK (((week_start >= 1) AND (week_start <= 7))),
    CONSTRAINT season_has_window CHECK (((period = 'season'::text) = ((starts_at IS NOT NULL) AND (ends_at IS NOT NULL)))),
    CONSTRAINT season_is_ordered CHECK ((starts_at < ends_at))
);

--
-- Name: archive_period(badges.leaderboards, date); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.archive_period(p_board badges.leaderboards, p_period date) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_counts record;
  v_last integer;
begin
  if exists (select 1 from badges.board_periods p
             where p.board_id = p_board.id and p.period = p_period) then
    return false;
  end if;
  perform pg_catalog.pg_advisory_xact_lock(badges.period_lock(p_board.id, p_period));
  select * into v_counts from badges.board_values(p_board.id, p_period);
  insert into badges.board_periods (board_id, period, starts_at, ends_at, total)
  select p_board.id, p_period, b.starts_at, b.ends_at, v_counts.total
  from badges.period_bounds(p_board, p_period) b
  on conflict do nothing;
  if not found then
    return false;
  end if;
  -- The values ranked 100 or better: the entries at them are the placings.
  v_last := badges.last_within(v_counts.ranks, 100);
  if v_last > 0 then
    insert into badges.board_placings (board_id, period, user_id, rank, value)
    select p_board.id, p_period, e.user_id,
           v_counts.ranks[pg_catalog.array_position(v_counts.vals, e.value)], e.value
    from badges.board_entries e
    where e.board_id = p_board.id and e.period = p_period and e.value > 0
      and e.value >= v_counts.vals[v_last]
    order by e.user_id;
  end if;

  perform 1
  from badges.definitions d
  cross join lateral badges.award_rules(null, array['rank'], d.id) a
  where d.rule = 'rank' and d.board = p_board.id and d.enabled;
  return true;
end;
$$;

--
-- Name: around_me(uuid, text, text, integer); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.around_me(p_user_id uuid, p_board_id text, p_period text, p_radius integer) RETURNS json
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
declare
  v_open record;
  v_mine badges.board_entries;
  v_values bigint[];
  v_users uuid[];
  v_top bigint;
  v_rank bigint;
  v_ranks bigint[];
  v_my_rank bigint;
  v_count record;
  v_entries json;
  v_me json;
begin
  if p_radius is null or p_radius not between 1 and 25 then
    raise exception using errcode = 'BD004', message = 'radius must be between 1 and 25';
  end if;
  select * into v_open from badges.open_board(p_board_id, p_period);
  select * into v_mine from badges.board_entries e
  where e.board_id = p_board_id and e.period = v_open.period and e.user_id = p_user_id
    and e.value > 0;
  if found then
    with above as (
      select * from (
        (select e.value, e.at, e.user_id from badges.board_entries e
         where e.board_id = p_board_id and e.period = v_open.period and e.value > 0
           and e.value = v_mine.value and (e.at, e.user_id) < (v_mine.at, v_mine.user_id)
         order by e.at desc, e.user_id desc limit p_radius)
        union all
        (select e.value, e.at, e.user_id from badges.board_entries e
         where e.board_id = p_board_id and e.period = v_open.period and e.value > 0
           and e.value > v_mine.value
         order by e.value, e.at desc, e.user_id desc limit p_radius)) a
      order by value, at desc, user_id desc limit p_radius
    ), below as (
      select * from (
        (select e.value, e.at, e.user_id from badges.board_entries e
         where e.board_id = p_board_id and e.period = v_open.period and e.value > 0
           and e.value = v_mine.value and (e.at, e.user_id) > (v_mine.at, v_mine.user_id)
         order by e.at, e.user_id limit p_radius)
        union all
        (select e.value, e.at, e.user_id from badges.board_entries e
         where e.board_id = p_board_id and e.period = v_open.period and e.value > 0
           and e.value < v_mine.value
         order by e.value desc, e.at, e.user_id limit p_radius)) b
      order by value desc, at, user_id limit p_radius
    ), window_ as (
      select value, at, user_id from above
      union all select v_mine.value, v_mine.at, v_mine.user_id
      union all select value, at, user_id from below
    )
    select pg_catalog.array_agg(w.value order by w.value desc, w.at, w.user_id),
           pg_catalog.array_agg(w.user_id order by w.value desc, w.at, w.user_id)
    into v_values, v_users from window_ w;
    v_top := v_values[1];
  end if;
  select * into v_count from badges.board_count(p_board_id, v_open.period, v_top);
  if v_top is not null then
    v_rank := 1 + badges.board_above(p_board_id, v_open.period, v_top);
    v_ranks := badges.run_ranks(v_values, v_rank, v_count.at_value);
    select pg_catalog.json_agg(pg_catalog.json_build_object(
             'rank', v_ranks[u.n], 'user_id', u.user_id, 'value', u.value) order by u.n),
           pg_catalog.max(v_ranks[u.n]) filter (where u.user_id = p_user_id)
    into v_entries, v_my_rank
    from rows from (pg_catalog.unnest(v_values), pg_catalog.unnest(v_users))
           with ordinality u(value, user_id, n);
    v_me := pg_catalog.json_build_object(
      'rank', v_my_rank, 'user_id', p_user_id, 'value', v_mine.value);
  end if;
  return pg_catalog.json_build_object(
    'board', badges.board_json(v_open.board),
    'period', badges.period_json(v_open.board, v_open.period, v_open.starts_at, v_open.ends_at,
                                 v_open.final),
    'entries', coalesce(v_entries, '[]'::json), 'me', v_me, 'total', v_count.total);
end;
$$;

--
-- Name: as_of(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.as_of() RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return coalesce(nullif(pg_catalog.current_setting('badges.as_of', true), '')::timestamptz,
                  pg_catalog.now());
end;
$$;

--
-- Name: award_badge(uuid, text, boolean); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.award_badge(p_user_id uuid, p_badge_id text, p_client boolean) RETURNS json
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_def record;
  v_earned_at timestamptz;
begin
  -- The definition and the user's award of it, if any, in one read by key.
  select d.rule, d.wire_json, d.starts_at, d.ends_at, a.earned_at
  into v_def
  from badges.definitions d
  left join badges.awards a on a.user_id = p_user_id and a.badge_id = d.id
  where d.id = p_badge_id and d.enabled;
  if not found then
    raise exception using errcode = 'BD001', message = 'unknown badge',
      detail = pg_catalog.format('No enabled badge has the id %L.', p_badge_id);
  end if;
  if p_client and v_def.rule <> 'client' then
    raise exception using errcode = 'BD003', message = 'badge not client-awardable',
      detail = pg_catalog.format('The badge %L can only be awarded by the server.', p_badge_id);
  end if;
  if v_def.earned_at is not null then
    return pg_catalog.json_build_object(
      'awarded', false, 'earned_at', v_def.earned_at, 'badge', v_def.wire_json);
  end if;

  if (v_def.starts_at is not null and now() < v_def.starts_at)
     or (v_def.ends_at is not null and now() >= v_def.ends_at) then
    raise exception using errcode = 'BD006', message = 'badge not available now',
      detail = pg_catalog.format('%L can be earned only%s%s.', p_badge_id,
        ' from ' || v_def.starts_at, ' until ' || v_def.ends_at);
  end if;
  perform badges.lock_user(p_user_id);
  -- ON CONFLICT still: a concurrent call, or the batch check, may have awarded it meanwhile.
  insert into badges.awards (user_id, badge_id) values (p_user_id, p_badge_id)
  on conflict do nothing
  returning earned_at into v_earned_at;
  if v_earned_at is null then
    select a.earned_at into v_earned_at from badges.awards a
    where a.user_id = p_user_id and a.badge_id = p_badge_id;
    return pg_catalog.json_build_object(
      'awarded', false, 'earned_at', v_earned_at, 'badge', v_def.wire_json);
  end if;
  if exists (select from badges.definitions c
             where c.rule = 'all_of' and c.enabled and p_badge_id = any (c.requires)) then
    perform badges.award_composites(p_user_id);
  end if;
  return pg_catalog.json_build_object(
    'awarded', true, 'earned_at', v_earned_at, 'badge', v_def.wire_json);
end;
$$;

--
-- Name: awards; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.awards (
    user_id uuid NOT NULL,
    badge_id text NOT NULL,
    earned_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: award_composites(uuid, text, timestamp with time zone, boolean); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.award_composites(p_user_id uuid, p_badge_id text DEFAULT NULL::text, p_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_backdate boolean DEFAULT false) RETURNS SETOF badges.awards
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: award_qualifying(uuid, text[], timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.award_qualifying(p_user_id uuid, p_rules text[], p_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS text[]
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: award_rules(uuid, text[], text, timestamp with time zone, boolean); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.award_rules(p_user_id uuid, p_rules text[], p_badge_id text DEFAULT NULL::text, p_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_backdate boolean DEFAULT false) RETURNS SETOF badges.awards
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: definitions; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.definitions (
    id text NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    icon text DEFAULT ''::text NOT NULL,
    category text DEFAULT 'general'::text NOT NULL,
    tier text DEFAULT 'bronze'::text NOT NULL,
    rule text NOT NULL,
    threshold integer,
    hidden boolean DEFAULT false NOT NULL,
    sort_order integer DEFAULT 0 NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    metric text,
    requires text[] DEFAULT '{}'::text[] NOT NULL,
    auto_revoke boolean DEFAULT false NOT NULL,
    starts_at timestamp with time zone,
    ends_at timestamp with time zone,
    label_key text,
    description_key text,
    notify boolean DEFAULT true NOT NULL,
    wire jsonb,
    wire_json json,
    event_badge jsonb,
    earned_text text,
    within_days integer,
    board text,
    CONSTRAINT auto_revoke_is_automatic CHECK (((NOT auto_revoke) OR (rule <> ALL (ARRAY['client'::text, 'manual'::text, 'shared'::text, 'rank'::text])))),
    CONSTRAINT board_matches_rule CHECK ((((rule = 'rank'::text) = (board IS NOT NULL)) AND ((rule <> 'rank'::text) OR (threshold <= 100)))),
    CONSTRAINT definitions_description_key_check CHECK (((length(description_key) >= 1) AND (length(description_key) <= 200))),
    CONSTRAINT definitions_id_check CHECK ((id ~ '^[A-Za-z0-9_.:-]{1,64}$'::text)),
    CONSTRAINT definitions_label_key_check CHECK (((length(label_key) >= 1) AND (length(label_key) <= 200))),
    CONSTRAINT definitions_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT definitions_rule_check CHECK ((rule = ANY (ARRAY['streak'::text, 'quiz_distinct'::text, 'quiz_all'::text, 'metric'::text, 'distinct'::text, 'all_of'::text, 'client'::text, 'manual'::text, 'shared'::text, 'active_days'::text, 'rank'::text]))),
    CONSTRAINT definitions_threshold_check CHECK (((threshold IS NULL) OR (threshold > 0))),
    CONSTRAINT definitions_tier_check CHECK ((tier = ANY (ARRAY['bronze'::text, 'silver'::text, 'gold'::text, 'diamond'::text]))),
    CONSTRAINT metric_matches_rule CHECK (((rule = ANY (ARRAY['metric'::text, 'distinct'::text])) = (metric IS NOT NULL))),
    CONSTRAINT requires_matches_rule CHECK (((rule = 'all_of'::text) = (cardinality(requires) > 0))),
    CONSTRAINT threshold_matches_rule CHECK (((rule = ANY (ARRAY['streak'::text, 'quiz_distinct'::text, 'metric'::text, 'distinct'::text, 'active_days'::text, 'rank'::text])) = (threshold IS NOT NULL))),
    CONSTRAINT window_is_ordered CHECK ((starts_at < ends_at)),
    CONSTRAINT windowed_is_auto_revoke CHECK (((within_days IS NULL) OR auto_revoke)),
    CONSTRAINT within_days_matches_rule CHECK (
CASE
    WHEN (within_days IS NULL) THEN (rule <> 'active_days'::text)
    ELSE (((within_days >= 1) AND (within_days <= 366)) AND (rule = ANY (ARRAY['metric'::text, 'distinct'::text, 'active_days'::text])) AND ((rule <> 'active_days'::text) OR (threshold <= within_days)))
END)
);

--
-- Name: awardable(badges.definitions, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.awardable(d badges.definitions, p_at timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return d.enabled and (d.starts_at is null or d.starts_at <= p_at)
     and (d.ends_at is null or p_at < d.ends_at);
end;
$$;

--
-- Name: backoff_seconds(integer, double precision, double precision); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.backoff_seconds(p_attempt integer, p_base double precision, p_cap double precision) RETURNS double precision
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select d / 2 + pg_catalog.random() * d / 2
  from (select least(p_cap, p_base * 2.0 ^ least(p_attempt - 1, 60)) as d) x
$$;

--
-- Name: badge_holders(uuid, text, integer, timestamp with time zone, uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.badge_holders(p_user_id uuid, p_badge_id text, p_limit integer, p_after_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_after_user uuid DEFAULT NULL::uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
declare
  -- Without a cursor, a key after every holder: the page keeps one form whose index condition
  -- is the key (an "is null or" would turn it into a filter over the badge's whole range).
  v_after_at timestamptz := coalesce(p_after_at, 'infinity');
  v_after_user uuid := coalesce(p_after_user, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
  v_answer jsonb;
begin
  if not exists (
    select from badges.definitions d
    where d.id = p_badge_id and d.enabled
      and (not d.hidden or exists (select from badges.awards a
                                   where a.user_id = p_user_id and a.badge_id = d.id))) then
    raise exception using errcode = 'BD001', message = 'unknown badge',
      detail = pg_catalog.format('No visible badge has the id %L.', p_badge_id);
  end if;

  with page as (
    select a.user_id, a.earned_at
    from badges.awards a
    where a.badge_id = p_badge_id
      and (a.earned_at, a.user_id) < (v_after_at, v_after_user)
      -- A look-up by key per holder read (a subquery, not a join): the plan stays the index
      -- range scan whatever the statistics say.
      and coalesce((select u.profile_public from badges.users u where u.user_id = a.user_id),
                   true)
    order by a.earned_at desc, a.user_id desc
    limit p_limit + 1  -- one more than asked: whether a next page exists
  ), shown as (
    select * from page order by earned_at desc, user_id desc limit p_limit
  )
  select pg_catalog.jsonb_build_object(
    'entries', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'user_id', s.user_id, 'earned_at', s.earned_at)
      order by s.earned_at desc, s.user_id desc), '[]'::jsonb),
    'next_after', case when (select count(*) from page) > p_limit then (
      select pg_catalog.jsonb_build_object('earned_at', l.earned_at, 'user_id', l.user_id)
      from shown l order by l.earned_at, l.user_id limit 1) end)
  into v_answer
  from shown s;
  return v_answer;
end;
$$;

--
-- Name: badge_json(badges.definitions); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.badge_json(d badges.definitions) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
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

--
-- Name: badge_progress(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.badge_progress(p_user_id uuid) RETURNS TABLE(def badges.definitions, earned_at timestamp with time zone, current bigint, target bigint, unit text, unit_one text)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
#variable_conflict use_column
begin
  return query
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
          when 'rank' then null  -- a place, not an amount to reach
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
    -- Cast to the declared columns: RETURN QUERY, unlike a SQL function's result, converts
    -- nothing (target is an integer, a window's sum a numeric).
    select d, earned_at,
           (case when target is null then null
                 when earned_at is not null then target else least(current, target) end)::bigint,
           target::bigint, unit, unit_one
    from held;
end;
$$;

--
-- Name: base_rules(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.base_rules() RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  return array['metric', 'distinct', 'streak', 'quiz_distinct', 'quiz_all', 'active_days',
               'rank'];
end;
$$;

--
-- Name: board_above(text, date, bigint); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.board_above(p_board text, p_period date, p_value bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  v_above bigint;
begin
  select coalesce(sum(x.users), 0)::bigint into v_above
  from (
    select c.users from badges.board_counts c
    where c.board = p_board and c.period = p_period
      and c.value > p_value and c.value <= (p_value | 255)
    union all
    select b.users
    from pg_catalog.generate_series(1, 7) l(level)
    cross join lateral (
      select g.users from badges.board_buckets g
      where g.board = p_board and g.period = p_period and g.level = l.level
        and g.key > (p_value >> (8 * l.level))
        and g.key <= case when l.level < 7 then (p_value >> (8 * l.level)) | 255
                          else 9223372036854775807 end) b
    union all
    select d.users from badges.board_deltas d
    where d.board = p_board and d.period = p_period and d.value > p_value and d.value > 0) x;
  return v_above;
end;
$$;

--
-- Name: board_count(text, date, bigint); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.board_count(p_board text, p_period date, p_value bigint, OUT total bigint, OUT at_value bigint) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  select coalesce(sum(x.users) filter (where x.top), 0)::bigint,
         coalesce(sum(x.users) filter (where x.value = p_value), 0)::bigint
  into total, at_value
  from (
    select true as top, null::bigint as value, g.users from badges.board_buckets g
    where g.board = p_board and g.period = p_period and g.level = 7
    union all
    select false, c.value, c.users from badges.board_counts c
    where c.board = p_board and c.period = p_period and c.value = p_value
    union all
    select true, d.value, d.users from badges.board_deltas d
    where d.board = p_board and d.period = p_period and d.value > 0) x;
end;
$$;

--
-- Name: board_json(badges.leaderboards); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.board_json(l badges.leaderboards) RETURNS json
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return pg_catalog.json_build_object(
    'id', l.id, 'name', l.name, 'description', l.description, 'metric', l.metric,
    'period', l.period, 'timezone', l.timezone,
    'week_start', case when l.period = 'weekly' then l.week_start end,
    'starts_at', l.starts_at, 'ends_at', l.ends_at);
end;
$$;

--
-- Name: board_leaderboard(uuid, text, text, integer, integer, bigint, timestamp with time zone, uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.board_leaderboard(p_user_id uuid, p_board_id text, p_period text, p_limit integer, p_offset integer, p_after_value bigint DEFAULT NULL::bigint, p_after_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_after_user uuid DEFAULT NULL::uuid) RETURNS json
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_open record;
  v_page json;
begin
  select * into v_open from badges.open_board(p_board_id, p_period);
  v_page := badges.period_page(p_board_id, v_open.period, p_user_id, p_limit, p_offset,
                                 p_after_value, p_after_at, p_after_user);
  -- The page's object with board and period put first, as text: through jsonb, the page's
  -- entries would be parsed and printed again.
  return ('{"board":' || badges.board_json(v_open.board)
          || ',"period":' || badges.period_json(v_open.board, v_open.period, v_open.starts_at,
                                                v_open.ends_at, v_open.final)
          || ',' || pg_catalog.ltrim(v_page::text, '{'))::json;
end;
$$;

--
-- Name: board_page(text, uuid, integer, integer, integer, timestamp with time zone, uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.board_page(p_counter text, p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer DEFAULT NULL::integer, p_after_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_after_user uuid DEFAULT NULL::uuid) RETURNS json
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    SET enable_bitmapscan TO 'off'
    AS $$
declare
  v_counts record;
  v_at integer;
  v_start integer := 2147483647;  -- from the top: every value is below it
  v_skip bigint := 0;
  v_total bigint;
  v_above bigint := 0;  -- users at values above v_start
  v_at_start bigint := 0;  -- users at v_start
  v_above_mine bigint;
  v_entries text[];
  v_values integer[];
  v_ats timestamptz[];
  v_users uuid[];
  v_mine integer;
  -- Without a cursor, a key before every entry: the page's first branch keeps one plan whose
  -- index condition is the key (an "is null or" would make it a filter over the whole value).
  v_after_at timestamptz := coalesce(p_after_at, '-infinity');
  v_after_user uuid := coalesce(p_after_user, '00000000-0000-0000-0000-000000000000');
begin
  if p_counter not in ('badge_count', 'correct_count') then
    raise exception using errcode = 'BD004', message = 'unknown leaderboard counter';
  end if;
  if p_user_id is not null then
    select case p_counter when 'badge_count' then s.badge_count else s.correct_count end
    into v_mine from badges.user_stats s where s.user_id = p_user_id;
  end if;

  -- v_start: the value the page starts in, v_skip the entries to skip within it. From the top
  -- or after a cursor, one sum over the per-value counts (folded and pending: a few dozen rows,
  -- never the board's) gives the total and the users above v_start, at it and above me. An
  -- offset needs every value's rank (badges.board_values) to find its value.
  if p_offset = 0 or p_after_value is not null then
    v_start := coalesce(p_after_value, v_start);
    select coalesce(sum(x.users), 0)::bigint,
           coalesce(sum(x.users) filter (where x.value > v_start), 0)::bigint,
           coalesce(sum(x.users) filter (where x.value = v_start), 0)::bigint,
           coalesce(sum(x.users) filter (where x.value > v_mine), 0)::bigint
    into v_total, v_above, v_at_start, v_above_mine
    from (select b.value, b.users from badges.board_counts b
          where b.board = p_counter and b.period = '-infinity' and b.value > 0
          union all
          select b.value, b.users from badges.board_deltas b
          where b.board = p_counter and b.period = '-infinity' and b.value > 0) x;
  else
    select * into v_counts from badges.board_values(p_counter, '-infinity');
    v_total := v_counts.total;
    v_above_mine := v_counts.ranks[pg_catalog.array_position(v_counts.vals, v_mine::bigint)] - 1;
    v_at := badges.last_within(v_counts.ranks, p_offset + 1);
    if v_at > 0 then
      v_start := v_counts.vals[v_at];
      v_skip := p_offset + 1 - v_counts.ranks[v_at];
      v_above := v_counts.ranks[v_at] - 1;
      v_at_start := coalesce(v_counts.ranks[v_at + 1], v_total + 1) - v_counts.ranks[v_at];
    end if;
  end if;

  -- One more than the page: whether a next page exists. Each branch is an index range scan in
  -- the board's order (so none needs a sort); only the two of the asked counter run. Each
  -- entry's JSON is written as the row is read, concatenated rather than built by
  -- json_build_object (which costs twice as much for a page of 100; ids and numbers need no
  -- escaping, and the key is ours). Its rank: the users above v_start, plus for a lower value
  -- those at v_start and the page's entries between the two (the page is contiguous in board
  -- order, so every user between is on it).
  select pg_catalog.array_agg(
           '{"rank":' || (1 + v_above + case when value < v_start then v_at_start + between_ else 0 end)
           || ',"user_id":"' || user_id || '","' || p_counter || '":' || value || '}'
           order by value desc, at, user_id),
         pg_catalog.array_agg(value order by value desc, at, user_id),
         pg_catalog.array_agg(at order by value desc, at, user_id),
         pg_catalog.array_agg(user_id order by value desc, at, user_id)
  into v_entries, v_values, v_ats, v_users
  from (
    select p.value, p.at, p.user_id,
           count(*) filter (where p.value < v_start) over (
             order by p.value desc range between unbounded preceding and 1 preceding) as between_
    from (
      (select s.badge_count as value, s.badge_count_at as at, s.user_id
       from badges.user_stats s
       where p_counter = 'badge_count' and s.badge_count > 0 and s.badge_count = v_start
         and (s.badge_count_at, s.user_id) > (v_after_at, v_after_user)
       order by s.badge_count desc, s.badge_count_at, s.user_id
       offset v_skip limit p_limit + 1)
      union all
      (select s.badge_count, s.badge_count_at, s.user_id
       from badges.user_stats s
       where p_counter = 'badge_count' and s.badge_count > 0 and s.badge_count < v_start
       order by s.badge_count desc, s.badge_count_at, s.user_id
       limit p_limit + 1)
      union all
      (select s.correct_count, s.correct_count_at, s.user_id
       from badges.user_stats s
       where p_counter = 'correct_count' and s.correct_count > 0 and s.correct_count = v_start
         and (s.correct_count_at, s.user_id) > (v_after_at, v_after_user)
       order by s.correct_count desc, s.correct_count_at, s.user_id
       offset v_skip limit p_limit + 1)
      union all
      (select s.correct_count, s.correct_count_at, s.user_id
       from badges.user_stats s
       where p_counter = 'correct_count' and s.correct_count > 0 and s.correct_count < v_start
       order by s.correct_count desc, s.correct_count_at, s.user_id
       limit p_limit + 1)
      order by 1 desc, 2, 3
      limit p_limit + 1) p
    -- The page's order again, so that the planner knows the window keeps it (else it sorts
    -- the page once more for the aggregates).
    order by p.value desc, p.at, p.user_id) page;

  -- json, not jsonb: the answer is only sent on, and jsonb would parse and sort every entry.
  return pg_catalog.json_build_object(
    'entries', ('[' || coalesce(pg_catalog.array_to_string(v_entries[1:p_limit], ','), '')
                || ']')::json,
    'me', case when v_mine > 0 then pg_catalog.json_build_object(
            'rank', 1 + v_above_mine, 'user_id', p_user_id, p_counter, v_mine) end,
    'total', v_total,
    'next_after', case when pg_catalog.cardinality(v_values) > p_limit then
      pg_catalog.json_build_object('value', v_values[p_limit], 'at', v_ats[p_limit],
                                   'user_id', v_users[p_limit]) end);
end;
$$;

--
-- Name: board_period(badges.leaderboards, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.board_period(p_board badges.leaderboards, p_at timestamp with time zone) RETURNS date
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return case p_board.period
    when 'all_time' then '-infinity'::date
    when 'daily' then (p_at at time zone p_board.timezone)::date
    when 'weekly' then (p_at at time zone p_board.timezone)::date
      - (pg_catalog.date_part('isodow', p_at at time zone p_board.timezone)::integer
         - p_board.week_start + 7) % 7
    when 'monthly' then pg_catalog.date_trunc('month', p_at at time zone p_board.timezone)::date
    when 'season' then case when p_at >= p_board.starts_at and p_at < p_board.ends_at
      then (p_board.starts_at at time zone p_board.timezone)::date end
  end;
end;
$$;

--
-- Name: board_position(text, date, bigint); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.board_position(p_board text, p_period date, p_position bigint, OUT value bigint, OUT skip bigint) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  v_left bigint := p_position;
  v_lo bigint := 0;
  v_hi bigint := 9223372036854775807;
  v_group record;
  v_found boolean;
begin
  for v_level in reverse 7..0 loop
    v_found := false;
    for v_group in
      select x.key, sum(x.users) as users
      from (
        select g.key, g.users from badges.board_buckets g
        where v_level > 0 and g.board = p_board and g.period = p_period and g.level = v_level
          and g.key between v_lo and v_hi
        union all
        select c.value, c.users from badges.board_counts c
        where v_level = 0 and c.board = p_board and c.period = p_period
          and c.value between greatest(v_lo, 1) and v_hi
        union all
        select d.value >> (8 * v_level), d.users from badges.board_deltas d
        where d.board = p_board and d.period = p_period and d.value > 0
          and (d.value >> (8 * v_level)) between v_lo and v_hi) x
      group by x.key
      having sum(x.users) > 0
      order by x.key desc
    loop
      if v_group.users >= v_left then
        v_found := true;
        exit;
      end if;
      v_left := v_left - v_group.users;
    end loop;
    if not v_found then
      return;
    end if;
    v_lo := v_group.key << 8;
    v_hi := (v_group.key << 8) | 255;
  end loop;
  value := v_group.key;
  skip := v_left - 1;
end;
$$;

--
-- Name: board_values(text, date); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.board_values(p_board text, p_period date, OUT vals bigint[], OUT ranks bigint[], OUT total bigint) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  select coalesce(pg_catalog.array_agg(r.value order by r.value desc), '{}'),
         coalesce(pg_catalog.array_agg(r.rank order by r.value desc), '{}'),
         coalesce(sum(r.users), 0)::bigint
  into vals, ranks, total
  from (
    select c.value, c.users,
           1 + coalesce(sum(c.users) over (order by c.value desc
                                           rows between unbounded preceding and 1 preceding), 0)
             as rank
    from (select x.value, sum(x.users)::bigint as users
          from (select b.value, b.users from badges.board_counts b
                where b.board = p_board and b.period = p_period
                union all
                select b.value, b.users from badges.board_deltas b
                where b.board = p_board and b.period = p_period) x
          where x.value > 0
          group by x.value
          having sum(x.users) > 0) c) r;
end;
$$;

--
-- Name: bump_boards(text, uuid[], bigint[], timestamp with time zone[]); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.bump_boards(p_metric text, p_users uuid[], p_amounts bigint[], p_ats timestamp with time zone[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if not exists (select 1 from badges.leaderboards l where l.metric = p_metric and l.enabled) then
    return;
  end if;
  -- Each period written, shared: an archive of it (exclusive) waits for this transaction, and
  -- the statement below, run after, sees the period closed if an archive came first.
  perform pg_catalog.pg_advisory_xact_lock_shared(badges.period_lock(c.board_id, c.period))
  from (select distinct l.id as board_id, badges.board_period(l, e.at) as period
        from pg_catalog.unnest(p_ats) e(at)
        cross join badges.leaderboards l
        where l.metric = p_metric and l.enabled) c
  where c.period is not null
  order by c.board_id, c.period;
  with changes as (
    select l.id as board_id, badges.board_period(l, e.at) as period, e.user_id,
           sum(e.amount)::bigint as amount, max(e.at) as at
    from rows from (pg_catalog.unnest(p_users), pg_catalog.unnest(p_amounts),
                    pg_catalog.unnest(p_ats)) e(user_id, amount, at)
    cross join badges.leaderboards l
    where l.metric = p_metric and l.enabled
    group by 1, 2, 3
  ), live as (
    select c.* from changes c
    where c.period is not null and c.amount <> 0
      and not exists (select 1 from badges.board_periods p
                      where p.board_id = c.board_id and p.period = c.period)
  ), written as (
    insert into badges.board_entries as b (board_id, period, user_id, value, at)
    select board_id, period, user_id, amount, at from live order by board_id, period, user_id
    on conflict (board_id, period, user_id) do update
      set value = b.value + excluded.value, at = greatest(b.at, excluded.at)
    returning b.board_id, b.period, b.user_id, b.value
  )
  insert into badges.board_deltas (board, period, value, users)
  select board_id, period, value, sum(users) from (
    select w.board_id, w.period, w.value, 1 as users from written w where w.value > 0
    union all
    select w.board_id, w.period, w.value - l.amount, -1
    from written w join live l using (board_id, period, user_id)
    where w.value - l.amount > 0) moves
  group by board_id, period, value having sum(users) <> 0;
end;
$$;

--
-- Name: check_badges(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.check_badges(p_user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_awarded text[];
begin
  perform badges.lock_user(p_user_id);
  v_awarded := badges.award_qualifying(p_user_id, badges.base_rules());
  return pg_catalog.jsonb_build_object(
    'awarded', pg_catalog.to_jsonb(v_awarded), 'revoked', badges.revoke_lapsed(p_user_id));
end;
$$;

--
-- Name: check_badges_all(text, boolean, boolean, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.check_badges_all(p_badge_id text DEFAULT NULL::text, p_notify boolean DEFAULT false, p_revoke boolean DEFAULT true, p_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: check_quiz_master(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.check_quiz_master(p_user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_awarded text[];
  v_facts record;
begin
  perform badges.lock_user(p_user_id);
  v_awarded := badges.award_qualifying(p_user_id, array['quiz_distinct', 'quiz_all']);
  select * into v_facts from badges.user_facts(p_user_id);
  return pg_catalog.jsonb_build_object(
    'correct_providers', v_facts.correct_providers,
    'total_providers', v_facts.total_providers,
    'awarded', pg_catalog.to_jsonb(v_awarded));
end;
$$;

--
-- Name: check_streaks(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.check_streaks(p_user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_awarded text[];
  v_streak badges.streaks;
begin
  perform badges.lock_user(p_user_id);
  select * into v_streak from badges.streaks s where s.user_id = p_user_id;
  if found then
    v_streak := badges.freeze_missed_days(p_user_id, badges.streak_today(v_streak, now()));
  end if;
  v_awarded := badges.award_qualifying(p_user_id, array['streak']);
  return badges.streak_json(p_user_id, v_streak, now())
    || pg_catalog.jsonb_build_object('awarded', pg_catalog.to_jsonb(v_awarded));
end;
$$;

--
-- Name: check_streaks_all(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.check_streaks_all() RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_awarded bigint;
  v_used bigint := 0;
  v_user uuid;
  v_before integer;
  v_row badges.streaks;
begin
  for v_user in
    select s.user_id from badges.streaks s
    cross join lateral (select badges.streak_today(s, now()) - 1
                          - greatest(s.last_active_day, s.frozen_through) as missed) m
    where s.freezes_left > 0 and s.current_streak > 0
      and m.missed between 1 and s.freezes_left  -- else nothing to do, or too few to spend
    order by s.user_id
  loop
    perform badges.lock_user(v_user);
    select * into v_row from badges.streaks s where s.user_id = v_user;
    v_before := v_row.freezes_left;
    v_row := badges.freeze_missed_days(v_user, badges.streak_today(v_row, now()));
    v_used := v_used + v_before - v_row.freezes_left;
  end loop;
  select count(*) into v_awarded from badges.award_rules(null, array['streak']);
  select v_awarded + count(*) into v_awarded from badges.award_composites(null);
  return pg_catalog.jsonb_build_object(
    'users_checked', (select count(*) from badges.streaks), 'awarded_count', v_awarded,
    'freezes_used', v_used);
end;
$$;

--
-- Name: checked_timezone(text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.checked_timezone(p_timezone text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  perform now() at time zone p_timezone;
  return p_timezone;
exception when invalid_parameter_value then
  raise exception using errcode = 'BD004', message = 'invalid timezone',
    detail = pg_catalog.format('%L is not an IANA time zone name.', p_timezone);
end;
$$;

--
-- Name: claim_notifications(integer, integer, integer, uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.claim_notifications(p_limit integer, p_lease_seconds integer, p_max_attempts integer, p_user_id uuid DEFAULT NULL::uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_token uuid := pg_catalog.gen_random_uuid();
  v_dead integer;
  v_result jsonb;
begin
  update badges.outbox o
  set status = 'dead', finished_at = now(), claim_token = null,
      last_error = 'the worker of the last attempt never reported back'
  where o.id in (select x.id from badges.outbox x
                 where x.status = 'pending' and x.next_attempt_at <= now()
                   and x.attempts >= p_max_attempts
                 for update skip locked);
  get diagnostics v_dead = row_count;

  with due as (
    select o.id from badges.outbox o
    where o.status = 'pending' and o.next_attempt_at <= now()
      and o.attempts < p_max_attempts
      and (p_user_id is null or (o.user_id = p_user_id and o.attempts = 0))
    order by o.next_attempt_at, o.id
    limit p_limit
    for update skip locked
  ), claimed as (
    update badges.outbox o
    set attempts = o.attempts + 1, claim_token = v_token,
        next_attempt_at = now() + pg_catalog.make_interval(secs => p_lease_seconds)
    from due where o.id = due.id
    returning o.id, o.user_id, o.dedupe_key, o.attempts, o.payload, o.delivered_channels
  )
  select pg_catalog.jsonb_build_object(
    'token', v_token, 'dead', v_dead,
    'notifications', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'id', c.id, 'dedupe_key', c.dedupe_key, 'attempt', c.attempts, 'payload', c.payload,
      'delivered_channels', c.delivered_channels,
      'push_tokens', (select coalesce(pg_catalog.jsonb_agg(t.token order by t.updated_at desc),
                                      '[]')
                      from badges.push_tokens t where t.user_id = c.user_id))
      order by c.id), '[]'))
  into v_result from claimed c;
  return v_result;
end;
$$;

--
-- Name: consistency_report(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.consistency_report() RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  with checks as (
    select pg_catalog.jsonb_build_object(
      'badge_count', (
        select count(*) from badges.user_stats s
        full join (select a.user_id, count(*) as n from badges.awards a group by a.user_id) a
          on a.user_id = s.user_id
        where coalesce(s.badge_count, 0) <> coalesce(a.n, 0)),
      'correct_count', (
        select count(*) from badges.user_stats s
        full join (select q.user_id, count(*) as n from badges.quiz_scores q
                   where q.quiz_correct group by q.user_id) q on q.user_id = s.user_id
        where coalesce(s.correct_count, 0) <> coalesce(q.n, 0)),
      'rarity', (
        select count(*) from (
          select c.badge_id, sum(c.holders) as n
          from (select x.badge_id, x.holders from badges.rarity_counts x
                union all
                select x.badge_id, x.holders from badges.rarity_deltas x) c
          group by c.badge_id
        ) c
        full join (
          select a.badge_id, count(*) as n from badges.awards a group by a.badge_id
          union all
          select '', count(*) from badges.users
        ) h on h.badge_id = c.badge_id
        where coalesce(c.n, 0) <> coalesce(h.n, 0)),
      'board', (
        select count(*) from (
          select c.board, c.period, c.value, sum(c.users) as n
          from (select x.board, x.period, x.value, x.users from badges.board_counts x
                union all
                select x.board, x.period, x.value, x.users from badges.board_deltas x) c
          group by c.board, c.period, c.value
        ) c
        full join (
          select 'badge_count' as board, '-infinity'::date as period, s.badge_count as value,
                 count(*) as n
          from badges.user_stats s where s.badge_count > 0 group by s.badge_count
          union all
          select 'correct_count', '-infinity', s.correct_count, count(*)
          from badges.user_stats s where s.correct_count > 0 group by s.correct_count
          union all
          select e.board_id, e.period, e.value, count(*)
          from badges.board_entries e where e.value > 0 group by e.board_id, e.period, e.value
        ) h on h.board = c.board and h.period = c.period and h.value = c.value
        where coalesce(c.n, 0) <> coalesce(h.n, 0)),
      'board_buckets', (
        select count(*) from badges.board_buckets b
        full join (
          select c.board, c.period, l.level, c.value >> (8 * l.level) as key,
                 sum(c.users) as users
          from badges.board_counts c
          cross join pg_catalog.generate_series(1, 7) l(level)
          where c.value > 0
          group by 1, 2, 3, 4
        ) c on c.board = b.board and c.period = b.period and c.level = b.level and c.key = b.key
        where coalesce(b.users, 0) <> coalesce(c.users, 0)),
      'board_total', (
        select count(*) from (
          select l.id as board_id, t.user_id, t.total
          from badges.leaderboards l
          cross join lateral (
            select x.user_id, x.total from badges.metric_totals x where x.metric = l.metric
            union all
            select x.user_id, x.badge_count from badges.user_stats x
            where l.metric = 'badge_count'
            union all
            select x.user_id, x.correct_count from badges.user_stats x
            where l.metric = 'quiz_correct') t
          where l.enabled and l.period = 'all_time' and t.total <> 0
        ) t
        full join (
          select e.board_id, e.user_id, e.value
          from badges.board_entries e
          join badges.leaderboards l on l.id = e.board_id and l.enabled and l.period = 'all_time'
          where e.value <> 0
        ) e on e.board_id = t.board_id and e.user_id = t.user_id
        where coalesce(e.value, 0) <> coalesce(t.total, 0)),
      'metric_total', (
        select count(*) from badges.metric_totals t
        where t.total <> coalesce((select e.total from badges.metric_events e
                                   where e.user_id = t.user_id and e.metric = t.metric
                                   order by e.id desc limit 1), 0)),
      'distinct_count', (
        select count(*) from badges.metric_totals t
        where t.distinct_count <> (select count(*) from badges.metric_items i
                                   where i.user_id = t.user_id and i.metric = t.metric)),
      'outbox_orphan', (
        select count(*) from badges.outbox o
        where o.badge_id is not null
          and not exists (select from badges.awards a
                          where a.user_id = o.user_id and a.badge_id = o.badge_id)
          and not exists (select from badges.revocations r
                          where r.user_id = o.user_id and r.badge_id = o.badge_id)),
      'outbox_twice', (
        select count(*) from (
          select 1 from badges.outbox o
          where o.badge_id is not null
          group by o.user_id, o.badge_id
          having count(*) > 1 + (select count(*) from badges.revocations r
                                 where r.user_id = o.user_id and r.badge_id = o.badge_id)) d)
    ) as c
  )
  select pg_catalog.jsonb_build_object(
    'violations', (select sum(v::bigint) from pg_catalog.jsonb_each_text(c) as x(k, v)),
    'checks', c,
    'awards_unannounced', (
      select count(*) from badges.awards a
      join badges.definitions d on d.id = a.badge_id and d.notify
      where not exists (select from badges.outbox o
                        where o.user_id = a.user_id and o.badge_id = a.badge_id)))
  from checks
$$;

--
-- Name: count_correct(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.count_correct(p_user_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  with bumped as (
    insert into badges.user_stats as s (user_id, correct_count, correct_count_at)
    values (p_user_id, 1, now())
    on conflict (user_id) do update
      set correct_count = s.correct_count + 1, correct_count_at = now()
    returning s.correct_count
  )
  insert into badges.board_deltas (board, value, users)
  select 'correct_count', correct_count, 1 from bumped
  union all
  select 'correct_count', correct_count - 1, -1 from bumped where correct_count > 1;
  perform badges.bump_boards('quiz_correct', array[p_user_id], array[1::bigint], array[now()]);
end;
$$;

--
-- Name: count_metric(uuid, text, integer, text, text, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.count_metric(p_user_id uuid, p_metric text, p_amount integer, p_item text, p_key text, p_at timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: count_once(text, oid, text, text, jsonb, jsonb, text[], text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.count_once(p_op text, p_relid oid, p_trigger text, p_table text, p_old jsonb, p_new jsonb, p_args text[], p_counts text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_user_column text := coalesce(p_args[2], 'user_id');
  v_key_column text := coalesce(p_args[3], 'id');
  v_now jsonb;
  v_was jsonb;
  v_became boolean;
begin
  perform badges.declared_metric(p_args[0], p_trigger);
  perform badges.fires_on_delete(p_relid, p_trigger);
  if p_op = 'DELETE' then
    perform badges.uncount_row(p_old, p_args[0], v_user_column, v_key_column, p_trigger, p_table);
    return;
  end if;
  v_now := badges.row_value(p_new, p_args[1], p_trigger);
  if p_op = 'UPDATE' then
    v_was := badges.row_value(p_old, p_args[1], p_trigger);
  end if;
  v_became := case p_counts
    when 'true' then v_now = 'true'::jsonb and v_was is distinct from 'true'::jsonb
    else pg_catalog.jsonb_typeof(v_now) <> 'null'
         and coalesce(pg_catalog.jsonb_typeof(v_was), 'null') = 'null' end;
  if v_became then
    perform badges.count_row(p_new, p_args[0], v_user_column, 1, v_key_column, p_trigger,
      p_table);
  end if;
end;
$$;

--
-- Name: count_row(jsonb, text, text, integer, text, text, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.count_row(p_row jsonb, p_metric text, p_user_column text, p_amount integer, p_key_column text, p_trigger text, p_table text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_user uuid := (badges.row_value(p_row, p_user_column, p_trigger) ->> 0)::uuid;
  v_key text;
begin
  if v_user is null then
    return;
  end if;
  if p_key_column is not null then
    v_key := badges.row_key(p_row, p_metric, p_key_column, p_trigger, p_table);
  end if;
  perform badges.lock_user(v_user);
  perform badges.count_metric(v_user, p_metric, p_amount, null, v_key, null);
end;
$$;

--
-- Name: create_share(uuid, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.create_share(p_user_id uuid, p_badge_id text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_def badges.definitions := badges.definition(p_badge_id);
begin
  if v_def.rule <> 'shared' then
    raise exception using errcode = 'BD004', message = 'badge not earned by sharing',
      detail = pg_catalog.format('%L is not a badge with rule shared.', p_badge_id);
  end if;
  perform badges.lock_user(p_user_id);
  insert into badges.shares (id, user_id, badge_id)
  values (pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''), p_user_id, p_badge_id)
  on conflict (user_id, badge_id) do nothing;
  return (select pg_catalog.jsonb_build_object('share_id', s.id, 'badge_id', s.badge_id)
          from badges.shares s where s.user_id = p_user_id and s.badge_id = p_badge_id);
end;
$$;

--
-- Name: current_level(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.current_level(p_user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_current badges.levels := badges.reached_level(p_user_id);
  v_next badges.levels;
begin
  select l.* into v_next from badges.levels l
  where l.enabled
    and (v_current.id is null or (l.sort_order, l.id) > (v_current.sort_order, v_current.id))
  order by l.sort_order, l.id
  limit 1;
  return pg_catalog.jsonb_build_object(
    'current', case when v_current.id is not null then pg_catalog.jsonb_build_object(
      'id', v_current.id, 'name', v_current.name, 'description', v_current.description) end,
    'next', case when v_next.id is not null then pg_catalog.jsonb_build_object(
      'id', v_next.id, 'name', v_next.name, 'description', v_next.description,
      'steps', badges.level_status(p_user_id, v_next.id) -> 'steps') end);
end;
$$;

--
-- Name: declared_metric(text, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.declared_metric(p_metric text, p_trigger text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if not exists (select 1 from badges.metrics where id = p_metric) then
    raise exception using errcode = 'BD005', message = 'unknown metric',
      detail = pg_catalog.format('Trigger %s counts %L, which no catalog declares.',
                                 p_trigger, p_metric);
  end if;
end;
$$;

--
-- Name: definition(text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.definition(p_badge_id text) RETURNS badges.definitions
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
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

--
-- Name: derive_definition(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.derive_definition() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    SET "TimeZone" TO 'UTC'
    AS $$
begin
  new.wire := badges.badge_json(new);
  new.wire_json := new.wire::json;
  new.event_badge := badges.event_badge(new);
  new.earned_text := badges.earned_message(new);
  return new;
end;
$$;

--
-- Name: earned_message(badges.definitions); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.earned_message(d badges.definitions) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
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

--
-- Name: event_badge(badges.definitions); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.event_badge(d badges.definitions) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select pg_catalog.jsonb_build_object(
    'id', d.id, 'name', d.name, 'description', d.description, 'icon', d.icon,
    'category', d.category, 'tier', d.tier, 'label_key', d.label_key,
    'description_key', d.description_key)
$$;

--
-- Name: feed(integer, timestamp with time zone, uuid, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.feed(p_limit integer, p_before_at timestamp with time zone, p_before_user uuid, p_before_badge text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
declare
  -- Without a cursor, a key after every award: the page keeps one form whose index condition
  -- is the key (an "is null or" would make it a filter, and a deep page would read every
  -- award before it).
  v_before_at timestamptz := coalesce(p_before_at, 'infinity');
  v_before_user uuid := coalesce(p_before_user, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
  v_before_badge text := coalesce(p_before_badge, '');
  v_answer jsonb;
begin
  with page as (
    select a.user_id, a.badge_id, a.earned_at, d.name, d.icon, d.tier, d.category
    from badges.awards a
    join badges.definitions d on d.id = a.badge_id and not d.hidden
    where (a.earned_at, a.user_id, a.badge_id) < (v_before_at, v_before_user, v_before_badge)
      -- A look-up by key per award read (a subquery, not an anti-join): statistics that say
      -- few users opt out made the planner read every user instead, once per page.
      and not coalesce((select u.feed_opt_out from badges.users u where u.user_id = a.user_id),
                       false)
    order by a.earned_at desc, a.user_id desc, a.badge_id desc
    limit p_limit + 1  -- one more than asked: whether a next page exists
  ), shown as (
    select * from page order by earned_at desc, user_id desc, badge_id desc limit p_limit
  )
  select pg_catalog.jsonb_build_object(
    'entries', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'user_id', p.user_id,
      'badge', pg_catalog.jsonb_build_object(
        'id', p.badge_id, 'name', p.name, 'icon', p.icon, 'tier', p.tier, 'category', p.category),
      'earned_at', p.earned_at,
      'text', 'earned ' || p.name)
      order by p.earned_at desc, p.user_id desc, p.badge_id desc), '[]'),
    'more', (select count(*) from page) > p_limit)
  into v_answer
  from shown p;
  return v_answer;
end;
$$;

--
-- Name: finish_notifications(uuid, jsonb, integer, double precision, double precision); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.finish_notifications(p_token uuid, p_results jsonb, p_max_attempts integer, p_backoff_seconds double precision, p_max_backoff_seconds double precision) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_counts jsonb;
begin
  with results as (
    select * from pg_catalog.jsonb_to_recordset(p_results)
      as r(id bigint, sent text[], error text, drop_tokens text[])
  ), finished as (
    update badges.outbox o set
      delivered_channels = array(select distinct c from pg_catalog.unnest(
        o.delivered_channels || coalesce(r.sent, '{}')) c order by c),
      status = case when r.error is null then 'delivered'
                    when o.attempts >= p_max_attempts then 'dead' else 'pending' end,
      next_attempt_at = case when r.error is null or o.attempts >= p_max_attempts then now()
        else now() + pg_catalog.make_interval(secs => badges.backoff_seconds(
          o.attempts, p_backoff_seconds, p_max_backoff_seconds)) end,
      finished_at = case when r.error is null or o.attempts >= p_max_attempts then now() end,
      last_error = pg_catalog.left(r.error, 1000),
      last_attempt_at = now(),
      claim_token = null
    from results r
    where o.id = r.id and o.claim_token = p_token and o.status = 'pending'
    returning o.status, o.user_id, r.drop_tokens
  ), dropped as (
    delete from badges.push_tokens t using finished f
    where t.user_id = f.user_id and t.token = any (f.drop_tokens)
  )
  select pg_catalog.jsonb_build_object(
    'delivered', count(*) filter (where status = 'delivered'),
    'failed', count(*) filter (where status = 'pending'),
    'dead', count(*) filter (where status = 'dead'))
  into v_counts from finished;
  return v_counts;
end;
$$;

--
-- Name: fires_on_delete(oid, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.fires_on_delete(p_table oid, p_trigger text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if not exists (select from pg_catalog.pg_trigger t
                 where t.tgrelid = p_table and t.tgname = p_trigger
                   and (t.tgtype::integer & 8) <> 0) then  -- 8: TRIGGER_TYPE_DELETE
    raise exception using errcode = 'BD004', message = 'trigger must also fire on delete',
      detail = pg_catalog.format(
        'Trigger %s counts once per row: a deleted row must be un-counted, or deleting and'
        ' inserting rows would count again and again.', p_trigger),
      hint = 'Create it AFTER INSERT OR UPDATE OR DELETE.';
  end if;
end;
$$;

--
-- Name: fold_counts(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.fold_counts() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_boards text[];
  v_periods date[];
  v_values bigint[];
begin
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended('badges.fold_counts', 0)) then
    return;
  end if;
  with moved as (
    delete from badges.rarity_deltas returning badge_id, holders
  )
  insert into badges.rarity_counts as c (badge_id, shard, holders)
  select badge_id, 0, sum(holders) from moved group by badge_id order by badge_id
  on conflict (badge_id, shard) do update set holders = c.holders + excluded.holders;

  with moved as (
    delete from badges.board_deltas returning board, period, value, users
  ), folded as (
    insert into badges.board_counts as c (board, period, value, users)
    select board, period, value, sum(users) from moved
    group by board, period, value order by board, period, value
    on conflict (board, period, value) do update set users = c.users + excluded.users
    returning c.board, c.period, c.value, c.users
  )
  select pg_catalog.array_agg(f.board), pg_catalog.array_agg(f.period),
         pg_catalog.array_agg(f.value)
  into v_boards, v_periods, v_values
  from folded f where f.users = 0;
  -- One at a time (a few at most), by primary key.
  for i in 1 .. coalesce(pg_catalog.array_length(v_values, 1), 0) loop
    delete from badges.board_counts c
    where c.board = v_boards[i] and c.period = v_periods[i] and c.value = v_values[i]
      and c.users = 0;
  end loop;
end;
$$;

--
-- Name: streaks; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.streaks (
    user_id uuid NOT NULL,
    timezone text DEFAULT 'UTC'::text NOT NULL,
    previous_timezone text,
    timezone_changed_at timestamp with time zone,
    current_streak integer DEFAULT 0 NOT NULL,
    longest_streak integer DEFAULT 0 NOT NULL,
    last_active_day date,
    streak_start date,
    frozen_through date,
    freezes_left integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT streaks_check CHECK ((longest_streak >= current_streak)),
    CONSTRAINT streaks_current_streak_check CHECK ((current_streak >= 0)),
    CONSTRAINT streaks_freezes_left_check CHECK ((freezes_left >= 0))
);

--
-- Name: freeze_missed_days(uuid, date); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.freeze_missed_days(p_user_id uuid, p_today date) RETURNS badges.streaks
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_row badges.streaks;
  v_last date;
  v_spent integer;
begin
  select * into v_row from badges.streaks s where s.user_id = p_user_id for update;
  v_last := greatest(v_row.last_active_day, v_row.frozen_through);
  if v_row.current_streak > 0 and v_last < p_today - 1
     and p_today - 1 - v_last <= v_row.freezes_left then
    insert into badges.frozen_days (user_id, day)
    select p_user_id, d::date
    from pg_catalog.generate_series(v_last + 1, p_today - 1, interval '1 day') d
    on conflict do nothing;
    get diagnostics v_spent = row_count;
    update badges.streaks s
    set freezes_left = s.freezes_left - v_spent, frozen_through = p_today - 1,
        updated_at = now()
    where s.user_id = p_user_id
    returning * into v_row;
  end if;
  return v_row;
end;
$$;

--
-- Name: get_badge(uuid, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.get_badge(p_user_id uuid, p_badge_id text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_answer jsonb;
begin
  select pg_catalog.jsonb_build_object(
    'badge', (p.def).wire || pg_catalog.jsonb_build_object('rarity', r.rarity),
    'me', case when p_user_id is not null then pg_catalog.jsonb_build_object(
      'earned', p.earned_at is not null,
      'earned_at', p.earned_at,
      'progress', case when p.target is not null then pg_catalog.jsonb_build_object(
        'current', p.current, 'target', p.target) end)
      || case when (p.def).rule = 'rank' and p.earned_at is not null then
           pg_catalog.jsonb_build_object('placings', badges.placings(p_user_id, p.def))
         else '{}' end end)
  into v_answer
  from badges.badge_progress(p_user_id) p
  join badges.rarity() r on r.badge_id = (p.def).id
  where (p.def).id = p_badge_id
    and (((p.def).enabled and not (p.def).hidden) or p.earned_at is not null);
  if v_answer is null then
    raise exception using errcode = 'BD001', message = 'unknown badge',
      detail = pg_catalog.format('No visible badge has the id %L.', p_badge_id);
  end if;
  return v_answer;
end;
$$;

--
-- Name: get_catalog(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.get_catalog() RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
begin
  return (
    select pg_catalog.jsonb_build_object(
      'badges', coalesce((
        select pg_catalog.jsonb_agg(
          d.wire || pg_catalog.jsonb_build_object('rarity', r.rarity)
          order by d.sort_order, d.id)
        from badges.definitions d join badges.rarity() r on r.badge_id = d.id
        where d.enabled and not d.hidden), '[]'::jsonb),
      'providers', coalesce((
        select pg_catalog.jsonb_agg(
          pg_catalog.jsonb_build_object('id', p.id, 'name', p.name) order by p.sort_order, p.id)
        from badges.quiz_providers p where p.active), '[]'::jsonb),
      'metrics', coalesce((
        select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                 'id', m.id, 'name', m.name, 'description', m.description, 'unit', m.unit,
                 'unit_one', m.unit_one) order by m.id)
        from badges.metrics m where m.enabled), '[]'::jsonb),
      'leaderboards', coalesce((
        select pg_catalog.jsonb_agg(badges.board_json(l)::jsonb order by l.sort_order, l.id)
        from badges.leaderboards l where l.enabled), '[]'::jsonb)));
end;
$$;

--
-- Name: grant_freezes(uuid, integer); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.grant_freezes(p_user_id uuid, p_count integer) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_left integer;
begin
  if p_count is null or p_count not between 1 and 10 then
    raise exception using errcode = 'BD004', message = 'invalid freeze count',
      detail = pg_catalog.format('count must be 1 to 10, not %s.', coalesce(p_count::text, 'null'));
  end if;
  perform badges.lock_user(p_user_id);
  insert into badges.streaks as s (user_id, freezes_left) values (p_user_id, p_count)
  on conflict (user_id) do update set freezes_left = s.freezes_left + p_count, updated_at = now()
  returning s.freezes_left into v_left;
  return pg_catalog.jsonb_build_object('freezes_left', v_left);
end;
$$;

--
-- Name: inbox(uuid, boolean, integer, bigint); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.inbox(p_user_id uuid, p_unread_only boolean, p_limit integer, p_before bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
begin
  return (
    with page as (
      select n.* from badges.notifications n
      where n.user_id = p_user_id
        and (p_before is null or n.id < p_before)
        and (not p_unread_only or n.read_at is null)
      order by n.id desc
      limit p_limit + 1  -- one more than asked: whether a next page exists
    ), shown as (
      select * from page order by id desc limit p_limit
    )
    select pg_catalog.jsonb_build_object(
      'notifications', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'id', p.id, 'type', p.kind, 'badge_id', p.badge_id, 'message', p.message,
        'created_at', p.created_at, 'read', p.read_at is not null) order by p.id desc), '[]'),
      'unread_count', (select count(*) from badges.notifications u
                       where u.user_id = p_user_id and u.read_at is null),
      'next_before', case when (select count(*) from page) > p_limit then min(p.id) end)
    from shown p);
end;
$$;

--
-- Name: last_within(bigint[], bigint); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.last_within(p_ranks bigint[], p_rank bigint) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
declare
  v_at integer := 0;
begin
  while v_at < coalesce(pg_catalog.cardinality(p_ranks), 0) and p_ranks[v_at + 1] <= p_rank loop
    v_at := v_at + 1;
  end loop;
  return v_at;
end;
$$;

--
-- Name: leaderboard(uuid, integer, integer, integer, timestamp with time zone, uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.leaderboard(p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer DEFAULT NULL::integer, p_after_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_after_user uuid DEFAULT NULL::uuid) RETURNS json
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
begin
  return badges.board_page('badge_count', p_user_id, p_limit, p_offset,
                      p_after_value, p_after_at, p_after_user);
end;
$$;

--
-- Name: level_status(uuid, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.level_status(p_user_id uuid, p_level text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $_$
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
$_$;

--
-- Name: list_badges(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.list_badges(p_user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
begin
  return (
    select pg_catalog.jsonb_build_object(
      'badges', coalesce(pg_catalog.jsonb_agg(
        (p.def).wire || pg_catalog.jsonb_build_object(
          'earned', p.earned_at is not null,
          'earned_at', p.earned_at,
          'progress', case when p.target is not null then pg_catalog.jsonb_build_object(
            'current', p.current, 'target', p.target) end,
          'rarity', r.rarity)
        || case when (p.def).rule = 'rank' and p.earned_at is not null then
             pg_catalog.jsonb_build_object('placings', badges.placings(p_user_id, p.def)) else '{}' end
        order by (p.def).sort_order, (p.def).id), '[]'::jsonb),
      'earned_count', count(p.earned_at),
      'total_count', count(*),
      -- Enabled hidden badges the user has not earned: not listed, but a client may show that
      -- secrets remain ("???" cards).
      'hidden_count', (
        select count(*) from badges.definitions d
        where d.enabled and d.hidden
          and not exists (select 1 from badges.awards a
                          where a.user_id = p_user_id and a.badge_id = d.id)),
      'next', badges.next_milestones(p_user_id))
    from badges.badge_progress(p_user_id) p
    join badges.rarity() r on r.badge_id = (p.def).id
    where ((p.def).enabled and not (p.def).hidden) or p.earned_at is not null);
end;
$$;

--
-- Name: live_streak(badges.streaks, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.live_streak(p_streak badges.streaks, p_at timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return case
    when greatest(p_streak.last_active_day, p_streak.frozen_through) >= badges.activity_day(
      p_at, p_streak.timezone, p_streak.timezone, p_streak.previous_timezone,
      p_streak.timezone_changed_at) - 1
    then p_streak.current_streak
    else 0
  end;
end;
$$;

--
-- Name: lock_user(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.lock_user(p_user_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(p_user_id::text, 0));
  insert into badges.users (user_id) values (p_user_id) on conflict do nothing;
  if found then
    insert into badges.rarity_deltas (badge_id, holders) values ('', 1);
  end if;
end;
$$;

--
-- Name: mark_notifications_read(uuid, jsonb, boolean); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.mark_notifications_read(p_user_id uuid, p_ids jsonb, p_all boolean) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_marked integer;
begin
  update badges.notifications n set read_at = now()
  where n.user_id = p_user_id and n.read_at is null
    and (p_all or n.id in (select i::bigint from pg_catalog.jsonb_array_elements_text(p_ids) i));
  get diagnostics v_marked = row_count;
  return pg_catalog.jsonb_build_object(
    'marked', v_marked,
    'unread_count', (select count(*) from badges.notifications u
                     where u.user_id = p_user_id and u.read_at is null));
end;
$$;

--
-- Name: metric_units_changed(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.metric_units_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  update badges.definitions d set earned_text = null where d.metric = new.id;
  return null;
end;
$$;

--
-- Name: move_board_buckets(text[], date[], bigint[], bigint[]); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.move_board_buckets(p_boards text[], p_periods date[], p_values bigint[], p_users bigint[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  insert into badges.board_buckets as b (board, period, level, key, users)
  select m.board, m.period, l.level, m.value >> (8 * l.level), sum(m.users)
  from rows from (pg_catalog.unnest(p_boards), pg_catalog.unnest(p_periods),
                  pg_catalog.unnest(p_values), pg_catalog.unnest(p_users))
         m(board, period, value, users)
  cross join pg_catalog.generate_series(1, 7) l(level)
  group by 1, 2, 3, 4
  having sum(m.users) <> 0
  order by 1, 2, 3, 4
  on conflict (board, period, level, key) do update set users = b.users + excluded.users;
  -- Emptied groups go, as the fold drops emptied values.
  delete from badges.board_buckets b
  using (select distinct m.board, m.period, l.level, m.value >> (8 * l.level) as key
         from rows from (pg_catalog.unnest(p_boards), pg_catalog.unnest(p_periods),
                         pg_catalog.unnest(p_values)) m(board, period, value)
         cross join pg_catalog.generate_series(1, 7) l(level)) t
  where b.board = t.board and b.period = t.period and b.level = t.level and b.key = t.key
    and b.users = 0;
end;
$$;

--
-- Name: next_milestones(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.next_milestones(p_user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return (
    with candidates as (
      select (p.def).category, p.def, p.current, p.target, p.target - p.current as remaining,
             p.current::numeric / p.target as done, p.unit, p.unit_one
      from badges.badge_progress(p_user_id) p
      where p.earned_at is null and p.target is not null and badges.awardable(p.def)
        and not (p.def).hidden
        and not exists (select 1 from badges.revocations r where r.user_id = p_user_id
                        and r.badge_id = (p.def).id and not r.automatic)
    ), nearest as (
      select distinct on (category) *
      from candidates
      order by category, done desc, remaining, (def).sort_order, (def).id
    )
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'category', category,
        'badge', pg_catalog.jsonb_build_object(
          'id', (def).id, 'name', (def).name, 'icon', (def).icon, 'tier', (def).tier),
        'current', current, 'target', target, 'remaining', remaining,
        'message', pg_catalog.format('%s more %s → %s', remaining,
                                     case when remaining = 1 then unit_one else unit end, (def).name))
      order by done desc, remaining, category), '[]'::jsonb)
    from nearest);
end;
$$;

--
-- Name: next_streak(integer, date, date); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.next_streak(p_current integer, p_last_day date, p_day date) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  return case
    when p_last_day is null then 1
    when p_day = p_last_day + 1 then p_current + 1
    when p_day <= p_last_day then p_current
    else 1
  end;
end;
$$;

--
-- Name: open_board(text, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.open_board(p_board_id text, p_period text, OUT board badges.leaderboards, OUT period date, OUT starts_at timestamp with time zone, OUT ends_at timestamp with time zone, OUT final boolean) RETURNS record
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  select * into board from badges.leaderboards l where l.id = p_board_id and l.enabled;
  if not found then
    raise exception using errcode = 'BD013', message = 'unknown leaderboard',
      detail = pg_catalog.format('No leaderboard of the catalog has the id %L.', p_board_id);
  end if;
  period := badges.requested_period(board, p_period);
  select b.starts_at, b.ends_at into starts_at, ends_at from badges.period_bounds(board, period) b;
  final := ends_at is not null and badges.period_final(ends_at);
  -- A period that ended before the board existed and has no entries is empty: read, not
  -- archived (clients may name any past date).
  if final and (ends_at > board.created_at
                or exists (select 1 from badges.board_entries e
                           where e.board_id = board.id and e.period = open_board.period)) then
    perform badges.archive_period(board, period);
  end if;
end;
$$;

--
-- Name: open_share(uuid, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.open_share(p_opener_id uuid, p_share_id text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_share badges.shares;
  v_counted boolean;
begin
  select * into v_share from badges.shares s where s.id = p_share_id;
  if not found then
    raise exception using errcode = 'BD009', message = 'unknown share',
      detail = 'No share has this id.';
  end if;
  if v_share.user_id = p_opener_id then
    return pg_catalog.jsonb_build_object('counted', false);
  end if;
  insert into badges.share_opens (share_id, opener_id) values (p_share_id, p_opener_id)
  on conflict do nothing;
  v_counted := found;
  -- The definition as it is now (even disabled: then nothing is awarded, and no error).
  if v_counted and badges.awardable(
       (select d from badges.definitions d where d.id = v_share.badge_id)) then
    perform badges.award_badge(v_share.user_id, v_share.badge_id, false);
  end if;
  return pg_catalog.jsonb_build_object('counted', v_counted);
end;
$$;

--
-- Name: outbox_rows(text, integer, bigint); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.outbox_rows(p_status text, p_limit integer, p_before bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
  with page as (
    select o.* from badges.outbox o
    where o.status = p_status and (p_before is null or o.id < p_before)
    order by o.id desc limit p_limit + 1  -- one more than asked: whether a next page exists
  ), shown as (
    select * from page order by id desc limit p_limit
  )
  select pg_catalog.jsonb_build_object(
    'notifications', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'id', p.id, 'dedupe_key', p.dedupe_key, 'user_id', p.user_id, 'badge_id', p.badge_id,
      'status', p.status, 'attempts', p.attempts, 'last_error', p.last_error,
      'delivered_channels', p.delivered_channels, 'created_at', p.created_at,
      'last_attempt_at', p.last_attempt_at, 'next_attempt_at', p.next_attempt_at)
      order by p.id desc), '[]'),
    'next_before', case when (select count(*) from page) > p_limit then min(p.id) end)
  from shown p
$$;

--
-- Name: period_bounds(badges.leaderboards, date); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.period_bounds(p_board badges.leaderboards, p_period date, OUT starts_at timestamp with time zone, OUT ends_at timestamp with time zone) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  starts_at := case p_board.period when 'all_time' then null when 'season' then p_board.starts_at
                 else p_period::timestamp at time zone p_board.timezone end;
  ends_at := case p_board.period
               when 'daily' then (p_period + 1)::timestamp at time zone p_board.timezone
               when 'weekly' then (p_period + 7)::timestamp at time zone p_board.timezone
               when 'monthly' then (p_period + interval '1 month') at time zone p_board.timezone
               when 'season' then p_board.ends_at
             end;
end;
$$;

--
-- Name: period_final(timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.period_final(p_ends_at timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return p_ends_at <= pg_catalog.now() - interval '5 minutes';
end;
$$;

--
-- Name: period_json(badges.leaderboards, date, timestamp with time zone, timestamp with time zone, boolean); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.period_json(p_board badges.leaderboards, p_period date, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_final boolean) RETURNS json
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return pg_catalog.json_build_object(
    'start', case when p_board.period <> 'all_time' then p_period end,
    'starts_at', p_starts_at, 'ends_at', p_ends_at, 'final', p_final);
end;
$$;

--
-- Name: period_lock(text, date); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.period_lock(p_board_id text, p_period date) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  return pg_catalog.hashtextextended('badges.board:' || p_board_id || ':' || p_period, 0);
end;
$$;

--
-- Name: period_page(text, date, uuid, integer, integer, bigint, timestamp with time zone, uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.period_page(p_board text, p_period date, p_user_id uuid, p_limit integer, p_offset integer, p_after_value bigint, p_after_at timestamp with time zone, p_after_user uuid) RETURNS json
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
declare
  v_start bigint;
  v_skip bigint := 0;
  v_values bigint[];
  v_ats timestamptz[];
  v_users uuid[];
  v_first bigint;
  v_rank bigint;
  v_ranks bigint[];
  v_count record;
  v_entries text;
  v_mine bigint;
  v_after_at timestamptz := coalesce(p_after_at, '-infinity');
  v_after_user uuid := coalesce(p_after_user, '00000000-0000-0000-0000-000000000000');
begin
  if p_after_value is not null then
    v_start := p_after_value;
  elsif p_offset = 0 then
    v_start := 9223372036854775807;  -- from the top: every value is below it
  else
    select b.value, b.skip into v_start, v_skip
    from badges.board_position(p_board, p_period, p_offset + 1) b;
  end if;

  select pg_catalog.array_agg(value order by value desc, at, user_id),
         pg_catalog.array_agg(at order by value desc, at, user_id),
         pg_catalog.array_agg(user_id order by value desc, at, user_id)
  into v_values, v_ats, v_users
  from (
    (select e.value, e.at, e.user_id from badges.board_entries e
     where e.board_id = p_board and e.period = p_period and e.value > 0 and e.value = v_start
       and (e.at, e.user_id) > (v_after_at, v_after_user)
     order by e.value desc, e.at, e.user_id
     offset v_skip limit p_limit + 1)
    union all
    (select e.value, e.at, e.user_id from badges.board_entries e
     where e.board_id = p_board and e.period = p_period and e.value > 0 and e.value < v_start
     order by e.value desc, e.at, e.user_id
     limit p_limit + 1)
    order by 1 desc, 2, 3
    limit p_limit + 1) page;

  v_first := v_values[1];
  select * into v_count from badges.board_count(p_board, p_period, v_first);
  if v_first is not null then
    -- A page from the top starts at the highest value: nobody is above it.
    v_rank := case when p_offset = 0 and p_after_value is null then 1
                   else 1 + badges.board_above(p_board, p_period, v_first) end;
    v_ranks := badges.run_ranks(v_values[1:p_limit], v_rank, v_count.at_value);
    select pg_catalog.string_agg(
             '{"rank":' || v_ranks[u.n] || ',"user_id":"' || u.user_id
             || '","value":' || u.value || '}', ',' order by u.n)
    into v_entries
    from rows from (pg_catalog.unnest(v_values[1:p_limit]),
                    pg_catalog.unnest(v_users[1:p_limit])) with ordinality u(value, user_id, n);
  end if;

  if p_user_id is not null then
    select e.value into v_mine from badges.board_entries e
    where e.board_id = p_board and e.period = p_period and e.user_id = p_user_id;
  end if;

  return pg_catalog.json_build_object(
    'entries', ('[' || coalesce(v_entries, '') || ']')::json,
    'me', case when v_mine > 0 then pg_catalog.json_build_object(
            'rank', case when v_mine = v_first then v_rank
                         else 1 + badges.board_above(p_board, p_period, v_mine) end,
            'user_id', p_user_id, 'value', v_mine) end,
    'total', v_count.total,
    'next_after', case when pg_catalog.cardinality(v_values) > p_limit then
      pg_catalog.json_build_object('value', v_values[p_limit], 'at', v_ats[p_limit],
                                   'user_id', v_users[p_limit]) end);
end;
$$;

--
-- Name: ping(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.ping() RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return true;
end;
$$;

--
-- Name: placings(uuid, badges.definitions); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.placings(p_user_id uuid, d badges.definitions) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return (
    select pg_catalog.jsonb_build_object(
      'times', count(*),
      'latest', (pg_catalog.array_agg(
                   pg_catalog.jsonb_build_object('period', x.period, 'rank', x.rank)
                   order by x.period desc))[1])
    from badges.board_placings x
    where x.user_id = p_user_id and x.board_id = d.board and x.rank <= d.threshold);
end;
$$;

--
-- Name: preferences(uuid, boolean, boolean); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.preferences(p_user_id uuid, p_feed_opt_out boolean, p_profile_public boolean) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
begin
  if p_feed_opt_out is not null or p_profile_public is not null then
    perform badges.lock_user(p_user_id);
    update badges.users u
    set feed_opt_out = coalesce(p_feed_opt_out, u.feed_opt_out),
        profile_public = coalesce(p_profile_public, u.profile_public)
    where u.user_id = p_user_id;
  end if;
  -- A user never written for has the defaults (and no row: reading registers nobody).
  return (select pg_catalog.jsonb_build_object(
                   'feed_opt_out', coalesce(u.feed_opt_out, false),
                   'profile_public', coalesce(u.profile_public, true))
          from (select) one left join badges.users u on u.user_id = p_user_id);
end;
$$;

--
-- Name: profile(uuid, uuid, integer, timestamp with time zone, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.profile(p_viewer uuid, p_user_id uuid, p_limit integer, p_before_at timestamp with time zone, p_before_badge text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_own boolean := coalesce(p_viewer = p_user_id, false);
  v_public boolean;
  v_level badges.levels;
  v_page jsonb;
  v_more boolean;
begin
  select u.profile_public into v_public from badges.users u where u.user_id = p_user_id;
  if not v_own and (v_public is null or (p_viewer is not null and not v_public)) then
    raise exception using errcode = 'BD011', message = 'unknown user',
      detail = pg_catalog.format('No user with a public profile has the id %s.', p_user_id);
  end if;
  v_level := badges.reached_level(p_user_id);

  with page as (
    select d, a.badge_id, a.earned_at
    from badges.awards a
    join badges.definitions d on d.id = a.badge_id
    where a.user_id = p_user_id and (v_own or not d.hidden)
      and (p_before_at is null or (a.earned_at, a.badge_id) < (p_before_at, p_before_badge))
    order by a.earned_at desc, a.badge_id desc
    limit p_limit + 1  -- one more than asked: whether a next page exists
  ), shown as (
    select * from page order by earned_at desc, badge_id desc limit p_limit
  )
  select coalesce(pg_catalog.jsonb_agg(badges.profile_badge(s.d, s.earned_at)
                                       order by s.earned_at desc, s.badge_id desc), '[]'),
         (select count(*) from page) > p_limit
  into v_page, v_more
  from shown s;

  return pg_catalog.jsonb_build_object(
    'user_id', p_user_id,
    'badge_count', coalesce((select s.badge_count from badges.user_stats s
                             where s.user_id = p_user_id), 0),
    'level', case when v_level.id is not null then
      pg_catalog.jsonb_build_object('id', v_level.id, 'name', v_level.name) end,
    'showcase', badges.showcase_of(p_user_id, v_own),
    'badges', v_page,
    'more', v_more);
end;
$$;

--
-- Name: profile_badge(badges.definitions, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.profile_badge(d badges.definitions, p_earned_at timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  return pg_catalog.jsonb_build_object(
    'badge', pg_catalog.jsonb_build_object(
      'id', d.id, 'name', d.name, 'icon', d.icon, 'tier', d.tier, 'category', d.category),
    'earned_at', p_earned_at);
end;
$$;

--
-- Name: progress(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.progress(p_user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
begin
  return (
    select pg_catalog.jsonb_build_object('milestones', badges.next_milestones(p_user_id)));
end;
$$;

--
-- Name: rarity(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.rarity() RETURNS TABLE(badge_id text, rarity jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
#variable_conflict use_column
begin
  return query
    with counts as (
      select c.badge_id, sum(c.holders) as holders
      from (select x.badge_id, x.holders from badges.rarity_counts x
            union all
            select x.badge_id, x.holders from badges.rarity_deltas x) c
      group by c.badge_id
    ), users as (
      select coalesce((select holders from counts where counts.badge_id = ''), 0) as n
    )
    select d.id, pg_catalog.jsonb_build_object(
      'earned_count', coalesce(c.holders, 0),
      'earned_percent', round(100.0 * coalesce(c.holders, 0) / greatest(u.n, c.holders, 1), 1))
    from badges.definitions d cross join users u left join counts c on c.badge_id = d.id;
end;
$$;

--
-- Name: levels; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.levels (
    id text NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    sort_order integer DEFAULT 0 NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT levels_id_check CHECK ((id ~ '^[A-Za-z0-9_.:-]{1,64}$'::text)),
    CONSTRAINT levels_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

--
-- Name: reached_level(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.reached_level(p_user_id uuid) RETURNS badges.levels
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  v_level badges.levels;
begin
  select l.* into v_level from badges.levels l
  where l.enabled
    and not exists (
      select from badges.level_requirements r
      where r.level_id = l.id
        and coalesce((select t.total from badges.metric_totals t
                      where t.user_id = p_user_id and t.metric = r.metric), 0) < r.required)
  order by l.sort_order desc, l.id desc
  limit 1;
  if not found then
    return null;  -- no level reached: null, as the query's empty result was
  end if;
  return v_level;
end;
$$;

--
-- Name: rebuild_counts(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.rebuild_counts() RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_rarity bigint;
  v_board bigint;
  v_rows bigint;
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('badges.fold_counts', 0));
  lock table badges.awards, badges.users, badges.user_stats, badges.board_entries in share mode;
  delete from badges.rarity_deltas;
  delete from badges.rarity_counts;
  insert into badges.rarity_counts (badge_id, shard, holders)
  select badge_id, 0, count(*) from badges.awards group by badge_id
  union all
  select '', 0, count(*) from badges.users;
  get diagnostics v_rarity = row_count;

  delete from badges.board_deltas;
  delete from badges.board_counts;
  insert into badges.board_counts (board, value, users)
  select 'badge_count', badge_count, count(*) from badges.user_stats
  where badge_count > 0 group by badge_count
  union all
  select 'correct_count', correct_count, count(*) from badges.user_stats
  where correct_count > 0 group by correct_count;
  get diagnostics v_board = row_count;
  insert into badges.board_counts (board, period, value, users)
  select board_id, period, value, count(*) from badges.board_entries
  where value > 0 group by board_id, period, value;
  get diagnostics v_rows = row_count;
  v_board := v_board + v_rows;
  return pg_catalog.jsonb_build_object('rarity', v_rarity, 'board', v_board);
end;
$$;

--
-- Name: record_activity(uuid, text, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.record_activity(p_user_id uuid, p_timezone text DEFAULT NULL::text, p_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_streak badges.streaks;
  v_awarded text[];
begin
  perform badges.lock_user(p_user_id);
  v_streak := badges.touch_activity(p_user_id, p_timezone, p_at);
  v_awarded := badges.award_qualifying(p_user_id, array['streak', 'active_days'], p_at);
  return badges.streak_json(p_user_id, v_streak, coalesce(p_at, now()))
    || pg_catalog.jsonb_build_object('awarded', pg_catalog.to_jsonb(v_awarded));
end;
$$;

--
-- Name: record_score(uuid, text, boolean); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.record_score(p_user_id uuid, p_provider_id text, p_quiz_correct boolean) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
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

--
-- Name: refill_board(text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.refill_board(p_board_id text) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_board badges.leaderboards;
  v_period date;
  v_from timestamptz;
  v_to timestamptz;
  v_rows integer;
begin
  select * into strict v_board from badges.leaderboards where id = p_board_id;
  v_period := case v_board.period
    when 'season' then (v_board.starts_at at time zone v_board.timezone)::date
    else badges.board_period(v_board, pg_catalog.now()) end;
  select b.starts_at, b.ends_at into v_from, v_to from badges.period_bounds(v_board, v_period) b;
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('badges.fold_counts', 0));
  delete from badges.board_entries e where e.board_id = p_board_id
    and not exists (select 1 from badges.board_periods p
                    where p.board_id = e.board_id and p.period = e.period);
  delete from badges.board_deltas d where d.board = p_board_id
    and not exists (select 1 from badges.board_periods p
                    where p.board_id = d.board and p.period = d.period);
  delete from badges.board_counts c where c.board = p_board_id
    and not exists (select 1 from badges.board_periods p
                    where p.board_id = c.board and p.period = c.period);
  if exists (select 1 from badges.board_periods p
             where p.board_id = p_board_id and p.period = v_period) then
    return 0;
  end if;

  with record as (
    select t.user_id, t.total as amount, t.updated_at as at
    from badges.metric_totals t
    where v_board.period = 'all_time' and t.metric = v_board.metric
    union all
    select e.user_id, e.amount, e.occurred_at
    from badges.metric_events e
    where v_board.period <> 'all_time' and e.metric = v_board.metric
      and e.occurred_at >= v_from and e.occurred_at < v_to
    union all
    select s.user_id, s.badge_count, s.badge_count_at
    from badges.user_stats s
    where v_board.period = 'all_time' and v_board.metric = 'badge_count'
    union all
    select a.user_id, 1, a.earned_at
    from badges.awards a
    where v_board.period <> 'all_time' and v_board.metric = 'badge_count'
      and a.earned_at >= v_from and a.earned_at < v_to
    union all
    select s.user_id, s.correct_count, s.correct_count_at
    from badges.user_stats s
    where v_board.period = 'all_time' and v_board.metric = 'quiz_correct'
    union all
    select q.user_id, 1, q.first_correct_at
    from badges.quiz_scores q
    where v_board.period <> 'all_time' and v_board.metric = 'quiz_correct'
      and q.first_correct_at >= v_from and q.first_correct_at < v_to
  ), entries as (
    insert into badges.board_entries (board_id, period, user_id, value, at)
    select p_board_id, v_period, user_id, sum(amount), coalesce(max(at), pg_catalog.now())
    from record group by user_id having sum(amount) <> 0
    order by user_id
    returning value
  )
  insert into badges.board_counts (board, period, value, users)
  select p_board_id, v_period, value, count(*) from entries where value > 0 group by value;
  select count(*) into v_rows from badges.board_entries where board_id = p_board_id;
  return v_rows;
end;
$$;

--
-- Name: register_push_token(uuid, text, text, boolean); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.register_push_token(p_user_id uuid, p_token text, p_platform text, p_take_over boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
begin
  insert into badges.push_tokens as t (token, user_id, platform)
  values (p_token, p_user_id, p_platform)
  on conflict (token) do update
    set user_id = excluded.user_id, platform = excluded.platform, updated_at = now()
    where t.user_id = excluded.user_id or p_take_over;
  if not found then
    raise exception using errcode = 'BD010', message = 'push token taken',
      detail = 'This push token is registered to another user.',
      hint = 'The other user''s app unregisters it at sign-out; a service caller may move it.';
  end if;
  delete from badges.push_tokens t
  where t.user_id = p_user_id
    and t.token not in (select k.token from badges.push_tokens k where k.user_id = p_user_id
                        order by k.updated_at desc, k.token limit 10);
  return pg_catalog.jsonb_build_object(
    'registered', true,
    'token_count', (select count(*) from badges.push_tokens t where t.user_id = p_user_id));
end;
$$;

--
-- Name: requested_period(badges.leaderboards, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.requested_period(p_board badges.leaderboards, p_period text) RETURNS date
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  v_current date := case p_board.period
    when 'season' then (p_board.starts_at at time zone p_board.timezone)::date
    else badges.board_period(p_board, pg_catalog.now()) end;
  v_period date;
begin
  if p_period is null or p_period = 'current' then
    return v_current;
  elsif p_period = 'previous' and p_board.period not in ('all_time', 'season') then
    return badges.board_period(p_board, (v_current::timestamp at time zone p_board.timezone)
                                        - interval '1 microsecond');
  elsif p_period = 'previous' or p_board.period = 'all_time' then
    raise exception using errcode = 'BD004', message = 'the board has one period',
      detail = pg_catalog.format('%L is a %s board: ask for its current period.',
                                 p_board.id, replace(p_board.period, '_', '-'));
  elsif p_period !~ '^\d{4}-\d{2}-\d{2}$' then
    raise exception using errcode = 'BD004', message = 'invalid period',
      detail = 'period is "current", "previous" or a date (YYYY-MM-DD) inside a period.';
  end if;
  begin
    v_period := badges.board_period(
      p_board, p_period::date::timestamp at time zone p_board.timezone);
  exception when datetime_field_overflow or invalid_datetime_format then
    raise exception using errcode = 'BD004', message = 'invalid period',
      detail = pg_catalog.format('%L is not a date.', p_period);
  end;
  if v_period is null then
    raise exception using errcode = 'BD004', message = 'date outside the season',
      detail = pg_catalog.format('%L is not inside the season of %L.', p_period, p_board.id);
  elsif v_period > v_current then
    raise exception using errcode = 'BD004', message = 'period not started',
      detail = pg_catalog.format('The period of %L has not started yet.', p_period);
  end if;
  return v_period;
end;
$_$;

--
-- Name: requeue_notifications(jsonb); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.requeue_notifications(p_ids jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_rows integer;
begin
  update badges.outbox o
  set status = 'pending', attempts = 0, next_attempt_at = now(), finished_at = null
  where o.status = 'dead'
    and (p_ids is null
         or o.id in (select i::bigint from pg_catalog.jsonb_array_elements_text(p_ids) i));
  get diagnostics v_rows = row_count;
  return pg_catalog.jsonb_build_object('requeued', v_rows);
end;
$$;

--
-- Name: revoke_badge(uuid, text, text, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.revoke_badge(p_user_id uuid, p_badge_id text, p_reason text, p_revoked_by text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_def badges.definitions;
begin
  select * into v_def from badges.definitions where id = p_badge_id;
  if not found then
    raise exception using errcode = 'BD001', message = 'unknown badge',
      detail = pg_catalog.format('No badge has the id %L.', p_badge_id);
  end if;
  perform badges.lock_user(p_user_id);

  with removed as (
    delete from badges.awards where user_id = p_user_id and badge_id = p_badge_id
    returning user_id, badge_id, earned_at
  )
  insert into badges.revocations (user_id, badge_id, earned_at, reason, revoked_by)
  select user_id, badge_id, earned_at, p_reason, p_revoked_by from removed;

  return pg_catalog.jsonb_build_object('revoked', found);
end;
$$;

--
-- Name: revoke_lapsed(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.revoke_lapsed(p_user_id uuid) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: row_key(jsonb, text, text, text, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.row_key(p_row jsonb, p_metric text, p_key_column text, p_trigger text, p_table text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  return 'row:' || pg_catalog.md5(pg_catalog.concat_ws(':', p_metric, p_table, p_trigger,
    badges.row_value(p_row, p_key_column, p_trigger)::text));
end;
$$;

--
-- Name: row_value(jsonb, text, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.row_value(p_row jsonb, p_column text, p_trigger text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  if not p_row ? p_column then
    raise exception using errcode = 'BD004', message = 'trigger names a missing column',
      detail = pg_catalog.format('Trigger %s: the row has no column %L.', p_trigger, p_column);
  end if;
  return p_row -> p_column;
end;
$$;

--
-- Name: run_job(text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.run_job(p_action text) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_url text;
  v_key text;
  v_body jsonb;
begin
  if p_action is null
     or p_action not in ('deliver_notifications', 'check_badges', 'check_streaks') then
    raise exception using errcode = 'BD004', message = 'unknown job',
      detail = pg_catalog.format('%L is not a scheduled job of badges.', p_action),
      hint = 'The jobs are deliver_notifications, check_badges and check_streaks.';
  end if;
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    raise exception using errcode = 'BD004', message = 'Supabase Vault is not available',
      detail = 'badges.run_job reads the function URL and the service key from Vault.',
      hint = 'Run the jobs on Supabase, or call the badges_jobs function from another scheduler.';
  end if;
  if pg_catalog.to_regprocedure('net.http_post(text,jsonb,jsonb,jsonb,integer)') is null then
    raise exception using errcode = 'BD004', message = 'pg_net is not installed',
      hint = 'Enable it: create extension if not exists pg_net;';
  end if;

  select s.decrypted_secret into v_url
  from vault.decrypted_secrets s where s.name = 'badges_jobs_url';
  select s.decrypted_secret into v_key
  from vault.decrypted_secrets s where s.name = 'badges_service_role_key';
  if v_url is null or v_url = '' or v_key is null or v_key = '' then
    raise exception using errcode = 'BD004', message = 'badges job secrets missing from Vault',
      detail = pg_catalog.format('Missing: %s.', pg_catalog.concat_ws(', ',
        case when v_url is null or v_url = '' then 'badges_jobs_url' end,
        case when v_key is null or v_key = '' then 'badges_service_role_key' end)),
      hint = 'Create them: select vault.create_secret(''<badges_jobs URL>'', ''badges_jobs_url'');'
        || ' select vault.create_secret(''<service_role key>'', ''badges_service_role_key'');';
  end if;

  v_body := pg_catalog.jsonb_build_object('action', p_action);
  if p_action in ('check_badges', 'check_streaks') then
    v_body := v_body || pg_catalog.jsonb_build_object('all', true);
  end if;

  return net.http_post(
    url => v_url,
    body => v_body,
    params => '{}'::jsonb,
    headers => pg_catalog.jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || v_key),
    timeout_milliseconds => 55000);
end;
$$;

--
-- Name: run_ranks(bigint[], bigint, bigint); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.run_ranks(p_values bigint[], p_rank bigint, p_at_first bigint) RETURNS bigint[]
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
declare
  v_ranks bigint[];
begin
  select pg_catalog.array_agg(r.rank order by r.n) into v_ranks
  from (select u.n,
               case when u.value = p_values[1] then p_rank
                    else p_rank + p_at_first - 1 + pg_catalog.rank() over (order by u.value desc)
                         - count(*) filter (where u.value = p_values[1]) over () end as rank
        from pg_catalog.unnest(p_values) with ordinality u(value, n)) r;
  return v_ranks;
end;
$$;

--
-- Name: schedule_jobs(text, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.schedule_jobs(p_deliver text DEFAULT '* * * * *'::text, p_daily text DEFAULT '15 3 * * *'::text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  -- to_regprocedure raises 42501 for a name in a schema the caller may not use: the schemas
  -- come first (to_regnamespace and has_schema_privilege answer for any schema).
  v_cron_ns oid := pg_catalog.to_regnamespace('cron');
  v_net_ns oid := pg_catalog.to_regnamespace('net');
  v_cron_usage boolean :=
    v_cron_ns is not null and pg_catalog.has_schema_privilege(v_cron_ns, 'USAGE');
  v_net_usage boolean :=
    v_net_ns is not null and pg_catalog.has_schema_privilege(v_net_ns, 'USAGE');
  v_schedule pg_catalog.regprocedure;
  v_post pg_catalog.regprocedure;
  v_cron boolean;
  v_net boolean;
  v_denied text;
  v_job record;
  v_names text[] := '{}';
begin
  if v_cron_usage then
    v_schedule := coalesce(pg_catalog.to_regprocedure('cron.schedule(text,text,text)'),
                           pg_catalog.to_regprocedure('cron.schedule(name,text,text)'));
  end if;
  if v_net_usage then
    v_post := pg_catalog.to_regprocedure('net.http_post(text,jsonb,jsonb,jsonb,integer)');
  end if;
  -- A schema the caller may not use counts as installed: it is told it is not permitted.
  v_cron := v_cron_ns is not null and (v_schedule is not null or not v_cron_usage);
  v_net := v_net_ns is not null and (v_post is not null or not v_net_usage);
  if not (v_cron and v_net) then
    return pg_catalog.jsonb_build_object(
      'scheduled', '[]'::jsonb,
      'reason', pg_catalog.concat_ws(' and ',
          case when not v_cron then 'pg_cron' end,
          case when not v_net then 'pg_net' end)
        || case when v_cron or v_net then ' is' else ' are' end
        || ' not installed: enable them, then run select badges.schedule_jobs();');
  end if;
  -- A job runs as the role that scheduled it: it must be able to call net.http_post too.
  v_denied := case
    when not v_cron_usage then 'has no USAGE on schema cron'
    when not pg_catalog.has_function_privilege(v_schedule, 'EXECUTE')
      then 'may not execute ' || v_schedule::text
    when not v_net_usage then 'has no USAGE on schema net'
    when not pg_catalog.has_function_privilege(v_post, 'EXECUTE')
      then 'may not execute ' || v_post::text
  end;
  if v_denied is not null then
    return pg_catalog.jsonb_build_object(
      'scheduled', '[]'::jsonb,
      'reason', pg_catalog.format('not permitted: %s %s; run select badges.schedule_jobs();'
        || ' as postgres (the SQL editor, supabase db push): pg_cron runs a job as the role'
        || ' that scheduled it.', current_user, v_denied));
  end if;
  if p_deliver is null or p_daily is null then
    raise exception using errcode = 'BD004', message = 'schedule must not be null',
      hint = 'Pass cron schedules such as ''* * * * *'' and ''15 3 * * *''.';
  end if;

  for v_job in
    select * from (values
      (1, 'badges-deliver-notifications', p_deliver, 'deliver_notifications'),
      (2, 'badges-check-badges', p_daily, 'check_badges'),
      (3, 'badges-check-streaks', p_daily, 'check_streaks')) as j (ord, name, schedule, action)
    order by j.ord
  loop
    -- text: cron.schedule(text, …) of pg_cron 1.4 on, or (name, …) of 1.3 by the implicit cast
    perform cron.schedule(v_job.name, v_job.schedule,
      pg_catalog.format('select badges.run_job(%L)', v_job.action));
    v_names := v_names || v_job.name;
  end loop;
  return pg_catalog.jsonb_build_object('scheduled', pg_catalog.to_jsonb(v_names));
end;
$$;

--
-- Name: score_attempt(uuid, text, boolean); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.score_attempt(p_user_id uuid, p_provider_id text, p_correct boolean) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if not exists (select 1 from badges.quiz_providers where id = p_provider_id and active) then
    raise exception using errcode = 'BD002', message = 'unknown provider',
      detail = pg_catalog.format('No active quiz provider has the id %L.', p_provider_id);
  end if;

  insert into badges.quiz_scores as q (user_id, provider_id, attempts)
  values (p_user_id, p_provider_id, 1)
  on conflict (user_id, provider_id) do update
    set attempts = q.attempts + 1, last_attempt_at = now();

  if not p_correct then
    return false;
  end if;
  update badges.quiz_scores set quiz_correct = true, first_correct_at = now()
  where user_id = p_user_id and provider_id = p_provider_id and not quiz_correct;
  return found;
end;
$$;

--
-- Name: score_leaderboard(uuid, integer, integer, integer, timestamp with time zone, uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.score_leaderboard(p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer DEFAULT NULL::integer, p_after_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_after_user uuid DEFAULT NULL::uuid) RETURNS json
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
begin
  return badges.board_page('correct_count', p_user_id, p_limit, p_offset,
                      p_after_value, p_after_at, p_after_user);
end;
$$;

--
-- Name: set_as_of(timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.set_as_of(p_at timestamp with time zone) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: set_showcase(uuid, jsonb); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.set_showcase(p_user_id uuid, p_badge_ids jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $_$
declare
  v_ids text[];
  v_held integer;
  v_id text;
begin
  if pg_catalog.jsonb_typeof(p_badge_ids) is distinct from 'array'
     or pg_catalog.jsonb_path_exists(p_badge_ids, 'strict $[*] ? (@.type() != "string")') then
    raise exception using errcode = 'BD004', message = 'invalid showcase',
      detail = 'badge_ids must be an array of badge ids.';
  end if;
  v_ids := array(select e.id from pg_catalog.jsonb_array_elements_text(p_badge_ids)
                 with ordinality e (id, n) order by e.n);
  if pg_catalog.cardinality(v_ids) > 5 then
    raise exception using errcode = 'BD004', message = 'showcase too long',
      detail = pg_catalog.format('At most 5 badges can be pinned, not %s.',
                                 pg_catalog.cardinality(v_ids));
  end if;
  if pg_catalog.cardinality(v_ids)
     <> (select count(distinct u.id) from pg_catalog.unnest(v_ids) u (id)) then
    raise exception using errcode = 'BD004', message = 'badge pinned twice',
      detail = 'Each badge can be pinned once.';
  end if;
  select u.id into v_id from pg_catalog.unnest(v_ids) with ordinality u (id, n)
  where not exists (select from badges.definitions d where d.id = u.id)
  order by u.n limit 1;
  if found then
    raise exception using errcode = 'BD001', message = 'unknown badge',
      detail = pg_catalog.format('No badge has the id %L.', v_id);
  end if;

  perform badges.lock_user(p_user_id);
  select count(*) into v_held from (
    select from badges.awards a
    where a.user_id = p_user_id and a.badge_id = any (v_ids)
    for key share) held;
  if v_held < pg_catalog.cardinality(v_ids) then
    select u.id into v_id from pg_catalog.unnest(v_ids) with ordinality u (id, n)
    where not exists (select from badges.awards a
                      where a.user_id = p_user_id and a.badge_id = u.id)
    order by u.n limit 1;
    raise exception using errcode = 'BD012', message = 'badge not earned',
      detail = pg_catalog.format('Only earned badges can be pinned, and %L is not one.', v_id);
  end if;

  delete from badges.showcases s where s.user_id = p_user_id;
  insert into badges.showcases (user_id, badge_id, slot)
  select p_user_id, u.id, u.n from pg_catalog.unnest(v_ids) with ordinality u (id, n);
  return pg_catalog.jsonb_build_object('showcase', badges.showcase_of(p_user_id, true));
end;
$_$;

--
-- Name: shard(uuid); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.shard(p_user_id uuid) RETURNS smallint
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select (pg_catalog.hashtextextended(p_user_id::text, 7) & 15)::smallint
$$;

--
-- Name: showcase_of(uuid, boolean); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.showcase_of(p_user_id uuid, p_hidden boolean) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return (
    select coalesce(pg_catalog.jsonb_agg(badges.profile_badge(d, a.earned_at) order by s.slot),
                    '[]')
    from badges.showcases s
    join badges.awards a on a.user_id = s.user_id and a.badge_id = s.badge_id
    join badges.definitions d on d.id = s.badge_id
    where s.user_id = p_user_id and (p_hidden or not d.hidden));
end;
$$;

--
-- Name: streak_json(uuid, badges.streaks, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.streak_json(p_user_id uuid, p_streak badges.streaks, p_at timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return pg_catalog.jsonb_build_object(
    'current_streak', coalesce(badges.live_streak(p_streak, p_at), 0),
    'longest_streak', coalesce(p_streak.longest_streak, 0),
    'freezes_left', coalesce(p_streak.freezes_left, 0),
    'frozen_days', coalesce((
      select pg_catalog.jsonb_agg(f.day order by f.day) from badges.frozen_days f
      where f.user_id = p_user_id and f.day >= p_streak.streak_start
        and badges.live_streak(p_streak, p_at) > 0), '[]'::jsonb));
end;
$$;

--
-- Name: streak_today(badges.streaks, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.streak_today(p_streak badges.streaks, p_at timestamp with time zone) RETURNS date
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return badges.activity_day(p_at, p_streak.timezone, p_streak.timezone,
                             p_streak.previous_timezone, p_streak.timezone_changed_at);
end;
$$;

--
-- Name: sync_catalog(jsonb); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.sync_catalog(p_catalog jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
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

--
-- Name: sync_leaderboards(jsonb); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.sync_leaderboards(p_boards jsonb) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_board record;
  v_changed integer := 0;
  v_rows integer;
begin
  for v_board in
    select * from pg_catalog.jsonb_to_recordset(p_boards) as b(
      id text, name text, description text, metric text, period text, timezone text,
      week_start smallint, starts_at timestamptz, ends_at timestamptz, sort_order integer)
  loop
    if not exists (select 1 from pg_catalog.pg_timezone_names z
                   where z.name = coalesce(v_board.timezone, 'UTC')) then
      raise exception using errcode = 'BD004', message = 'unknown time zone',
        detail = pg_catalog.format('The leaderboard %L has the time zone %L, which PostgreSQL'
                                   ' does not know.', v_board.id, v_board.timezone);
    end if;
    if v_board.metric not in ('badge_count', 'quiz_correct')
       and not exists (select 1 from badges.metrics m where m.id = v_board.metric and m.enabled)
    then
      raise exception using errcode = 'BD005', message = 'unknown metric',
        detail = pg_catalog.format('The leaderboard %L ranks %L, which is neither a metric of'
                                   ' the catalog nor badge_count or quiz_correct.',
                                   v_board.id, v_board.metric);
    end if;
    insert into badges.leaderboards as t
      (id, name, description, metric, period, timezone, week_start, starts_at, ends_at,
       sort_order, enabled)
    values (v_board.id, v_board.name, coalesce(v_board.description, ''), v_board.metric,
            coalesce(v_board.period, 'all_time'), coalesce(v_board.timezone, 'UTC'),
            coalesce(v_board.week_start, 1), v_board.starts_at, v_board.ends_at,
            coalesce(v_board.sort_order, 0), true)
    on conflict (id) do update set
      name = excluded.name, description = excluded.description, metric = excluded.metric,
      period = excluded.period, timezone = excluded.timezone, week_start = excluded.week_start,
      starts_at = excluded.starts_at, ends_at = excluded.ends_at,
      sort_order = excluded.sort_order, enabled = true, updated_at = now()
    where (t.name, t.description, t.metric, t.period, t.timezone, t.week_start, t.starts_at,
           t.ends_at, t.sort_order, t.enabled)
      is distinct from (excluded.name, excluded.description, excluded.metric, excluded.period,
           excluded.timezone, excluded.week_start, excluded.starts_at, excluded.ends_at,
           excluded.sort_order, true);
    get diagnostics v_rows = row_count;
    v_changed := v_changed + v_rows;
  end loop;

  -- Refill what the writes above made new or re-ranked: compared with what the entries were
  -- counted under (the definition as of their last refill, kept in board_refills).
  for v_board in
    select l.id from badges.leaderboards l
    left join badges.board_refills r on r.board_id = l.id
    where l.enabled
      and (r.board_id is null
           or (r.metric, r.period, r.timezone, r.week_start, r.starts_at, r.ends_at)
              is distinct from (l.metric, l.period, l.timezone, l.week_start, l.starts_at,
                                l.ends_at))
  loop
    perform badges.refill_board(v_board.id);
    insert into badges.board_refills as r
      (board_id, metric, period, timezone, week_start, starts_at, ends_at)
    select id, metric, period, timezone, week_start, starts_at, ends_at
    from badges.leaderboards where id = v_board.id
    on conflict (board_id) do update set
      metric = excluded.metric, period = excluded.period, timezone = excluded.timezone,
      week_start = excluded.week_start, starts_at = excluded.starts_at,
      ends_at = excluded.ends_at, refilled_at = now();
  end loop;

  update badges.leaderboards set enabled = false, updated_at = now()
  where enabled and id not in (select b ->> 'id' from pg_catalog.jsonb_array_elements(p_boards) b);
  get diagnostics v_rows = row_count;
  -- A disabled board stops counting: enabled again, it is refilled.
  delete from badges.board_refills r
  where not exists (select 1 from badges.leaderboards l where l.id = r.board_id and l.enabled);
  return v_changed + v_rows;
end;
$$;

--
-- Name: sync_level_requirements(jsonb); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.sync_level_requirements(p_levels jsonb) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: sync_metrics_and_levels(jsonb, jsonb); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.sync_metrics_and_levels(p_metrics jsonb, p_levels jsonb) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: sync_providers(jsonb); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.sync_providers(p_providers jsonb) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: take_rate_token(uuid, text, integer, integer); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.take_rate_token(p_user_id uuid, p_bucket text, p_burst integer, p_per_minute integer) RETURNS double precision
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
declare
  v_tokens double precision;
begin
  if p_burst < 1 or p_per_minute < 1 then
    raise exception using errcode = 'BD004', message = 'rate limit must be positive';
  end if;

  insert into badges.rate_limits as r (user_id, bucket, tokens, updated_at)
  values (p_user_id, p_bucket, p_burst, now())
  on conflict (user_id, bucket) do update
    -- now() is when the caller's transaction began, which can be before the last update of
    -- a row it waited for: never count negative time, never move updated_at backwards.
    set tokens = least(p_burst::double precision,
                       r.tokens + greatest(0, extract(epoch from now() - r.updated_at))
                                  * p_per_minute / 60.0),
        updated_at = greatest(r.updated_at, now())
  returning tokens into v_tokens;

  if v_tokens >= 1 then
    update badges.rate_limits set tokens = v_tokens - 1
    where user_id = p_user_id and bucket = p_bucket;
    return 0;
  end if;
  return (1 - v_tokens) * 60.0 / p_per_minute;
end;
$$;

--
-- Name: touch_activity(uuid, text, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.touch_activity(p_user_id uuid, p_timezone text, p_at timestamp with time zone) RETURNS badges.streaks
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_at timestamptz := coalesce(p_at, now());
  v_old badges.streaks;
  v_tz text;
  v_previous text;
  v_changed_at timestamptz;
  v_day date;
  v_last date;
  v_current integer;
  v_restart boolean;
  v_grant integer;
  v_row badges.streaks;
begin
  select * into v_old from badges.streaks s where s.user_id = p_user_id for update;
  if v_old.last_active_day is null then
    v_old.timezone := null;  -- a row only a freeze grant made has no zone of its own yet
  end if;
  v_tz := badges.checked_timezone(coalesce(p_timezone, v_old.timezone, 'UTC'));
  v_previous := v_old.previous_timezone;
  v_changed_at := v_old.timezone_changed_at;
  if v_tz <> v_old.timezone
     and (v_changed_at is null or v_at >= v_changed_at + interval '24 hours') then
    v_previous := v_old.timezone;  -- a change inside the window keeps the older anchor
    v_changed_at := v_at;
  end if;
  v_day := badges.activity_day(v_at, v_tz, v_old.timezone, v_previous, v_changed_at);

  insert into badges.activity_days (user_id, day) values (p_user_id, v_day)
  on conflict do nothing;

  if found then
    if v_old.user_id is not null then
      v_old := badges.freeze_missed_days(p_user_id, v_day);  -- missed days first, if held
    end if;
    v_last := greatest(v_old.last_active_day, v_old.frozen_through);
    v_restart := v_last is null or v_day > v_last + 1;
    v_current := badges.next_streak(coalesce(v_old.current_streak, 0), v_last, v_day);
    v_grant := 0;
    if v_last is null or v_day > v_last then  -- the streak grew (or began): a freeze is due?
      select case when v_current % p.every_days = 0
                   and coalesce(v_old.freezes_left, 0) < p.max_held then 1 else 0 end
      into v_grant
      from badges.streak_freeze_policy p;
      v_grant := coalesce(v_grant, 0);
    end if;
    insert into badges.streaks as s (user_id, timezone, previous_timezone, timezone_changed_at,
                                     current_streak, longest_streak, last_active_day,
                                     streak_start, freezes_left)
    values (p_user_id, v_tz, v_previous, v_changed_at, v_current, v_current, v_day, v_day,
            v_grant)
    on conflict (user_id) do update set
      current_streak = v_current,
      longest_streak = greatest(s.longest_streak, v_current),
      last_active_day = greatest(s.last_active_day, v_day),
      streak_start = case when v_restart then v_day else s.streak_start end,
      frozen_through = case when v_restart then null else s.frozen_through end,
      freezes_left = s.freezes_left + v_grant,
      timezone = v_tz, previous_timezone = v_previous, timezone_changed_at = v_changed_at,
      updated_at = now()
    returning * into v_row;
  else
    update badges.streaks s
    set timezone = v_tz, previous_timezone = v_previous, timezone_changed_at = v_changed_at,
        updated_at = now()
    where s.user_id = p_user_id
    returning * into v_row;
  end if;
  return v_row;
end;
$$;

--
-- Name: track(uuid, text, integer, boolean, text, text, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.track(p_user_id uuid, p_metric text, p_amount integer, p_client boolean, p_item text DEFAULT NULL::text, p_idempotency_key text DEFAULT NULL::text, p_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
begin
  perform badges.trackable_metric(p_metric, p_client, p_amount);
  perform badges.lock_user(p_user_id);
  return badges.count_metric(p_user_id, p_metric, p_amount, p_item, p_idempotency_key, p_at);
end;
$$;

--
-- Name: track_change(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.track_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_new jsonb := pg_catalog.to_jsonb(new);
begin
  perform badges.declared_metric(tg_argv[0], tg_name);
  if tg_op = 'UPDATE' and badges.row_value(v_new, tg_argv[1], tg_name)
       is distinct from badges.row_value(pg_catalog.to_jsonb(old), tg_argv[1], tg_name) then
    perform badges.count_row(v_new, tg_argv[0], coalesce(tg_argv[2], 'user_id'), 1, null,
      tg_name, pg_catalog.format('%I.%I', tg_table_schema, tg_table_name));
  end if;
  return null;
end;
$$;

--
-- Name: track_insert(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.track_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_table text := pg_catalog.format('%I.%I', tg_table_schema, tg_table_name);
begin
  perform badges.declared_metric(tg_argv[0], tg_name);
  if tg_op = 'INSERT' then
    perform badges.count_row(pg_catalog.to_jsonb(new), tg_argv[0],
      coalesce(tg_argv[1], 'user_id'), 1, null, tg_name, v_table);
  elsif tg_op = 'DELETE' then
    perform badges.count_row(pg_catalog.to_jsonb(old), tg_argv[0],
      coalesce(tg_argv[1], 'user_id'), -1, null, tg_name, v_table);
  end if;
  return null;
end;
$$;

--
-- Name: track_set(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.track_set() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform badges.count_once(tg_op, tg_relid, tg_name,
    pg_catalog.format('%I.%I', tg_table_schema, tg_table_name),
    pg_catalog.to_jsonb(old), pg_catalog.to_jsonb(new), tg_argv, 'set');
  return null;
end;
$$;

--
-- Name: track_true(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.track_true() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform badges.count_once(tg_op, tg_relid, tg_name,
    pg_catalog.format('%I.%I', tg_table_schema, tg_table_name),
    pg_catalog.to_jsonb(old), pg_catalog.to_jsonb(new), tg_argv, 'true');
  return null;
end;
$$;

--
-- Name: metrics; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.metrics (
    id text NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    unit text DEFAULT ''::text NOT NULL,
    unit_one text DEFAULT ''::text NOT NULL,
    user_trackable boolean DEFAULT false NOT NULL,
    user_max_amount integer DEFAULT 1 NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT metrics_id_check CHECK ((id ~ '^[A-Za-z0-9_.:-]{1,64}$'::text)),
    CONSTRAINT metrics_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT metrics_user_max_amount_check CHECK (((user_max_amount >= 1) AND (user_max_amount <= 1000)))
);

--
-- Name: trackable_metric(text, boolean, integer); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.trackable_metric(p_metric text, p_client boolean, p_amount integer) RETURNS badges.metrics
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
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

--
-- Name: uncount_row(jsonb, text, text, text, text, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.uncount_row(p_row jsonb, p_metric text, p_user_column text, p_key_column text, p_trigger text, p_table text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_user uuid := (badges.row_value(p_row, p_user_column, p_trigger) ->> 0)::uuid;
  v_key text := badges.row_key(p_row, p_metric, p_key_column, p_trigger, p_table);
begin
  if v_user is null then
    return;
  end if;
  perform badges.lock_user(v_user);
  update badges.metric_events e set idempotency_key = v_key || ':deleted:' || e.id
  where e.user_id = v_user and e.idempotency_key = v_key;
  if found then
    perform badges.count_metric(v_user, p_metric, -1, null, null, null);
  end if;
end;
$$;

--
-- Name: unregister_push_token(uuid, text); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.unregister_push_token(p_user_id uuid, p_token text) RETURNS jsonb
    LANGUAGE sql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
  with gone as (
    delete from badges.push_tokens t where t.user_id = p_user_id and t.token = p_token
    returning 1
  )
  select pg_catalog.jsonb_build_object('removed', exists (select from gone))
$$;

--
-- Name: unschedule_jobs(); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.unschedule_jobs() RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_absent constant jsonb := pg_catalog.jsonb_build_object(
    'unscheduled', '[]'::jsonb, 'reason', 'pg_cron is not installed: nothing is scheduled.');
  -- to_regprocedure and to_regclass raise 42501 in a schema the caller may not use: the schema
  -- comes first (to_regnamespace and has_schema_privilege answer for any schema).
  v_cron_ns oid := pg_catalog.to_regnamespace('cron');
  v_unschedule pg_catalog.regprocedure;
  v_job_table pg_catalog.regclass;
  v_denied text;
  v_name text;
  v_names text[] := '{}';
begin
  if v_cron_ns is null then
    return v_absent;
  end if;
  if not pg_catalog.has_schema_privilege(v_cron_ns, 'USAGE') then
    v_denied := 'has no USAGE on schema cron';
  else
    v_unschedule := coalesce(pg_catalog.to_regprocedure('cron.unschedule(text)'),
                             pg_catalog.to_regprocedure('cron.unschedule(name)'));
    v_job_table := pg_catalog.to_regclass('cron.job');
    if v_unschedule is null or v_job_table is null then
      return v_absent;
    end if;
    v_denied := case
      when not pg_catalog.has_function_privilege(v_unschedule, 'EXECUTE')
        then 'may not execute ' || v_unschedule::text
      when not pg_catalog.has_table_privilege(v_job_table, 'SELECT')
        then 'may not read cron.job'
    end;
  end if;
  if v_denied is not null then
    return pg_catalog.jsonb_build_object(
      'unscheduled', '[]'::jsonb,
      'reason', pg_catalog.format('not permitted: %s %s; run select badges.unschedule_jobs();'
        || ' as the role that scheduled the jobs (postgres: the SQL editor, supabase db push).',
        current_user, v_denied));
  end if;

  for v_name in
    select j.jobname from cron.job j
    where j.jobname in ('badges-deliver-notifications', 'badges-check-badges',
                        'badges-check-streaks')
      and j.username = current_user
    order by j.jobname
  loop
    perform cron.unschedule(v_name);
    v_names := v_names || v_name;
  end loop;
  return pg_catalog.jsonb_build_object('unscheduled', pg_catalog.to_jsonb(v_names));
end;
$$;

--
-- Name: user_facts(uuid, timestamp with time zone); Type: FUNCTION; Schema: badges; Owner: -
--

CREATE FUNCTION badges.user_facts(p_user_id uuid, p_at timestamp with time zone DEFAULT now()) RETURNS TABLE(current_streak integer, longest_streak integer, correct_providers integer, total_providers integer)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
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

--
-- Name: activity_days; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.activity_days (
    user_id uuid NOT NULL,
    day date NOT NULL
);

--
-- Name: board_buckets; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.board_buckets (
    board text NOT NULL,
    period date NOT NULL,
    level smallint NOT NULL,
    key bigint NOT NULL,
    users bigint NOT NULL,
    CONSTRAINT board_buckets_level_check CHECK (((level >= 1) AND (level <= 7)))
);

--
-- Name: board_counts; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.board_counts (
    board text NOT NULL,
    period date DEFAULT '-infinity'::date NOT NULL,
    value bigint NOT NULL,
    users bigint NOT NULL
);

--
-- Name: board_deltas; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.board_deltas (
    board text NOT NULL,
    period date DEFAULT '-infinity'::date NOT NULL,
    value bigint NOT NULL,
    users bigint NOT NULL
);

--
-- Name: board_entries; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.board_entries (
    board_id text NOT NULL,
    period date NOT NULL,
    user_id uuid NOT NULL,
    value bigint NOT NULL,
    at timestamp with time zone NOT NULL
);

--
-- Name: board_periods; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.board_periods (
    board_id text NOT NULL,
    period date NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    total bigint NOT NULL,
    archived_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: board_placings; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.board_placings (
    board_id text NOT NULL,
    period date NOT NULL,
    user_id uuid NOT NULL,
    rank bigint NOT NULL,
    value bigint NOT NULL
);

--
-- Name: board_refills; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.board_refills (
    board_id text NOT NULL,
    metric text NOT NULL,
    period text NOT NULL,
    timezone text NOT NULL,
    week_start smallint NOT NULL,
    starts_at timestamp with time zone,
    ends_at timestamp with time zone,
    refilled_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: frozen_days; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.frozen_days (
    user_id uuid NOT NULL,
    day date NOT NULL,
    frozen_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: level_requirements; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.level_requirements (
    level_id text NOT NULL,
    metric text NOT NULL,
    required bigint NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    CONSTRAINT level_requirements_required_check CHECK ((required > 0))
);

--
-- Name: metric_events; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.metric_events (
    id bigint NOT NULL,
    user_id uuid NOT NULL,
    metric text NOT NULL,
    amount integer NOT NULL,
    total bigint NOT NULL,
    item text,
    idempotency_key text,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT metric_events_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 200)))
);

--
-- Name: metric_events_id_seq; Type: SEQUENCE; Schema: badges; Owner: -
--

ALTER TABLE badges.metric_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME badges.metric_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: metric_items; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.metric_items (
    user_id uuid NOT NULL,
    metric text NOT NULL,
    item text NOT NULL,
    first_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT metric_items_item_check CHECK (((length(item) >= 1) AND (length(item) <= 128)))
);

--
-- Name: metric_totals; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.metric_totals (
    user_id uuid NOT NULL,
    metric text NOT NULL,
    total bigint DEFAULT 0 NOT NULL,
    distinct_count integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT metric_totals_distinct_count_check CHECK ((distinct_count >= 0)),
    CONSTRAINT metric_totals_total_check CHECK ((total >= 0))
);

--
-- Name: notifications; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.notifications (
    id bigint NOT NULL,
    user_id uuid NOT NULL,
    kind text NOT NULL,
    badge_id text,
    message text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    read_at timestamp with time zone
);

--
-- Name: notifications_id_seq; Type: SEQUENCE; Schema: badges; Owner: -
--

ALTER TABLE badges.notifications ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME badges.notifications_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: outbox; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.outbox (
    id bigint NOT NULL,
    dedupe_key text NOT NULL,
    kind text NOT NULL,
    user_id uuid NOT NULL,
    badge_id text,
    payload jsonb NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    claim_token uuid,
    delivered_channels text[] DEFAULT '{}'::text[] NOT NULL,
    last_attempt_at timestamp with time zone,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    CONSTRAINT outbox_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT outbox_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'dead'::text])))
);

--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: badges; Owner: -
--

ALTER TABLE badges.outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME badges.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: push_tokens; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.push_tokens (
    token text NOT NULL,
    user_id uuid NOT NULL,
    platform text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT push_tokens_platform_check CHECK ((platform = ANY (ARRAY['ios'::text, 'android'::text, 'web'::text]))),
    CONSTRAINT push_tokens_token_check CHECK ((token ~ '^Expo(nent)?PushToken\[[A-Za-z0-9_-]{1,200}\]$'::text))
);

--
-- Name: quiz_providers; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.quiz_providers (
    id text NOT NULL,
    name text NOT NULL,
    active boolean DEFAULT true NOT NULL,
    sort_order integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT quiz_providers_id_check CHECK ((id ~ '^[A-Za-z0-9_.:-]{1,64}$'::text)),
    CONSTRAINT quiz_providers_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

--
-- Name: quiz_scores; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.quiz_scores (
    user_id uuid NOT NULL,
    provider_id text NOT NULL,
    quiz_correct boolean DEFAULT false NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    first_correct_at timestamp with time zone,
    last_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT correct_has_time CHECK ((quiz_correct = (first_correct_at IS NOT NULL))),
    CONSTRAINT quiz_scores_attempts_check CHECK ((attempts >= 0))
);

--
-- Name: qualified; Type: VIEW; Schema: badges; Owner: -
--

CREATE VIEW badges.qualified WITH (security_invoker='true') AS
 SELECT t.user_id,
    d.id AS badge_id
   FROM (badges.metric_totals t
     JOIN badges.definitions d ON (((d.rule = ANY (ARRAY['metric'::text, 'distinct'::text])) AND (d.within_days IS NULL) AND (d.metric = t.metric) AND (
        CASE d.rule
            WHEN 'metric'::text THEN t.total
            ELSE (t.distinct_count)::bigint
        END >= d.threshold))))
UNION ALL
 SELECT s.user_id,
    d.id AS badge_id
   FROM (badges.streaks s
     JOIN badges.definitions d ON (((d.rule = 'streak'::text) AND (s.longest_streak >= d.threshold))))
UNION ALL
 SELECT q.user_id,
    d.id AS badge_id
   FROM (( SELECT q_1.user_id,
            count(*) AS correct
           FROM (badges.quiz_scores q_1
             JOIN badges.quiz_providers p ON (((p.id = q_1.provider_id) AND p.active)))
          WHERE q_1.quiz_correct
          GROUP BY q_1.user_id) q
     JOIN badges.definitions d ON ((((d.rule = 'quiz_distinct'::text) AND (q.correct >= d.threshold)) OR ((d.rule = 'quiz_all'::text) AND (q.correct >= ( SELECT count(*) AS count
           FROM badges.quiz_providers p
          WHERE p.active))))))
UNION ALL
 SELECT t.user_id,
    d.id AS badge_id
   FROM (((badges.metric_totals t
     JOIN badges.definitions d ON (((d.rule = ANY (ARRAY['metric'::text, 'distinct'::text])) AND (d.within_days IS NOT NULL) AND (d.metric = t.metric))))
     CROSS JOIN LATERAL ( SELECT COALESCE((NULLIF(current_setting('badges.as_of'::text, true), ''::text))::timestamp with time zone, now()) AS at) n)
     CROSS JOIN LATERAL ( SELECT COALESCE(sum(e.amount), (0)::bigint) AS total,
            count(DISTINCT e.item) AS items
           FROM badges.metric_events e
          WHERE ((e.user_id = t.user_id) AND (e.metric = t.metric) AND (e.occurred_at > (n.at - ((d.within_days)::double precision * '24:00:00'::interval))) AND (e.occurred_at <= n.at))) w)
  WHERE (
        CASE d.rule
            WHEN 'metric'::text THEN w.total
            ELSE w.items
        END >= d.threshold)
UNION ALL
 SELECT s.user_id,
    d.id AS badge_id
   FROM ((badges.streaks s
     JOIN badges.definitions d ON ((d.rule = 'active_days'::text)))
     CROSS JOIN LATERAL ( SELECT badges.activity_day(COALESCE((NULLIF(current_setting('badges.as_of'::text, true), ''::text))::timestamp with time zone, now()), s.timezone, s.timezone, s.previous_timezone, s.timezone_changed_at) AS today) n)
  WHERE (( SELECT count(*) AS count
           FROM badges.activity_days a
          WHERE ((a.user_id = s.user_id) AND (a.day > (n.today - d.within_days)) AND (a.day <= n.today))) >= d.threshold)
UNION ALL
 SELECT DISTINCT x.user_id,
    d.id AS badge_id
   FROM (badges.board_placings x
     JOIN badges.definitions d ON (((d.rule = 'rank'::text) AND (d.board = x.board_id) AND (x.rank <= d.threshold))));

--
-- Name: rarity_counts; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.rarity_counts (
    badge_id text NOT NULL,
    shard smallint NOT NULL,
    holders bigint DEFAULT 0 NOT NULL
);

--
-- Name: rarity_deltas; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.rarity_deltas (
    badge_id text NOT NULL,
    holders bigint NOT NULL
);

--
-- Name: rate_limits; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.rate_limits (
    user_id uuid NOT NULL,
    bucket text NOT NULL,
    tokens double precision NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: revocations; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.revocations (
    id bigint NOT NULL,
    user_id uuid NOT NULL,
    badge_id text NOT NULL,
    earned_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone DEFAULT now() NOT NULL,
    reason text NOT NULL,
    revoked_by text NOT NULL,
    automatic boolean DEFAULT false NOT NULL
);

--
-- Name: revocations_id_seq; Type: SEQUENCE; Schema: badges; Owner: -
--

ALTER TABLE badges.revocations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME badges.revocations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: share_opens; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.share_opens (
    share_id text NOT NULL,
    opener_id uuid NOT NULL,
    opened_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: shares; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.shares (
    id text NOT NULL,
    user_id uuid NOT NULL,
    badge_id text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT shares_id_check CHECK ((id ~ '^[0-9a-f]{32}$'::text))
);

--
-- Name: showcases; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.showcases (
    user_id uuid NOT NULL,
    badge_id text NOT NULL,
    slot smallint NOT NULL,
    CONSTRAINT showcases_slot_check CHECK (((slot >= 1) AND (slot <= 5)))
);

--
-- Name: streak_freeze_policy; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.streak_freeze_policy (
    id boolean DEFAULT true NOT NULL,
    every_days integer NOT NULL,
    max_held integer NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT streak_freeze_policy_every_days_check CHECK (((every_days >= 1) AND (every_days <= 366))),
    CONSTRAINT streak_freeze_policy_id_check CHECK (id),
    CONSTRAINT streak_freeze_policy_max_held_check CHECK (((max_held >= 1) AND (max_held <= 100)))
);

--
-- Name: user_stats; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.user_stats (
    user_id uuid NOT NULL,
    badge_count integer DEFAULT 0 NOT NULL,
    badge_count_at timestamp with time zone,
    correct_count integer DEFAULT 0 NOT NULL,
    correct_count_at timestamp with time zone,
    CONSTRAINT user_stats_badge_count_check CHECK ((badge_count >= 0)),
    CONSTRAINT user_stats_correct_count_check CHECK ((correct_count >= 0))
);

--
-- Name: users; Type: TABLE; Schema: badges; Owner: -
--

CREATE TABLE badges.users (
    user_id uuid NOT NULL,
    first_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    feed_opt_out boolean DEFAULT false NOT NULL,
    profile_public boolean DEFAULT true NOT NULL
);

--
-- Name: activity_days activity_days_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.activity_days
    ADD CONSTRAINT activity_days_pkey PRIMARY KEY (user_id, day);

--
-- Name: awards awards_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.awards
    ADD CONSTRAINT awards_pkey PRIMARY KEY (user_id, badge_id) INCLUDE (earned_at);

--
-- Name: board_buckets board_buckets_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.board_buckets
    ADD CONSTRAINT board_buckets_pkey PRIMARY KEY (board, period, level, key);

--
-- Name: board_counts board_counts_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.board_counts
    ADD CONSTRAINT board_counts_pkey PRIMARY KEY (board, period, value);

--
-- Name: board_entries board_entries_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.board_entries
    ADD CONSTRAINT board_entries_pkey PRIMARY KEY (board_id, period, user_id);

--
-- Name: board_periods board_periods_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.board_periods
    ADD CONSTRAINT board_periods_pkey PRIMARY KEY (board_id, period);

--
-- Name: board_placings board_placings_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.board_placings
    ADD CONSTRAINT board_placings_pkey PRIMARY KEY (board_id, period, user_id);

--
-- Name: board_refills board_refills_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.board_refills
    ADD CONSTRAINT board_refills_pkey PRIMARY KEY (board_id);

--
-- Name: definitions definitions_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.definitions
    ADD CONSTRAINT definitions_pkey PRIMARY KEY (id);

--
-- Name: frozen_days frozen_days_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.frozen_days
    ADD CONSTRAINT frozen_days_pkey PRIMARY KEY (user_id, day);

--
-- Name: leaderboards leaderboards_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.leaderboards
    ADD CONSTRAINT leaderboards_pkey PRIMARY KEY (id);

--
-- Name: level_requirements level_requirements_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.level_requirements
    ADD CONSTRAINT level_requirements_pkey PRIMARY KEY (level_id, metric);

--
-- Name: levels levels_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.levels
    ADD CONSTRAINT levels_pkey PRIMARY KEY (id);

--
-- Name: metric_events metric_events_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.metric_events
    ADD CONSTRAINT metric_events_pkey PRIMARY KEY (id);

--
-- Name: metric_events metric_events_user_id_idempotency_key_key; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.metric_events
    ADD CONSTRAINT metric_events_user_id_idempotency_key_key UNIQUE (user_id, idempotency_key);

--
-- Name: metric_items metric_items_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.metric_items
    ADD CONSTRAINT metric_items_pkey PRIMARY KEY (user_id, metric, item);

--
-- Name: metric_totals metric_totals_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.metric_totals
    ADD CONSTRAINT metric_totals_pkey PRIMARY KEY (user_id, metric);

--
-- Name: metrics metrics_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.metrics
    ADD CONSTRAINT metrics_pkey PRIMARY KEY (id);

--
-- Name: notifications notifications_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.notifications
    ADD CONSTRAINT notifications_pkey PRIMARY KEY (id);

--
-- Name: outbox outbox_dedupe_key_key; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.outbox
    ADD CONSTRAINT outbox_dedupe_key_key UNIQUE (dedupe_key);

--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

--
-- Name: push_tokens push_tokens_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.push_tokens
    ADD CONSTRAINT push_tokens_pkey PRIMARY KEY (token);

--
-- Name: quiz_providers quiz_providers_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.quiz_providers
    ADD CONSTRAINT quiz_providers_pkey PRIMARY KEY (id);

--
-- Name: quiz_scores quiz_scores_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.quiz_scores
    ADD CONSTRAINT quiz_scores_pkey PRIMARY KEY (user_id, provider_id);

--
-- Name: rarity_counts rarity_counts_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.rarity_counts
    ADD CONSTRAINT rarity_counts_pkey PRIMARY KEY (badge_id, shard);

--
-- Name: rate_limits rate_limits_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.rate_limits
    ADD CONSTRAINT rate_limits_pkey PRIMARY KEY (user_id, bucket);

--
-- Name: revocations revocations_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.revocations
    ADD CONSTRAINT revocations_pkey PRIMARY KEY (id);

--
-- Name: share_opens share_opens_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.share_opens
    ADD CONSTRAINT share_opens_pkey PRIMARY KEY (share_id, opener_id);

--
-- Name: shares shares_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.shares
    ADD CONSTRAINT shares_pkey PRIMARY KEY (id);

--
-- Name: shares shares_user_id_badge_id_key; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.shares
    ADD CONSTRAINT shares_user_id_badge_id_key UNIQUE (user_id, badge_id);

--
-- Name: showcases showcases_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.showcases
    ADD CONSTRAINT showcases_pkey PRIMARY KEY (user_id, badge_id);

--
-- Name: showcases showcases_user_id_slot_key; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.showcases
    ADD CONSTRAINT showcases_user_id_slot_key UNIQUE (user_id, slot);

--
-- Name: streak_freeze_policy streak_freeze_policy_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.streak_freeze_policy
    ADD CONSTRAINT streak_freeze_policy_pkey PRIMARY KEY (id);

--
-- Name: streaks streaks_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.streaks
    ADD CONSTRAINT streaks_pkey PRIMARY KEY (user_id);

--
-- Name: user_stats user_stats_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.user_stats
    ADD CONSTRAINT user_stats_pkey PRIMARY KEY (user_id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (user_id);

--
-- Name: awards_feed_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX awards_feed_idx ON badges.awards USING btree (earned_at DESC, user_id DESC, badge_id DESC);

--
-- Name: awards_holders_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX awards_holders_idx ON badges.awards USING btree (badge_id, earned_at DESC, user_id DESC);

--
-- Name: board_deltas_board_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX board_deltas_board_idx ON badges.board_deltas USING btree (board, period);

--
-- Name: board_entries_rank_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX board_entries_rank_idx ON badges.board_entries USING btree (board_id, period, value DESC, at, user_id) WHERE (value > 0);

--
-- Name: board_placings_user_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX board_placings_user_idx ON badges.board_placings USING btree (user_id, board_id, rank);

--
-- Name: definitions_composites_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX definitions_composites_idx ON badges.definitions USING btree (id) WHERE ((rule = 'all_of'::text) AND enabled);

--
-- Name: definitions_metric_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX definitions_metric_idx ON badges.definitions USING btree (metric) WHERE (metric IS NOT NULL);

--
-- Name: metric_events_user_metric_at_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX metric_events_user_metric_at_idx ON badges.metric_events USING btree (user_id, metric, occurred_at);

--
-- Name: metric_events_user_metric_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX metric_events_user_metric_idx ON badges.metric_events USING btree (user_id, metric, id);

--
-- Name: metric_totals_metric_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX metric_totals_metric_idx ON badges.metric_totals USING btree (metric, total);

--
-- Name: notifications_unread_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX notifications_unread_idx ON badges.notifications USING btree (user_id) WHERE (read_at IS NULL);

--
-- Name: notifications_user_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX notifications_user_idx ON badges.notifications USING btree (user_id, id DESC);

--
-- Name: outbox_dead_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX outbox_dead_idx ON badges.outbox USING btree (id) WHERE (status = 'dead'::text);

--
-- Name: outbox_due_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX outbox_due_idx ON badges.outbox USING btree (next_attempt_at, id) WHERE (status = 'pending'::text);

--
-- Name: outbox_fresh_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX outbox_fresh_idx ON badges.outbox USING btree (user_id) WHERE ((status = 'pending'::text) AND (attempts = 0));

--
-- Name: push_tokens_user_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX push_tokens_user_idx ON badges.push_tokens USING btree (user_id, updated_at DESC);

--
-- Name: quiz_scores_provider_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX quiz_scores_provider_idx ON badges.quiz_scores USING btree (provider_id);

--
-- Name: revocations_user_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX revocations_user_idx ON badges.revocations USING btree (user_id, revoked_at DESC);

--
-- Name: user_stats_badge_board_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX user_stats_badge_board_idx ON badges.user_stats USING btree (badge_count DESC, badge_count_at, user_id) WHERE (badge_count > 0);

--
-- Name: user_stats_score_board_idx; Type: INDEX; Schema: badges; Owner: -
--

CREATE INDEX user_stats_score_board_idx ON badges.user_stats USING btree (correct_count DESC, correct_count_at, user_id) WHERE (correct_count > 0);

--
-- Name: awards awards_after_delete; Type: TRIGGER; Schema: badges; Owner: -
--

CREATE TRIGGER awards_after_delete AFTER DELETE ON badges.awards REFERENCING OLD TABLE AS old_awards FOR EACH STATEMENT EXECUTE FUNCTION badges.after_awards_delete();

--
-- Name: awards awards_after_insert; Type: TRIGGER; Schema: badges; Owner: -
--

CREATE TRIGGER awards_after_insert AFTER INSERT ON badges.awards REFERENCING NEW TABLE AS new_awards FOR EACH STATEMENT EXECUTE FUNCTION badges.after_awards_insert();

--
-- Name: board_counts board_counts_after_delete; Type: TRIGGER; Schema: badges; Owner: -
--

CREATE TRIGGER board_counts_after_delete AFTER DELETE ON badges.board_counts REFERENCING OLD TABLE AS old_counts FOR EACH STATEMENT EXECUTE FUNCTION badges.after_board_counts_change();

--
-- Name: board_counts board_counts_after_insert; Type: TRIGGER; Schema: badges; Owner: -
--

CREATE TRIGGER board_counts_after_insert AFTER INSERT ON badges.board_counts REFERENCING NEW TABLE AS new_counts FOR EACH STATEMENT EXECUTE FUNCTION badges.after_board_counts_change();

--
-- Name: board_counts board_counts_after_update; Type: TRIGGER; Schema: badges; Owner: -
--

CREATE TRIGGER board_counts_after_update AFTER UPDATE ON badges.board_counts REFERENCING OLD TABLE AS old_counts NEW TABLE AS new_counts FOR EACH STATEMENT EXECUTE FUNCTION badges.after_board_counts_change();

--
-- Name: definitions definitions_derive; Type: TRIGGER; Schema: badges; Owner: -
--

CREATE TRIGGER definitions_derive BEFORE INSERT OR UPDATE ON badges.definitions FOR EACH ROW EXECUTE FUNCTION badges.derive_definition();

--
-- Name: metrics metrics_units_changed; Type: TRIGGER; Schema: badges; Owner: -
--

CREATE TRIGGER metrics_units_changed AFTER UPDATE OF unit, unit_one ON badges.metrics FOR EACH ROW EXECUTE FUNCTION badges.metric_units_changed();

--
-- Name: awards awards_badge_id_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.awards
    ADD CONSTRAINT awards_badge_id_fkey FOREIGN KEY (badge_id) REFERENCES badges.definitions(id);

--
-- Name: level_requirements level_requirements_level_id_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.level_requirements
    ADD CONSTRAINT level_requirements_level_id_fkey FOREIGN KEY (level_id) REFERENCES badges.levels(id) ON DELETE CASCADE;

--
-- Name: level_requirements level_requirements_metric_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.level_requirements
    ADD CONSTRAINT level_requirements_metric_fkey FOREIGN KEY (metric) REFERENCES badges.metrics(id);

--
-- Name: metric_events metric_events_metric_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.metric_events
    ADD CONSTRAINT metric_events_metric_fkey FOREIGN KEY (metric) REFERENCES badges.metrics(id);

--
-- Name: metric_items metric_items_metric_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.metric_items
    ADD CONSTRAINT metric_items_metric_fkey FOREIGN KEY (metric) REFERENCES badges.metrics(id);

--
-- Name: metric_totals metric_totals_metric_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.metric_totals
    ADD CONSTRAINT metric_totals_metric_fkey FOREIGN KEY (metric) REFERENCES badges.metrics(id);

--
-- Name: notifications notifications_badge_id_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.notifications
    ADD CONSTRAINT notifications_badge_id_fkey FOREIGN KEY (badge_id) REFERENCES badges.definitions(id);

--
-- Name: outbox outbox_badge_id_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.outbox
    ADD CONSTRAINT outbox_badge_id_fkey FOREIGN KEY (badge_id) REFERENCES badges.definitions(id);

--
-- Name: quiz_scores quiz_scores_provider_id_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.quiz_scores
    ADD CONSTRAINT quiz_scores_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES badges.quiz_providers(id);

--
-- Name: revocations revocations_badge_id_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.revocations
    ADD CONSTRAINT revocations_badge_id_fkey FOREIGN KEY (badge_id) REFERENCES badges.definitions(id);

--
-- Name: share_opens share_opens_share_id_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.share_opens
    ADD CONSTRAINT share_opens_share_id_fkey FOREIGN KEY (share_id) REFERENCES badges.shares(id);

--
-- Name: shares shares_badge_id_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.shares
    ADD CONSTRAINT shares_badge_id_fkey FOREIGN KEY (badge_id) REFERENCES badges.definitions(id);

--
-- Name: showcases showcases_user_id_badge_id_fkey; Type: FK CONSTRAINT; Schema: badges; Owner: -
--

ALTER TABLE ONLY badges.showcases
    ADD CONSTRAINT showcases_user_id_badge_id_fkey FOREIGN KEY (user_id, badge_id) REFERENCES badges.awards(user_id, badge_id) ON DELETE CASCADE;

--
-- Name: quiz_providers Active quiz providers are readable by everyone; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Active quiz providers are readable by everyone" ON badges.quiz_providers FOR SELECT TO anon, authenticated USING (active);

--
-- Name: activity_days Activity days are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Activity days are readable by their owner" ON badges.activity_days FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: awards Awards are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Awards are readable by their owner" ON badges.awards FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: user_stats Counters are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Counters are readable by their owner" ON badges.user_stats FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: leaderboards Enabled leaderboards are readable by everyone; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Enabled leaderboards are readable by everyone" ON badges.leaderboards FOR SELECT TO anon, authenticated USING (enabled);

--
-- Name: levels Enabled levels are readable by everyone; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Enabled levels are readable by everyone" ON badges.levels FOR SELECT TO anon, authenticated USING (enabled);

--
-- Name: metrics Enabled metrics are readable by everyone; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Enabled metrics are readable by everyone" ON badges.metrics FOR SELECT TO anon, authenticated USING (enabled);

--
-- Name: definitions Enabled visible badges are readable by everyone; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Enabled visible badges are readable by everyone" ON badges.definitions FOR SELECT TO anon, authenticated USING ((enabled AND (NOT hidden)));

--
-- Name: frozen_days Frozen days are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Frozen days are readable by their owner" ON badges.frozen_days FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: metric_events Metric events are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Metric events are readable by their owner" ON badges.metric_events FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: metric_items Metric items are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Metric items are readable by their owner" ON badges.metric_items FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: metric_totals Metric totals are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Metric totals are readable by their owner" ON badges.metric_totals FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: notifications Notifications are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Notifications are readable by their owner" ON badges.notifications FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: push_tokens Push tokens are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Push tokens are readable by their owner" ON badges.push_tokens FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: quiz_scores Quiz scores are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Quiz scores are readable by their owner" ON badges.quiz_scores FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: level_requirements Requirements of enabled levels are readable by everyone; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Requirements of enabled levels are readable by everyone" ON badges.level_requirements FOR SELECT TO anon, authenticated USING ((EXISTS ( SELECT 1
   FROM badges.levels l
  WHERE ((l.id = level_requirements.level_id) AND l.enabled))));

--
-- Name: shares Shares are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Shares are readable by their owner" ON badges.shares FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: showcases Showcases are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Showcases are readable by their owner" ON badges.showcases FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: streaks Streaks are readable by their owner; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "Streaks are readable by their owner" ON badges.streaks FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: streak_freeze_policy The streak freeze policy is readable by everyone; Type: POLICY; Schema: badges; Owner: -
--

CREATE POLICY "The streak freeze policy is readable by everyone" ON badges.streak_freeze_policy FOR SELECT TO anon, authenticated USING (true);

--
-- Name: activity_days; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.activity_days ENABLE ROW LEVEL SECURITY;

--
-- Name: awards; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.awards ENABLE ROW LEVEL SECURITY;

--
-- Name: board_buckets; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.board_buckets ENABLE ROW LEVEL SECURITY;

--
-- Name: board_counts; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.board_counts ENABLE ROW LEVEL SECURITY;

--
-- Name: board_deltas; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.board_deltas ENABLE ROW LEVEL SECURITY;

--
-- Name: board_entries; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.board_entries ENABLE ROW LEVEL SECURITY;

--
-- Name: board_periods; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.board_periods ENABLE ROW LEVEL SECURITY;

--
-- Name: board_placings; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.board_placings ENABLE ROW LEVEL SECURITY;

--
-- Name: board_refills; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.board_refills ENABLE ROW LEVEL SECURITY;

--
-- Name: definitions; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.definitions ENABLE ROW LEVEL SECURITY;

--
-- Name: frozen_days; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.frozen_days ENABLE ROW LEVEL SECURITY;

--
-- Name: leaderboards; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.leaderboards ENABLE ROW LEVEL SECURITY;

--
-- Name: level_requirements; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.level_requirements ENABLE ROW LEVEL SECURITY;

--
-- Name: levels; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.levels ENABLE ROW LEVEL SECURITY;

--
-- Name: metric_events; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.metric_events ENABLE ROW LEVEL SECURITY;

--
-- Name: metric_items; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.metric_items ENABLE ROW LEVEL SECURITY;

--
-- Name: metric_totals; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.metric_totals ENABLE ROW LEVEL SECURITY;

--
-- Name: metrics; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.metrics ENABLE ROW LEVEL SECURITY;

--
-- Name: notifications; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.notifications ENABLE ROW LEVEL SECURITY;

--
-- Name: outbox; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.outbox ENABLE ROW LEVEL SECURITY;

--
-- Name: push_tokens; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.push_tokens ENABLE ROW LEVEL SECURITY;

--
-- Name: quiz_providers; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.quiz_providers ENABLE ROW LEVEL SECURITY;

--
-- Name: quiz_scores; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.quiz_scores ENABLE ROW LEVEL SECURITY;

--
-- Name: rarity_counts; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.rarity_counts ENABLE ROW LEVEL SECURITY;

--
-- Name: rarity_deltas; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.rarity_deltas ENABLE ROW LEVEL SECURITY;

--
-- Name: rate_limits; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.rate_limits ENABLE ROW LEVEL SECURITY;

--
-- Name: revocations; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.revocations ENABLE ROW LEVEL SECURITY;

--
-- Name: share_opens; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.share_opens ENABLE ROW LEVEL SECURITY;

--
-- Name: shares; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.shares ENABLE ROW LEVEL SECURITY;

--
-- Name: showcases; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.showcases ENABLE ROW LEVEL SECURITY;

--
-- Name: streak_freeze_policy; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.streak_freeze_policy ENABLE ROW LEVEL SECURITY;

--
-- Name: streaks; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.streaks ENABLE ROW LEVEL SECURITY;

--
-- Name: user_stats; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.user_stats ENABLE ROW LEVEL SECURITY;

--
-- Name: users; Type: ROW SECURITY; Schema: badges; Owner: -
--

ALTER TABLE badges.users ENABLE ROW LEVEL SECURITY;

--
-- Name: SCHEMA badges; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA badges TO anon;
GRANT USAGE ON SCHEMA badges TO authenticated;
GRANT USAGE ON SCHEMA badges TO service_role;

--
-- Name: FUNCTION activity_day(p_at timestamp with time zone, p_timezone text, p_stored text, p_previous text, p_changed_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.activity_day(p_at timestamp with time zone, p_timezone text, p_stored text, p_previous text, p_changed_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.activity_day(p_at timestamp with time zone, p_timezone text, p_stored text, p_previous text, p_changed_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION after_awards_delete(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.after_awards_delete() FROM PUBLIC;

--
-- Name: FUNCTION after_awards_insert(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.after_awards_insert() FROM PUBLIC;

--
-- Name: FUNCTION after_board_counts_change(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.after_board_counts_change() FROM PUBLIC;

--
-- Name: FUNCTION archive_boards(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.archive_boards() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.archive_boards() TO service_role;

--
-- Name: TABLE leaderboards; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.leaderboards TO anon;
GRANT SELECT ON TABLE badges.leaderboards TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.leaderboards TO service_role;

--
-- Name: FUNCTION archive_period(p_board badges.leaderboards, p_period date); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.archive_period(p_board badges.leaderboards, p_period date) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.archive_period(p_board badges.leaderboards, p_period date) TO service_role;

--
-- Name: FUNCTION around_me(p_user_id uuid, p_board_id text, p_period text, p_radius integer); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.around_me(p_user_id uuid, p_board_id text, p_period text, p_radius integer) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.around_me(p_user_id uuid, p_board_id text, p_period text, p_radius integer) TO service_role;

--
-- Name: FUNCTION as_of(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.as_of() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.as_of() TO service_role;

--
-- Name: FUNCTION award_badge(p_user_id uuid, p_badge_id text, p_client boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.award_badge(p_user_id uuid, p_badge_id text, p_client boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.award_badge(p_user_id uuid, p_badge_id text, p_client boolean) TO service_role;

--
-- Name: TABLE awards; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.awards TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.awards TO service_role;

--
-- Name: FUNCTION award_composites(p_user_id uuid, p_badge_id text, p_at timestamp with time zone, p_backdate boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.award_composites(p_user_id uuid, p_badge_id text, p_at timestamp with time zone, p_backdate boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.award_composites(p_user_id uuid, p_badge_id text, p_at timestamp with time zone, p_backdate boolean) TO service_role;

--
-- Name: FUNCTION award_qualifying(p_user_id uuid, p_rules text[], p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.award_qualifying(p_user_id uuid, p_rules text[], p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.award_qualifying(p_user_id uuid, p_rules text[], p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION award_rules(p_user_id uuid, p_rules text[], p_badge_id text, p_at timestamp with time zone, p_backdate boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.award_rules(p_user_id uuid, p_rules text[], p_badge_id text, p_at timestamp with time zone, p_backdate boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.award_rules(p_user_id uuid, p_rules text[], p_badge_id text, p_at timestamp with time zone, p_backdate boolean) TO service_role;

--
-- Name: TABLE definitions; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.definitions TO anon;
GRANT SELECT ON TABLE badges.definitions TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.definitions TO service_role;

--
-- Name: FUNCTION awardable(d badges.definitions, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.awardable(d badges.definitions, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.awardable(d badges.definitions, p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION backoff_seconds(p_attempt integer, p_base double precision, p_cap double precision); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.backoff_seconds(p_attempt integer, p_base double precision, p_cap double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.backoff_seconds(p_attempt integer, p_base double precision, p_cap double precision) TO service_role;

--
-- Name: FUNCTION badge_holders(p_user_id uuid, p_badge_id text, p_limit integer, p_after_at timestamp with time zone, p_after_user uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.badge_holders(p_user_id uuid, p_badge_id text, p_limit integer, p_after_at timestamp with time zone, p_after_user uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.badge_holders(p_user_id uuid, p_badge_id text, p_limit integer, p_after_at timestamp with time zone, p_after_user uuid) TO service_role;

--
-- Name: FUNCTION badge_json(d badges.definitions); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.badge_json(d badges.definitions) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.badge_json(d badges.definitions) TO service_role;

--
-- Name: FUNCTION badge_progress(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.badge_progress(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.badge_progress(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION base_rules(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.base_rules() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.base_rules() TO service_role;

--
-- Name: FUNCTION board_above(p_board text, p_period date, p_value bigint); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.board_above(p_board text, p_period date, p_value bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.board_above(p_board text, p_period date, p_value bigint) TO service_role;

--
-- Name: FUNCTION board_count(p_board text, p_period date, p_value bigint, OUT total bigint, OUT at_value bigint); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.board_count(p_board text, p_period date, p_value bigint, OUT total bigint, OUT at_value bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.board_count(p_board text, p_period date, p_value bigint, OUT total bigint, OUT at_value bigint) TO service_role;

--
-- Name: FUNCTION board_json(l badges.leaderboards); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.board_json(l badges.leaderboards) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.board_json(l badges.leaderboards) TO service_role;

--
-- Name: FUNCTION board_leaderboard(p_user_id uuid, p_board_id text, p_period text, p_limit integer, p_offset integer, p_after_value bigint, p_after_at timestamp with time zone, p_after_user uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.board_leaderboard(p_user_id uuid, p_board_id text, p_period text, p_limit integer, p_offset integer, p_after_value bigint, p_after_at timestamp with time zone, p_after_user uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.board_leaderboard(p_user_id uuid, p_board_id text, p_period text, p_limit integer, p_offset integer, p_after_value bigint, p_after_at timestamp with time zone, p_after_user uuid) TO service_role;

--
-- Name: FUNCTION board_page(p_counter text, p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer, p_after_at timestamp with time zone, p_after_user uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.board_page(p_counter text, p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer, p_after_at timestamp with time zone, p_after_user uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.board_page(p_counter text, p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer, p_after_at timestamp with time zone, p_after_user uuid) TO service_role;

--
-- Name: FUNCTION board_period(p_board badges.leaderboards, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.board_period(p_board badges.leaderboards, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.board_period(p_board badges.leaderboards, p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION board_position(p_board text, p_period date, p_position bigint, OUT value bigint, OUT skip bigint); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.board_position(p_board text, p_period date, p_position bigint, OUT value bigint, OUT skip bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.board_position(p_board text, p_period date, p_position bigint, OUT value bigint, OUT skip bigint) TO service_role;

--
-- Name: FUNCTION board_values(p_board text, p_period date, OUT vals bigint[], OUT ranks bigint[], OUT total bigint); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.board_values(p_board text, p_period date, OUT vals bigint[], OUT ranks bigint[], OUT total bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.board_values(p_board text, p_period date, OUT vals bigint[], OUT ranks bigint[], OUT total bigint) TO service_role;

--
-- Name: FUNCTION bump_boards(p_metric text, p_users uuid[], p_amounts bigint[], p_ats timestamp with time zone[]); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.bump_boards(p_metric text, p_users uuid[], p_amounts bigint[], p_ats timestamp with time zone[]) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.bump_boards(p_metric text, p_users uuid[], p_amounts bigint[], p_ats timestamp with time zone[]) TO service_role;

--
-- Name: FUNCTION check_badges(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.check_badges(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.check_badges(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION check_badges_all(p_badge_id text, p_notify boolean, p_revoke boolean, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.check_badges_all(p_badge_id text, p_notify boolean, p_revoke boolean, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.check_badges_all(p_badge_id text, p_notify boolean, p_revoke boolean, p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION check_quiz_master(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.check_quiz_master(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.check_quiz_master(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION check_streaks(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.check_streaks(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.check_streaks(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION check_streaks_all(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.check_streaks_all() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.check_streaks_all() TO service_role;

--
-- Name: FUNCTION checked_timezone(p_timezone text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.checked_timezone(p_timezone text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.checked_timezone(p_timezone text) TO service_role;

--
-- Name: FUNCTION claim_notifications(p_limit integer, p_lease_seconds integer, p_max_attempts integer, p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.claim_notifications(p_limit integer, p_lease_seconds integer, p_max_attempts integer, p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.claim_notifications(p_limit integer, p_lease_seconds integer, p_max_attempts integer, p_user_id uuid) TO service_role;

--
-- Name: FUNCTION consistency_report(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.consistency_report() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.consistency_report() TO service_role;

--
-- Name: FUNCTION count_correct(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.count_correct(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.count_correct(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION count_metric(p_user_id uuid, p_metric text, p_amount integer, p_item text, p_key text, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.count_metric(p_user_id uuid, p_metric text, p_amount integer, p_item text, p_key text, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.count_metric(p_user_id uuid, p_metric text, p_amount integer, p_item text, p_key text, p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION count_once(p_op text, p_relid oid, p_trigger text, p_table text, p_old jsonb, p_new jsonb, p_args text[], p_counts text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.count_once(p_op text, p_relid oid, p_trigger text, p_table text, p_old jsonb, p_new jsonb, p_args text[], p_counts text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.count_once(p_op text, p_relid oid, p_trigger text, p_table text, p_old jsonb, p_new jsonb, p_args text[], p_counts text) TO service_role;

--
-- Name: FUNCTION count_row(p_row jsonb, p_metric text, p_user_column text, p_amount integer, p_key_column text, p_trigger text, p_table text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.count_row(p_row jsonb, p_metric text, p_user_column text, p_amount integer, p_key_column text, p_trigger text, p_table text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.count_row(p_row jsonb, p_metric text, p_user_column text, p_amount integer, p_key_column text, p_trigger text, p_table text) TO service_role;

--
-- Name: FUNCTION create_share(p_user_id uuid, p_badge_id text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.create_share(p_user_id uuid, p_badge_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.create_share(p_user_id uuid, p_badge_id text) TO service_role;

--
-- Name: FUNCTION current_level(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.current_level(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.current_level(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION declared_metric(p_metric text, p_trigger text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.declared_metric(p_metric text, p_trigger text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.declared_metric(p_metric text, p_trigger text) TO service_role;

--
-- Name: FUNCTION definition(p_badge_id text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.definition(p_badge_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.definition(p_badge_id text) TO service_role;

--
-- Name: FUNCTION derive_definition(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.derive_definition() FROM PUBLIC;

--
-- Name: FUNCTION earned_message(d badges.definitions); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.earned_message(d badges.definitions) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.earned_message(d badges.definitions) TO service_role;

--
-- Name: FUNCTION event_badge(d badges.definitions); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.event_badge(d badges.definitions) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.event_badge(d badges.definitions) TO service_role;

--
-- Name: FUNCTION feed(p_limit integer, p_before_at timestamp with time zone, p_before_user uuid, p_before_badge text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.feed(p_limit integer, p_before_at timestamp with time zone, p_before_user uuid, p_before_badge text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.feed(p_limit integer, p_before_at timestamp with time zone, p_before_user uuid, p_before_badge text) TO service_role;

--
-- Name: FUNCTION finish_notifications(p_token uuid, p_results jsonb, p_max_attempts integer, p_backoff_seconds double precision, p_max_backoff_seconds double precision); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.finish_notifications(p_token uuid, p_results jsonb, p_max_attempts integer, p_backoff_seconds double precision, p_max_backoff_seconds double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.finish_notifications(p_token uuid, p_results jsonb, p_max_attempts integer, p_backoff_seconds double precision, p_max_backoff_seconds double precision) TO service_role;

--
-- Name: FUNCTION fires_on_delete(p_table oid, p_trigger text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.fires_on_delete(p_table oid, p_trigger text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.fires_on_delete(p_table oid, p_trigger text) TO service_role;

--
-- Name: FUNCTION fold_counts(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.fold_counts() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.fold_counts() TO service_role;

--
-- Name: TABLE streaks; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.streaks TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.streaks TO service_role;

--
-- Name: FUNCTION freeze_missed_days(p_user_id uuid, p_today date); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.freeze_missed_days(p_user_id uuid, p_today date) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.freeze_missed_days(p_user_id uuid, p_today date) TO service_role;

--
-- Name: FUNCTION get_badge(p_user_id uuid, p_badge_id text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.get_badge(p_user_id uuid, p_badge_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.get_badge(p_user_id uuid, p_badge_id text) TO service_role;

--
-- Name: FUNCTION get_catalog(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.get_catalog() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.get_catalog() TO service_role;

--
-- Name: FUNCTION grant_freezes(p_user_id uuid, p_count integer); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.grant_freezes(p_user_id uuid, p_count integer) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.grant_freezes(p_user_id uuid, p_count integer) TO service_role;

--
-- Name: FUNCTION inbox(p_user_id uuid, p_unread_only boolean, p_limit integer, p_before bigint); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.inbox(p_user_id uuid, p_unread_only boolean, p_limit integer, p_before bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.inbox(p_user_id uuid, p_unread_only boolean, p_limit integer, p_before bigint) TO service_role;

--
-- Name: FUNCTION last_within(p_ranks bigint[], p_rank bigint); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.last_within(p_ranks bigint[], p_rank bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.last_within(p_ranks bigint[], p_rank bigint) TO service_role;

--
-- Name: FUNCTION leaderboard(p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer, p_after_at timestamp with time zone, p_after_user uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.leaderboard(p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer, p_after_at timestamp with time zone, p_after_user uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.leaderboard(p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer, p_after_at timestamp with time zone, p_after_user uuid) TO service_role;

--
-- Name: FUNCTION level_status(p_user_id uuid, p_level text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.level_status(p_user_id uuid, p_level text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.level_status(p_user_id uuid, p_level text) TO service_role;

--
-- Name: FUNCTION list_badges(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.list_badges(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.list_badges(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION live_streak(p_streak badges.streaks, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.live_streak(p_streak badges.streaks, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.live_streak(p_streak badges.streaks, p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION lock_user(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.lock_user(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.lock_user(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION mark_notifications_read(p_user_id uuid, p_ids jsonb, p_all boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.mark_notifications_read(p_user_id uuid, p_ids jsonb, p_all boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.mark_notifications_read(p_user_id uuid, p_ids jsonb, p_all boolean) TO service_role;

--
-- Name: FUNCTION metric_units_changed(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.metric_units_changed() FROM PUBLIC;

--
-- Name: FUNCTION move_board_buckets(p_boards text[], p_periods date[], p_values bigint[], p_users bigint[]); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.move_board_buckets(p_boards text[], p_periods date[], p_values bigint[], p_users bigint[]) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.move_board_buckets(p_boards text[], p_periods date[], p_values bigint[], p_users bigint[]) TO service_role;

--
-- Name: FUNCTION next_milestones(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.next_milestones(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.next_milestones(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION next_streak(p_current integer, p_last_day date, p_day date); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.next_streak(p_current integer, p_last_day date, p_day date) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.next_streak(p_current integer, p_last_day date, p_day date) TO service_role;

--
-- Name: FUNCTION open_board(p_board_id text, p_period text, OUT board badges.leaderboards, OUT period date, OUT starts_at timestamp with time zone, OUT ends_at timestamp with time zone, OUT final boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.open_board(p_board_id text, p_period text, OUT board badges.leaderboards, OUT period date, OUT starts_at timestamp with time zone, OUT ends_at timestamp with time zone, OUT final boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.open_board(p_board_id text, p_period text, OUT board badges.leaderboards, OUT period date, OUT starts_at timestamp with time zone, OUT ends_at timestamp with time zone, OUT final boolean) TO service_role;

--
-- Name: FUNCTION open_share(p_opener_id uuid, p_share_id text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.open_share(p_opener_id uuid, p_share_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.open_share(p_opener_id uuid, p_share_id text) TO service_role;

--
-- Name: FUNCTION outbox_rows(p_status text, p_limit integer, p_before bigint); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.outbox_rows(p_status text, p_limit integer, p_before bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.outbox_rows(p_status text, p_limit integer, p_before bigint) TO service_role;

--
-- Name: FUNCTION period_bounds(p_board badges.leaderboards, p_period date, OUT starts_at timestamp with time zone, OUT ends_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.period_bounds(p_board badges.leaderboards, p_period date, OUT starts_at timestamp with time zone, OUT ends_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.period_bounds(p_board badges.leaderboards, p_period date, OUT starts_at timestamp with time zone, OUT ends_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION period_final(p_ends_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.period_final(p_ends_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.period_final(p_ends_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION period_json(p_board badges.leaderboards, p_period date, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_final boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.period_json(p_board badges.leaderboards, p_period date, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_final boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.period_json(p_board badges.leaderboards, p_period date, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_final boolean) TO service_role;

--
-- Name: FUNCTION period_lock(p_board_id text, p_period date); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.period_lock(p_board_id text, p_period date) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.period_lock(p_board_id text, p_period date) TO service_role;

--
-- Name: FUNCTION period_page(p_board text, p_period date, p_user_id uuid, p_limit integer, p_offset integer, p_after_value bigint, p_after_at timestamp with time zone, p_after_user uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.period_page(p_board text, p_period date, p_user_id uuid, p_limit integer, p_offset integer, p_after_value bigint, p_after_at timestamp with time zone, p_after_user uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.period_page(p_board text, p_period date, p_user_id uuid, p_limit integer, p_offset integer, p_after_value bigint, p_after_at timestamp with time zone, p_after_user uuid) TO service_role;

--
-- Name: FUNCTION ping(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.ping() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.ping() TO service_role;

--
-- Name: FUNCTION placings(p_user_id uuid, d badges.definitions); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.placings(p_user_id uuid, d badges.definitions) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.placings(p_user_id uuid, d badges.definitions) TO service_role;

--
-- Name: FUNCTION preferences(p_user_id uuid, p_feed_opt_out boolean, p_profile_public boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.preferences(p_user_id uuid, p_feed_opt_out boolean, p_profile_public boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.preferences(p_user_id uuid, p_feed_opt_out boolean, p_profile_public boolean) TO service_role;

--
-- Name: FUNCTION profile(p_viewer uuid, p_user_id uuid, p_limit integer, p_before_at timestamp with time zone, p_before_badge text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.profile(p_viewer uuid, p_user_id uuid, p_limit integer, p_before_at timestamp with time zone, p_before_badge text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.profile(p_viewer uuid, p_user_id uuid, p_limit integer, p_before_at timestamp with time zone, p_before_badge text) TO service_role;

--
-- Name: FUNCTION profile_badge(d badges.definitions, p_earned_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.profile_badge(d badges.definitions, p_earned_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.profile_badge(d badges.definitions, p_earned_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION progress(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.progress(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.progress(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION rarity(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.rarity() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.rarity() TO service_role;

--
-- Name: TABLE levels; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.levels TO anon;
GRANT SELECT ON TABLE badges.levels TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.levels TO service_role;

--
-- Name: FUNCTION reached_level(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.reached_level(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.reached_level(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION rebuild_counts(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.rebuild_counts() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.rebuild_counts() TO service_role;

--
-- Name: FUNCTION record_activity(p_user_id uuid, p_timezone text, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.record_activity(p_user_id uuid, p_timezone text, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.record_activity(p_user_id uuid, p_timezone text, p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION record_score(p_user_id uuid, p_provider_id text, p_quiz_correct boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.record_score(p_user_id uuid, p_provider_id text, p_quiz_correct boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.record_score(p_user_id uuid, p_provider_id text, p_quiz_correct boolean) TO service_role;

--
-- Name: FUNCTION refill_board(p_board_id text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.refill_board(p_board_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.refill_board(p_board_id text) TO service_role;

--
-- Name: FUNCTION register_push_token(p_user_id uuid, p_token text, p_platform text, p_take_over boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.register_push_token(p_user_id uuid, p_token text, p_platform text, p_take_over boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.register_push_token(p_user_id uuid, p_token text, p_platform text, p_take_over boolean) TO service_role;

--
-- Name: FUNCTION requested_period(p_board badges.leaderboards, p_period text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.requested_period(p_board badges.leaderboards, p_period text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.requested_period(p_board badges.leaderboards, p_period text) TO service_role;

--
-- Name: FUNCTION requeue_notifications(p_ids jsonb); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.requeue_notifications(p_ids jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.requeue_notifications(p_ids jsonb) TO service_role;

--
-- Name: FUNCTION revoke_badge(p_user_id uuid, p_badge_id text, p_reason text, p_revoked_by text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.revoke_badge(p_user_id uuid, p_badge_id text, p_reason text, p_revoked_by text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.revoke_badge(p_user_id uuid, p_badge_id text, p_reason text, p_revoked_by text) TO service_role;

--
-- Name: FUNCTION revoke_lapsed(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.revoke_lapsed(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.revoke_lapsed(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION row_key(p_row jsonb, p_metric text, p_key_column text, p_trigger text, p_table text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.row_key(p_row jsonb, p_metric text, p_key_column text, p_trigger text, p_table text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.row_key(p_row jsonb, p_metric text, p_key_column text, p_trigger text, p_table text) TO service_role;

--
-- Name: FUNCTION row_value(p_row jsonb, p_column text, p_trigger text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.row_value(p_row jsonb, p_column text, p_trigger text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.row_value(p_row jsonb, p_column text, p_trigger text) TO service_role;

--
-- Name: FUNCTION run_job(p_action text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.run_job(p_action text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.run_job(p_action text) TO service_role;

--
-- Name: FUNCTION run_ranks(p_values bigint[], p_rank bigint, p_at_first bigint); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.run_ranks(p_values bigint[], p_rank bigint, p_at_first bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.run_ranks(p_values bigint[], p_rank bigint, p_at_first bigint) TO service_role;

--
-- Name: FUNCTION schedule_jobs(p_deliver text, p_daily text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.schedule_jobs(p_deliver text, p_daily text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.schedule_jobs(p_deliver text, p_daily text) TO service_role;

--
-- Name: FUNCTION score_attempt(p_user_id uuid, p_provider_id text, p_correct boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.score_attempt(p_user_id uuid, p_provider_id text, p_correct boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.score_attempt(p_user_id uuid, p_provider_id text, p_correct boolean) TO service_role;

--
-- Name: FUNCTION score_leaderboard(p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer, p_after_at timestamp with time zone, p_after_user uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.score_leaderboard(p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer, p_after_at timestamp with time zone, p_after_user uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.score_leaderboard(p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer, p_after_at timestamp with time zone, p_after_user uuid) TO service_role;

--
-- Name: FUNCTION set_as_of(p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.set_as_of(p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.set_as_of(p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION set_showcase(p_user_id uuid, p_badge_ids jsonb); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.set_showcase(p_user_id uuid, p_badge_ids jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.set_showcase(p_user_id uuid, p_badge_ids jsonb) TO service_role;

--
-- Name: FUNCTION shard(p_user_id uuid); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.shard(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.shard(p_user_id uuid) TO service_role;

--
-- Name: FUNCTION showcase_of(p_user_id uuid, p_hidden boolean); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.showcase_of(p_user_id uuid, p_hidden boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.showcase_of(p_user_id uuid, p_hidden boolean) TO service_role;

--
-- Name: FUNCTION streak_json(p_user_id uuid, p_streak badges.streaks, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.streak_json(p_user_id uuid, p_streak badges.streaks, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.streak_json(p_user_id uuid, p_streak badges.streaks, p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION streak_today(p_streak badges.streaks, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.streak_today(p_streak badges.streaks, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.streak_today(p_streak badges.streaks, p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION sync_catalog(p_catalog jsonb); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.sync_catalog(p_catalog jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.sync_catalog(p_catalog jsonb) TO service_role;

--
-- Name: FUNCTION sync_leaderboards(p_boards jsonb); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.sync_leaderboards(p_boards jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.sync_leaderboards(p_boards jsonb) TO service_role;

--
-- Name: FUNCTION sync_level_requirements(p_levels jsonb); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.sync_level_requirements(p_levels jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.sync_level_requirements(p_levels jsonb) TO service_role;

--
-- Name: FUNCTION sync_metrics_and_levels(p_metrics jsonb, p_levels jsonb); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.sync_metrics_and_levels(p_metrics jsonb, p_levels jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.sync_metrics_and_levels(p_metrics jsonb, p_levels jsonb) TO service_role;

--
-- Name: FUNCTION sync_providers(p_providers jsonb); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.sync_providers(p_providers jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.sync_providers(p_providers jsonb) TO service_role;

--
-- Name: FUNCTION take_rate_token(p_user_id uuid, p_bucket text, p_burst integer, p_per_minute integer); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.take_rate_token(p_user_id uuid, p_bucket text, p_burst integer, p_per_minute integer) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.take_rate_token(p_user_id uuid, p_bucket text, p_burst integer, p_per_minute integer) TO service_role;

--
-- Name: FUNCTION touch_activity(p_user_id uuid, p_timezone text, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.touch_activity(p_user_id uuid, p_timezone text, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.touch_activity(p_user_id uuid, p_timezone text, p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION track(p_user_id uuid, p_metric text, p_amount integer, p_client boolean, p_item text, p_idempotency_key text, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.track(p_user_id uuid, p_metric text, p_amount integer, p_client boolean, p_item text, p_idempotency_key text, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.track(p_user_id uuid, p_metric text, p_amount integer, p_client boolean, p_item text, p_idempotency_key text, p_at timestamp with time zone) TO service_role;

--
-- Name: FUNCTION track_change(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.track_change() FROM PUBLIC;

--
-- Name: FUNCTION track_insert(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.track_insert() FROM PUBLIC;

--
-- Name: FUNCTION track_set(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.track_set() FROM PUBLIC;

--
-- Name: FUNCTION track_true(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.track_true() FROM PUBLIC;

--
-- Name: TABLE metrics; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.metrics TO anon;
GRANT SELECT ON TABLE badges.metrics TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.metrics TO service_role;

--
-- Name: FUNCTION trackable_metric(p_metric text, p_client boolean, p_amount integer); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.trackable_metric(p_metric text, p_client boolean, p_amount integer) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.trackable_metric(p_metric text, p_client boolean, p_amount integer) TO service_role;

--
-- Name: FUNCTION uncount_row(p_row jsonb, p_metric text, p_user_column text, p_key_column text, p_trigger text, p_table text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.uncount_row(p_row jsonb, p_metric text, p_user_column text, p_key_column text, p_trigger text, p_table text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.uncount_row(p_row jsonb, p_metric text, p_user_column text, p_key_column text, p_trigger text, p_table text) TO service_role;

--
-- Name: FUNCTION unregister_push_token(p_user_id uuid, p_token text); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.unregister_push_token(p_user_id uuid, p_token text) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.unregister_push_token(p_user_id uuid, p_token text) TO service_role;

--
-- Name: FUNCTION unschedule_jobs(); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.unschedule_jobs() FROM PUBLIC;
GRANT ALL ON FUNCTION badges.unschedule_jobs() TO service_role;

--
-- Name: FUNCTION user_facts(p_user_id uuid, p_at timestamp with time zone); Type: ACL; Schema: badges; Owner: -
--

REVOKE ALL ON FUNCTION badges.user_facts(p_user_id uuid, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION badges.user_facts(p_user_id uuid, p_at timestamp with time zone) TO service_role;

--
-- Name: TABLE activity_days; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.activity_days TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.activity_days TO service_role;

--
-- Name: TABLE board_buckets; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.board_buckets TO service_role;

--
-- Name: TABLE board_counts; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.board_counts TO service_role;

--
-- Name: TABLE board_deltas; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.board_deltas TO service_role;

--
-- Name: TABLE board_entries; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.board_entries TO service_role;

--
-- Name: TABLE board_periods; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.board_periods TO service_role;

--
-- Name: TABLE board_placings; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.board_placings TO service_role;

--
-- Name: TABLE board_refills; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.board_refills TO service_role;

--
-- Name: TABLE frozen_days; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.frozen_days TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.frozen_days TO service_role;

--
-- Name: TABLE level_requirements; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.level_requirements TO anon;
GRANT SELECT ON TABLE badges.level_requirements TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.level_requirements TO service_role;

--
-- Name: TABLE metric_events; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.metric_events TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.metric_events TO service_role;

--
-- Name: TABLE metric_items; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.metric_items TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.metric_items TO service_role;

--
-- Name: TABLE metric_totals; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.metric_totals TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.metric_totals TO service_role;

--
-- Name: TABLE notifications; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.notifications TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.notifications TO service_role;

--
-- Name: TABLE outbox; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.outbox TO service_role;

--
-- Name: TABLE push_tokens; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.push_tokens TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.push_tokens TO service_role;

--
-- Name: TABLE quiz_providers; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.quiz_providers TO anon;
GRANT SELECT ON TABLE badges.quiz_providers TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.quiz_providers TO service_role;

--
-- Name: TABLE quiz_scores; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.quiz_scores TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.quiz_scores TO service_role;

--
-- Name: TABLE qualified; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.qualified TO service_role;

--
-- Name: TABLE rarity_counts; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.rarity_counts TO service_role;

--
-- Name: TABLE rarity_deltas; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.rarity_deltas TO service_role;

--
-- Name: TABLE rate_limits; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.rate_limits TO service_role;

--
-- Name: TABLE revocations; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT ON TABLE badges.revocations TO service_role;

--
-- Name: TABLE share_opens; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.share_opens TO service_role;

--
-- Name: TABLE shares; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.shares TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.shares TO service_role;

--
-- Name: TABLE showcases; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.showcases TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.showcases TO service_role;

--
-- Name: TABLE streak_freeze_policy; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.streak_freeze_policy TO anon;
GRANT SELECT ON TABLE badges.streak_freeze_policy TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.streak_freeze_policy TO service_role;

--
-- Name: TABLE user_stats; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT ON TABLE badges.user_stats TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.user_stats TO service_role;

--
-- Name: TABLE users; Type: ACL; Schema: badges; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE badges.users TO service_role;

--
-- PostgreSQL database dump complete
--

