/**
 * Leaderboards a catalog declares ([[leaderboards]]): a board ranks one metric (a declared one,
 * or the built-in badge_count and quiz_correct) by its increase within a period: all_time (the
 * total), daily, weekly, monthly (in the board's time zone, weeks starting on its week_start) or
 * one season (starts_at to ends_at).
 *
 * Writes: every change of a metric (badges.count_metric), of a user's badge count (the awards
 * triggers) and of their correct quiz answers (badges.count_correct) adds to the user's entry in
 * the live period of each enabled board over it (badges.bump_boards), with the per-value counts
 * (badges.board_counts, as for the built-in boards) that make a rank 1 + the users at greater
 * values: no read counts or ranks the whole board.
 *
 * History: a period is final once it ended five minutes ago (a transaction dated before the end
 * has committed by then: statements time out sooner). It is then archived, once
 * (badges.archive_period), by the daily batch (badges.archive_boards) or by the first read of the
 * period, whichever comes first: its row in board_periods closes it, so nothing writes its
 * entries again (an event dated into it later changes nothing there), and its final ranking
 * stays readable from the same entries and counts, in constant time whatever the board's size.
 * The top of each archived period (ranks <= 100) is kept in board_placings: rank badges (rule
 * 'rank') are awarded from it when the period is archived, and show how often and when their
 * holder placed.
 *
 * A board counts from its first sync: the live period is filled from the record (metric events,
 * awards, quiz scores) then, and again when its metric, period, time zone, week start or season
 * changes, or when it is enabled again (its entries of periods not archived are replaced;
 * archived periods stay).
 */

/** The boards of the catalog. Readable by everyone when enabled (clients list them). */
create table if not exists badges.leaderboards (
  id text primary key
    check (id ~ '^[A-Za-z0-9_.:-]{1,64}$' and id not in ('badge_count', 'correct_count')),
  name text not null check (length(name) between 1 and 200),
  description text not null default '',
  metric text not null,
  period text not null default 'all_time'
    check (period in ('all_time', 'daily', 'weekly', 'monthly', 'season')),
  timezone text not null default 'UTC',
  week_start smallint not null default 1 check (week_start between 1 and 7),
  starts_at timestamptz,
  ends_at timestamptz,
  sort_order integer not null default 0,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint season_has_window
    check ((period = 'season') = (starts_at is not null and ends_at is not null)),
  constraint season_is_ordered check (starts_at < ends_at)
);
alter table badges.leaderboards enable row level security;
grant select on badges.leaderboards to anon, authenticated;
grant select, insert, update, delete on badges.leaderboards to service_role;

drop policy if exists "Enabled leaderboards are readable by everyone"
  on badges.leaderboards;
create policy "Enabled leaderboards are readable by everyone"
  on badges.leaderboards for select
  to anon, authenticated
  using (enabled);

/**
 * Each user's value on each board in each period (the first local day of the period;
 * '-infinity' for all_time), and when they reached it (ties: who reached the value first); an
 * archived period's entries are its final ranking. Service-only: clients read boards through
 * the functions.
 */
create table if not exists badges.board_entries (
  board_id text not null,
  period date not null,
  user_id uuid not null,
  value bigint not null,
  at timestamptz not null,
  primary key (board_id, period, user_id)
);
alter table badges.board_entries enable row level security;
grant select, insert, update, delete on badges.board_entries to service_role;
create index if not exists board_entries_rank_idx
  on badges.board_entries (board_id, period, value desc, at, user_id) where value > 0;

/**
 * The archived (final) periods: one row each, written once; its existence closes the period to
 * writes. Service-only.
 */
create table if not exists badges.board_periods (
  board_id text not null,
  period date not null,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  total bigint not null,
  archived_at timestamptz not null default now(),
  primary key (board_id, period)
);
alter table badges.board_periods enable row level security;
grant select, insert, update, delete on badges.board_periods to service_role;

/**
 * The top of each archived period: every entry ranked 100 or better (ties included), with its
 * final competition rank. What rank badges (threshold <= 100) are awarded from and show.
 * Service-only.
 */
create table if not exists badges.board_placings (
  board_id text not null,
  period date not null,
  user_id uuid not null,
  rank bigint not null,
  value bigint not null,
  primary key (board_id, period, user_id)
);
alter table badges.board_placings enable row level security;
grant select, insert, update, delete on badges.board_placings to service_role;
create index if not exists board_placings_user_idx
  on badges.board_placings (user_id, board_id, rank);

/**
 * What each board's live entries were counted under (its ranking definition at its last refill):
 * badges.sync_leaderboards refills a board whose definition no longer matches. Service-only.
 */
create table if not exists badges.board_refills (
  board_id text primary key,
  metric text not null,
  period text not null,
  timezone text not null,
  week_start smallint not null,
  starts_at timestamptz,
  ends_at timestamptz,
  refilled_at timestamptz not null default now()
);
alter table badges.board_refills enable row level security;
grant select, insert, update, delete on badges.board_refills to service_role;

/* ----------------------------------------------------------------------------------------- */
/* Periods                                                                                   */
/* ----------------------------------------------------------------------------------------- */

/**
 * The period of p_board that p_at falls in: its first local day ('-infinity' for all_time), or
 * null outside a season.
 */
create or replace function badges.board_period(p_board badges.leaderboards, p_at timestamptz)
returns date
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.board_period(badges.leaderboards, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.board_period(badges.leaderboards, timestamptz) to service_role;

/** When the period p_period of p_board starts and ends (both null for all_time). */
create or replace function badges.period_bounds(
  p_board badges.leaderboards, p_period date, out starts_at timestamptz, out ends_at timestamptz)
returns record
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.period_bounds(badges.leaderboards, date)
  from public, anon, authenticated;
grant execute on function badges.period_bounds(badges.leaderboards, date) to service_role;

/** Whether a period that ends at p_ends_at is final (ended five minutes ago). */
create or replace function badges.period_final(p_ends_at timestamptz)
returns boolean
language plpgsql stable
set search_path = ''
as $$
begin
  return p_ends_at <= pg_catalog.now() - interval '5 minutes';
end;
$$;
revoke execute on function badges.period_final(timestamptz) from public, anon, authenticated;
grant execute on function badges.period_final(timestamptz) to service_role;

/**
 * The period a request names: 'current' (or null), 'previous', or an ISO date inside a period.
 * A season board has one period (its season), an all-time board one (always current). BD004 for
 * anything else, a period not started yet or a date outside the season.
 */
create or replace function badges.requested_period(p_board badges.leaderboards, p_period text)
returns date
language plpgsql stable
set search_path = ''
as $$
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
$$;
revoke execute on function badges.requested_period(badges.leaderboards, text)
  from public, anon, authenticated;
grant execute on function badges.requested_period(badges.leaderboards, text) to service_role;

/* ----------------------------------------------------------------------------------------- */
/* Writes                                                                                    */
/* ----------------------------------------------------------------------------------------- */

/** The advisory lock key of one board's period: shared by writers, exclusive by its archive. */
create or replace function badges.period_lock(p_board_id text, p_period date)
returns bigint
language plpgsql immutable
set search_path = ''
as $$
begin
  return pg_catalog.hashtextextended('badges.board:' || p_board_id || ':' || p_period, 0);
end;
$$;
revoke execute on function badges.period_lock(text, date) from public, anon, authenticated;
grant execute on function badges.period_lock(text, date) to service_role;

/**
 * Add changes of p_metric (p_amounts[i] for p_users[i] at p_ats[i]) to every enabled board over
 * it, in the period each change falls in (not in an archived one, nor outside a season), with
 * the per-value counts. Nothing runs (one index probe) when no board ranks the metric.
 */
create or replace function badges.bump_boards(
  p_metric text, p_users uuid[], p_amounts bigint[], p_ats timestamptz[])
returns void
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.bump_boards(text, uuid[], bigint[], timestamptz[])
  from public, anon, authenticated;
grant execute on function badges.bump_boards(text, uuid[], bigint[], timestamptz[])
  to service_role;

/**
 * Refill a board's live period from the record: the totals for all_time, else the changes dated
 * inside the current period (metric events, awards, first correct quiz answers). Its other live
 * entries are dropped (archives stay). Returns the entries written.
 */
create or replace function badges.refill_board(p_board_id text)
returns integer
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.refill_board(text) from public, anon, authenticated;
grant execute on function badges.refill_board(text) to service_role;

/**
 * Make the leaderboards equal to the catalog's (p_boards: [{id, name, description, metric,
 * period, timezone, week_start, starts_at, ends_at, sort_order}]); boards missing from it are
 * disabled. BD004 for an unknown time zone, BD005 for a metric that is neither declared nor
 * built in. A new board, one whose ranking changed (metric, period, time zone, week start,
 * season) and one enabled again is refilled (badges.refill_board). Returns the rows written.
 */
create or replace function badges.sync_leaderboards(p_boards jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.sync_leaderboards(jsonb) from public, anon, authenticated;
grant execute on function badges.sync_leaderboards(jsonb) to service_role;

/* ----------------------------------------------------------------------------------------- */
/* History                                                                                   */
/* ----------------------------------------------------------------------------------------- */

/**
 * Archive the period p_period of p_board once: its row in board_periods (with its total) closes
 * it to writes, its top (ranks <= 100) goes into board_placings, and the rank badges of the board
 * are awarded. The period's lock, exclusive, waits for the transactions writing it; the row is
 * inserted on conflict do nothing, so of concurrent callers one archives and the others find it
 * archived. Constant time but for the placings: the entries stay, as the final ranking.
 * Returns true when this call archived the period.
 */
create or replace function badges.archive_period(p_board badges.leaderboards, p_period date)
returns boolean
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.archive_period(badges.leaderboards, date)
  from public, anon, authenticated;
grant execute on function badges.archive_period(badges.leaderboards, date) to service_role;

/**
 * Archive every final period not archived yet: each board's previous period (unless it ended
 * before the board existed and has no entries) and any older one that still has live counts. The daily batch
 * (check_badges_all) runs it. Returns the periods archived.
 */
create or replace function badges.archive_boards()
returns integer
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.archive_boards() from public, anon, authenticated;
grant execute on function badges.archive_boards() to service_role;

/* ----------------------------------------------------------------------------------------- */
/* Reads                                                                                     */
/* ----------------------------------------------------------------------------------------- */

/** A board as clients see it. */
create or replace function badges.board_json(l badges.leaderboards)
returns json
language plpgsql stable
set search_path = ''
as $$
begin
  return pg_catalog.json_build_object(
    'id', l.id, 'name', l.name, 'description', l.description, 'metric', l.metric,
    'period', l.period, 'timezone', l.timezone,
    'week_start', case when l.period = 'weekly' then l.week_start end,
    'starts_at', l.starts_at, 'ends_at', l.ends_at);
end;
$$;
revoke execute on function badges.board_json(badges.leaderboards) from public, anon, authenticated;
grant execute on function badges.board_json(badges.leaderboards) to service_role;

/**
 * The values of a live board period, highest first, with their competition ranks (1 + the
 * users at greater values, from the per-value counts, folded and pending) and the total: a few
 * rows per distinct value, never the board's. Readers look a value's rank up by its position.
 * For the built-in boards' offset pages (a few dozen values) and an archive's top 100;
 * catalog boards' reads use the coarser counts below, whose cost does not grow with the values.
 * (Here and in the other reads, plpgsql rather than SQL functions: a SQL function with SET is
 * planned anew on every call, a plpgsql statement once per session.)
 */
create or replace function badges.board_values(
  p_board text, p_period date, out vals bigint[], out ranks bigint[], out total bigint)
returns record
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.board_values(text, date) from public, anon, authenticated;
grant execute on function badges.board_values(text, date) to service_role;

/**
 * The position in p_ranks (ascending, as badges.board_values gives them) of the last rank within
 * p_rank, or 0 when none is: the lowest value a place up to p_rank reaches.
 */
create or replace function badges.last_within(p_ranks bigint[], p_rank bigint)
returns integer
language plpgsql immutable
set search_path = ''
as $$
declare
  v_at integer := 0;
begin
  while v_at < coalesce(pg_catalog.cardinality(p_ranks), 0) and p_ranks[v_at + 1] <= p_rank loop
    v_at := v_at + 1;
  end loop;
  return v_at;
end;
$$;
revoke execute on function badges.last_within(bigint[], bigint) from public, anon, authenticated;
grant execute on function badges.last_within(bigint[], bigint) to service_role;

/**
 * Users on a live board period with a value above p_value (> 0), folded and pending: rank =
 * 1 + this. At most 255 rows of each level (badges.board_buckets): the values above p_value in
 * its own group of 256, then at each level the groups above its group within the next level's
 * group, and at the top every group above.
 */
create or replace function badges.board_above(p_board text, p_period date, p_value bigint)
returns bigint
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.board_above(text, date, bigint)
  from public, anon, authenticated;
grant execute on function badges.board_above(text, date, bigint) to service_role;

/** Users on a live board period (value > 0) and users at exactly p_value, folded and pending. */
create or replace function badges.board_count(
  p_board text, p_period date, p_value bigint, out total bigint, out at_value bigint)
returns record
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.board_count(text, date, bigint)
  from public, anon, authenticated;
grant execute on function badges.board_count(text, date, bigint) to service_role;

/**
 * Where the p_position-th entry (1 = the first) of a live board period is: its value and how
 * many entries of that value come before it; null when the board has fewer entries. Descends
 * badges.board_buckets from the top level, in each group the subgroups from the highest,
 * until the one holding the position: at most 256 rows a level.
 */
create or replace function badges.board_position(
  p_board text, p_period date, p_position bigint, out value bigint, out skip bigint)
returns record
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.board_position(text, date, bigint)
  from public, anon, authenticated;
grant execute on function badges.board_position(text, date, bigint) to service_role;

/**
 * The competition ranks of a run of entries in board order (p_values, highest first), given the
 * rank of the first value and the users at it: each lower value ranks after all the users at the
 * first value and the entries of the run in between. The run may start inside the first
 * value's tie (a page after an offset or a cursor), never inside a lower one's.
 */
create or replace function badges.run_ranks(p_values bigint[], p_rank bigint, p_at_first bigint)
returns bigint[]
language plpgsql immutable
set search_path = ''
as $$
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
revoke execute on function badges.run_ranks(bigint[], bigint, bigint)
  from public, anon, authenticated;
grant execute on function badges.run_ranks(bigint[], bigint, bigint) to service_role;

/**
 * One page of a board's period (live or archived: the same entries), as badges.board_page pages
 * the built-in boards: from p_offset, or after the entry (p_after_value, p_after_at,
 * p_after_user). Ranks, the offset's place and the total come from the counts at every level
 * (badges.board_above, board_position, board_count), so a page costs the same whatever the
 * number of distinct values on the board.
 * Returns {entries: [{rank, user_id, value}], me, total, next_after}.
 */
create or replace function badges.period_page(
  p_board text, p_period date, p_user_id uuid, p_limit integer, p_offset integer,
  p_after_value bigint, p_after_at timestamptz, p_after_user uuid)
returns json
language plpgsql stable
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
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
revoke execute on function badges.period_page(
  text, date, uuid, integer, integer, bigint, timestamptz, uuid) from public, anon, authenticated;
grant execute on function badges.period_page(
  text, date, uuid, integer, integer, bigint, timestamptz, uuid) to service_role;

/**
 * The board p_board and the period a request names, the period archived first when it is final
 * and not archived yet (the lazy half of "archived once"). BD013 for a board the catalog does not
 * declare. Returns the board, the period and whether the period is final.
 */
create or replace function badges.open_board(
  p_board_id text, p_period text,
  out board badges.leaderboards, out period date, out starts_at timestamptz,
  out ends_at timestamptz, out final boolean)
returns record
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.open_board(text, text) from public, anon, authenticated;
grant execute on function badges.open_board(text, text) to service_role;

/** The `period` object of a board answer. */
create or replace function badges.period_json(
  p_board badges.leaderboards, p_period date, p_starts_at timestamptz, p_ends_at timestamptz,
  p_final boolean)
returns json
language plpgsql stable
set search_path = ''
as $$
begin
  return pg_catalog.json_build_object(
    'start', case when p_board.period <> 'all_time' then p_period end,
    'starts_at', p_starts_at, 'ends_at', p_ends_at, 'final', p_final);
end;
$$;
revoke execute on function badges.period_json(
  badges.leaderboards, date, timestamptz, timestamptz, boolean) from public, anon, authenticated;
grant execute on function badges.period_json(
  badges.leaderboards, date, timestamptz, timestamptz, boolean) to service_role;

/**
 * A catalog board's page: `leaderboard {board, period, limit, offset | after}`. Same ranking
 * rules as the built-in boards. Returns {board, period: {start, starts_at, ends_at, final},
 * entries: [{rank, user_id, value}], me, total, next_after}.
 */
create or replace function badges.board_leaderboard(
  p_user_id uuid, p_board_id text, p_period text, p_limit integer, p_offset integer,
  p_after_value bigint default null, p_after_at timestamptz default null,
  p_after_user uuid default null)
returns json
language plpgsql
set search_path = ''
set jit = off
as $$
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
revoke execute on function badges.board_leaderboard(
  uuid, text, text, integer, integer, bigint, timestamptz, uuid) from public, anon, authenticated;
grant execute on function badges.board_leaderboard(
  uuid, text, text, integer, integer, bigint, timestamptz, uuid) to service_role;

/**
 * `around_me {board, period, radius}`: the caller's entry with up to p_radius entries above and
 * below, in board order, with ranks. Off the board: me null, no entries.
 * Returns {board, period, entries, me, total}.
 */
create or replace function badges.around_me(
  p_user_id uuid, p_board_id text, p_period text, p_radius integer)
returns json
language plpgsql
set search_path = ''
set jit = off
set plan_cache_mode = force_generic_plan
as $$
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
revoke execute on function badges.around_me(uuid, text, text, integer)
  from public, anon, authenticated;
grant execute on function badges.around_me(uuid, text, text, integer) to service_role;

/**
 * The placings behind a user's rank badge: how many archived periods of its board the user
 * finished within its top threshold, and the latest. Returns {times, latest: {period, rank}};
 * {times: 0, latest: null} for a holder with none (awarded by a service, or the threshold lowered).
 */
create or replace function badges.placings(p_user_id uuid, d badges.definitions)
returns jsonb
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.placings(uuid, badges.definitions)
  from public, anon, authenticated;
grant execute on function badges.placings(uuid, badges.definitions) to service_role;
