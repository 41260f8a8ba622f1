/**
 * Reads for the HTTP function: a user's badges with progress toward numeric goals, rarity and
 * the next milestone per category; the public catalog; the two leaderboards; the health check.
 * Both stores call these, so what a client sees does not depend on the store. The user's rows
 * are read by key and a badge's wire shape is the stored one (definitions.wire); leaderboards
 * rank by the per-value counts (rank = 1 + users with a greater value) and page by index ranges,
 * never by counting or ranking the whole board.
 */

/**
 * Every badge with the user's state: earned_at (or null), current and target of its numeric
 * goal (null when it has none; an earned badge shows its goal reached) and the unit goal counts.
 * The user's rows are read by key, one look-up per badge (subqueries, not joins): the plan
 * cannot turn into a scan of a large table whatever the statistics say. A windowed badge's
 * current is its value in the window as of now (badges.as_of), and it is shown earned only
 * while that value reaches its target: between the moment it lapses and the batch check that
 * revokes it, it reads as not earned (and is proposed as a next milestone) though the award
 * still counts.
 */
create or replace function badges.badge_progress(p_user_id uuid)
returns table (def badges.definitions, earned_at timestamptz, current bigint, target bigint,
               unit text, unit_one text)
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.badge_progress(uuid) from public, anon, authenticated;
grant execute on function badges.badge_progress(uuid) to service_role;

/**
 * Per category, the badge the user is nearest to: locked, awardable now, visible, with a
 * numeric goal, not revoked by hand; nearest = the largest share of the goal done, then the
 * fewest steps left. Sorted nearest first.
 * Returns [{category, badge: {id, name, icon, tier}, current, target, remaining, message}].
 */
create or replace function badges.next_milestones(p_user_id uuid)
returns jsonb
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.next_milestones(uuid) from public, anon, authenticated;
grant execute on function badges.next_milestones(uuid) to service_role;

/** The `progress` action: the next milestones alone. Returns {milestones}. */
create or replace function badges.progress(p_user_id uuid)
returns jsonb
language plpgsql stable
set search_path = ''
set jit = off
as $$
begin
  return (
    select pg_catalog.jsonb_build_object('milestones', badges.next_milestones(p_user_id)));
end;
$$;
revoke execute on function badges.progress(uuid) from public, anon, authenticated;
grant execute on function badges.progress(uuid) to service_role;

/**
 * Every badge the user can see (enabled and not hidden, or earned), earned or not, with progress
 * toward numeric goals and rarity, and the next milestone per category.
 * Returns {badges: [...], earned_count, total_count, hidden_count, next: [...]}.
 */
create or replace function badges.list_badges(p_user_id uuid)
returns jsonb
language plpgsql stable
set search_path = ''
set jit = off
as $$
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
revoke execute on function badges.list_badges(uuid) from public, anon, authenticated;
grant execute on function badges.list_badges(uuid) to service_role;

/**
 * The visible catalog: enabled, non-hidden badges with rarity; active quiz providers; the
 * enabled metrics (their names and units word a badge's goal) and leaderboards.
 */
create or replace function badges.get_catalog()
returns jsonb
language plpgsql stable
set search_path = ''
set jit = off
as $$
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
revoke execute on function badges.get_catalog() from public, anon, authenticated;
grant execute on function badges.get_catalog() to service_role;

/**
 * One page of a leaderboard over a user_stats counter ('badge_count' or 'correct_count'):
 * competition ranks (1, 2, 2, 4), ties ordered by who reached the value first, then user id.
 * The page starts p_offset entries in, or (keyset paging) after the entry (p_after_value,
 * p_after_at, p_after_user). Either way it is one or two index range scans from where the page
 * starts: the offset is turned into a value and a skip within it by the per-value counts.
 * Returns {entries, me, total, next_after}: me is p_user_id's entry (null when off the board),
 * next_after the key of the page's last entry when more follow, else null.
 */
create or replace function badges.board_page(
  p_counter text, p_user_id uuid, p_limit integer, p_offset integer,
  p_after_value integer default null, p_after_at timestamptz default null,
  p_after_user uuid default null)
returns json
language plpgsql stable
set search_path = ''
-- One plan per statement, cached: a custom plan per call (what plpgsql would choose for the
-- page's parameterised offset) costs more to plan than the page costs to read.
set plan_cache_mode = force_generic_plan
-- Every read by key, whatever the statistics: a generic plan estimates a board's share of
-- board_counts as one board in n, so beside a catalog board with a value per user it read the
-- whole table for the built-in board's few dozen counts, on every call.
set enable_seqscan = off
set enable_bitmapscan = off
as $$
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
revoke execute on function badges.board_page(
  text, uuid, integer, integer, integer, timestamptz, uuid)
  from public, anon, authenticated;
grant execute on function badges.board_page(
  text, uuid, integer, integer, integer, timestamptz, uuid)
  to service_role;

/** The badge-count leaderboard (badges.board_page over badge_count). */
create or replace function badges.leaderboard(
  p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer default null,
  p_after_at timestamptz default null, p_after_user uuid default null)
returns json
language plpgsql stable
set search_path = ''
set jit = off
as $$
begin
  return badges.board_page('badge_count', p_user_id, p_limit, p_offset,
                      p_after_value, p_after_at, p_after_user);
end;
$$;
revoke execute on function badges.leaderboard(uuid, integer, integer, integer, timestamptz, uuid)
  from public, anon, authenticated;
grant execute on function badges.leaderboard(uuid, integer, integer, integer, timestamptz, uuid)
  to service_role;

/** The quiz leaderboard (badges.board_page over correct_count: distinct providers answered right). */
create or replace function badges.score_leaderboard(
  p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer default null,
  p_after_at timestamptz default null, p_after_user uuid default null)
returns json
language plpgsql stable
set search_path = ''
set jit = off
as $$
begin
  return badges.board_page('correct_count', p_user_id, p_limit, p_offset,
                      p_after_value, p_after_at, p_after_user);
end;
$$;
revoke execute on function badges.score_leaderboard(
  uuid, integer, integer, integer, timestamptz, uuid) from public, anon, authenticated;
grant execute on function badges.score_leaderboard(
  uuid, integer, integer, integer, timestamptz, uuid) to service_role;

/** true when the database answers: what GET /health asks, through either store. */
create or replace function badges.ping()
returns boolean
language plpgsql stable
set search_path = ''
as $$
begin
  return true;
end;
$$;
revoke execute on function badges.ping() from public, anon, authenticated;
grant execute on function badges.ping() to service_role;
