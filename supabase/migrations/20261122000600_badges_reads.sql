/**
 * Reads for the HTTP function: a user's badges with progress, the public catalog and the two
 * leaderboards. Both stores call these, so what a client sees does not depend on the store.
 */

/**
 * Every badge the user can see (enabled and not hidden, or earned), earned or not, with progress
 * toward numeric goals. Returns {badges: [...], earned_count, total_count}.
 */
create or replace function badges.list_badges(p_user_id uuid)
returns jsonb
language sql stable
set search_path = ''
as $$
  with facts as (
    select * from badges.user_facts(p_user_id)
  ), listed as (
    select d, a.earned_at,
      case d.rule
        when 'streak' then f.current_streak
        when 'quiz_distinct' then f.correct_providers
        when 'quiz_all' then f.correct_providers
      end as current,
      case d.rule when 'quiz_all' then f.total_providers else d.threshold end as target
    from badges.definitions d
    cross join facts f
    left join badges.awards a on a.user_id = p_user_id and a.badge_id = d.id
    where (d.enabled and not d.hidden) or a.earned_at is not null
  )
  select pg_catalog.jsonb_build_object(
    'badges', coalesce(pg_catalog.jsonb_agg(
      badges.badge_json(d) || pg_catalog.jsonb_build_object(
        'earned', earned_at is not null,
        'earned_at', earned_at,
        'progress', case when target is not null then pg_catalog.jsonb_build_object(
          'current', case when earned_at is not null then target else least(current, target) end,
          'target', target) end)
      order by (d).sort_order, (d).id), '[]'::jsonb),
    'earned_count', count(earned_at),
    'total_count', count(*))
  from listed
$$;
revoke execute on function badges.list_badges(uuid) from public, anon, authenticated;
grant execute on function badges.list_badges(uuid) to service_role;

/** The visible catalog: enabled, non-hidden badges and active quiz providers. */
create or replace function badges.get_catalog()
returns jsonb
language sql stable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'badges', coalesce((
      select pg_catalog.jsonb_agg(badges.badge_json(d) order by d.sort_order, d.id)
      from badges.definitions d where d.enabled and not d.hidden), '[]'::jsonb),
    'providers', coalesce((
      select pg_catalog.jsonb_agg(
        pg_catalog.jsonb_build_object('id', p.id, 'name', p.name) order by p.sort_order, p.id)
      from badges.quiz_providers p where p.active), '[]'::jsonb))
$$;
revoke execute on function badges.get_catalog() from public, anon, authenticated;
grant execute on function badges.get_catalog() to service_role;

/**
 * One page of a leaderboard over a user_stats counter ('badge_count' or 'correct_count'), read
 * from its partial index. Rank is competition ranking (1 + users with a strictly greater value);
 * within a tie, whoever reached the value first comes first. `me` is p_user_id's entry, or null
 * when the user is not on the board. Returns {entries, me, total}.
 */
create or replace function badges.board(
  p_counter text, p_user_id uuid, p_limit integer, p_offset integer)
returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
  v_result jsonb;
begin
  if p_counter not in ('badge_count', 'correct_count') then
    raise exception using errcode = 'BD004', message = 'unknown leaderboard counter';
  end if;
  execute pg_catalog.format($q$
    with page as (
      select s.user_id, s.%1$I as value, s.%2$I as reached_at,
             rank() over (order by s.%1$I desc) as rank
      from badges.user_stats s
      where s.%1$I > 0
      order by s.%1$I desc, s.%2$I, s.user_id
      limit $2 offset $3
    ), mine as (
      select s.%1$I as value,
             (select count(*) from badges.user_stats o where o.%1$I > s.%1$I) + 1 as rank
      from badges.user_stats s
      where s.user_id = $1 and s.%1$I > 0
    )
    select pg_catalog.jsonb_build_object(
      'entries', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
          'rank', rank, 'user_id', user_id, %1$L, value)
          order by rank, reached_at, user_id) from page),
        '[]'::jsonb),
      'me', (select pg_catalog.jsonb_build_object('rank', rank, 'user_id', $1, %1$L, value)
             from mine),
      'total', (select count(*) from badges.user_stats where %1$I > 0))
  $q$, p_counter, p_counter || '_at')
  into v_result
  using p_user_id, p_limit, p_offset;
  return v_result;
end;
$$;
revoke execute on function badges.board(text, uuid, integer, integer)
  from public, anon, authenticated;
grant execute on function badges.board(text, uuid, integer, integer) to service_role;

/** The badge-count leaderboard. */
create or replace function badges.leaderboard(p_user_id uuid, p_limit integer, p_offset integer)
returns jsonb
language sql stable
set search_path = ''
as $$
  select badges.board('badge_count', p_user_id, p_limit, p_offset)
$$;
revoke execute on function badges.leaderboard(uuid, integer, integer)
  from public, anon, authenticated;
grant execute on function badges.leaderboard(uuid, integer, integer) to service_role;

/** The quiz leaderboard: distinct providers answered correctly. */
create or replace function badges.score_leaderboard(
  p_user_id uuid, p_limit integer, p_offset integer)
returns jsonb
language sql stable
set search_path = ''
as $$
  select badges.board('correct_count', p_user_id, p_limit, p_offset)
$$;
revoke execute on function badges.score_leaderboard(uuid, integer, integer)
  from public, anon, authenticated;
grant execute on function badges.score_leaderboard(uuid, integer, integer) to service_role;

/** true when the database answers: what GET /health asks, through either store. */
create or replace function badges.ping()
returns boolean
language sql stable
set search_path = ''
as $$
  select true
$$;
revoke execute on function badges.ping() from public, anon, authenticated;
grant execute on function badges.ping() to service_role;
