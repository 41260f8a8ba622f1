/**
 * Rule evaluation: which automatic badges a user qualifies for, awarded set-based in one
 * INSERT … ON CONFLICT DO NOTHING, and the write actions built on it.
 */

/** What the rules look at for one user, as of p_at. */
create or replace function badges.user_facts(p_user_id uuid, p_at timestamptz default now())
returns table (
  current_streak integer, longest_streak integer, correct_providers integer, total_providers integer)
language sql stable
set search_path = ''
as $$
  select
    coalesce((select badges.live_streak(s, p_at)
              from badges.streaks s where s.user_id = p_user_id), 0),
    coalesce((select s.longest_streak from badges.streaks s where s.user_id = p_user_id), 0),
    (select count(*)::integer from badges.quiz_scores q
       join badges.quiz_providers p on p.id = q.provider_id and p.active
     where q.user_id = p_user_id and q.quiz_correct),
    (select count(*)::integer from badges.quiz_providers p where p.active)
$$;
revoke execute on function badges.user_facts(uuid, timestamptz) from public, anon, authenticated;
grant execute on function badges.user_facts(uuid, timestamptz) to service_role;

/**
 * Award every enabled badge with one of p_rules that the user qualifies for and was never
 * revoked from; returns the ids this call newly awarded. Streak badges look at the longest streak, which never shrinks, so a
 * late check still awards a streak that has since ended.
 */
create or replace function badges.award_qualifying(p_user_id uuid, p_rules text[])
returns text[]
language sql
set search_path = ''
as $$
  with facts as (
    select * from badges.user_facts(p_user_id)
  ), inserted as (
    insert into badges.awards (user_id, badge_id)
    select p_user_id, d.id
    from badges.definitions d, facts f
    where d.enabled and d.rule = any (p_rules)
      and not exists (select 1 from badges.revocations r
                      where r.user_id = p_user_id and r.badge_id = d.id)
      and (
      (d.rule = 'streak' and f.longest_streak >= d.threshold)
      or (d.rule = 'quiz_distinct' and f.correct_providers >= d.threshold)
      or (d.rule = 'quiz_all' and f.total_providers > 0
          and f.correct_providers >= f.total_providers))
    order by d.id
    on conflict do nothing
    returning badge_id
  )
  select coalesce(pg_catalog.array_agg(badge_id order by badge_id), '{}') from inserted
$$;
revoke execute on function badges.award_qualifying(uuid, text[]) from public, anon, authenticated;
grant execute on function badges.award_qualifying(uuid, text[]) to service_role;

/**
 * Mark today (in the user's time zone) active and award streak badges reached.
 * p_at backdates the activity for tests and imports; the HTTP function never sends it.
 */
create or replace function badges.record_activity(
  p_user_id uuid, p_timezone text default null, p_at timestamptz default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_streak badges.streaks;
  v_awarded text[];
begin
  perform badges.lock_user(p_user_id);
  v_streak := badges.touch_activity(p_user_id, p_timezone, p_at);
  v_awarded := badges.award_qualifying(p_user_id, array['streak']);
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
 * Record a quiz attempt (also a day of activity) and award quiz and streak badges reached.
 * Returns {newly_correct, correct_providers, total_providers, awarded}.
 */
create or replace function badges.record_score(
  p_user_id uuid, p_provider_id text, p_quiz_correct boolean)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_newly boolean;
  v_awarded text[];
  v_facts record;
begin
  perform badges.lock_user(p_user_id);
  v_newly := badges.score_attempt(p_user_id, p_provider_id, p_quiz_correct);
  perform badges.touch_activity(p_user_id, null, null);
  v_awarded := badges.award_qualifying(p_user_id, array['streak', 'quiz_distinct', 'quiz_all']);
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

/** Award the streak badges a user has reached. Returns {current_streak, longest_streak, awarded}. */
create or replace function badges.check_streaks(p_user_id uuid)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_awarded text[];
  v_facts record;
begin
  perform badges.lock_user(p_user_id);
  v_awarded := badges.award_qualifying(p_user_id, array['streak']);
  select * into v_facts from badges.user_facts(p_user_id);
  return pg_catalog.jsonb_build_object(
    'current_streak', v_facts.current_streak,
    'longest_streak', v_facts.longest_streak,
    'awarded', pg_catalog.to_jsonb(v_awarded));
end;
$$;
revoke execute on function badges.check_streaks(uuid) from public, anon, authenticated;
grant execute on function badges.check_streaks(uuid) to service_role;

/**
 * The daily batch: award streak badges to every user who reached them, in one statement.
 * Returns {users_checked, awarded_count}.
 */
create or replace function badges.check_streaks_all()
returns jsonb
language sql
set search_path = ''
as $$
  with inserted as (
    insert into badges.awards (user_id, badge_id)
    select s.user_id, d.id
    from badges.streaks s
    join badges.definitions d
      on d.enabled and d.rule = 'streak' and s.longest_streak >= d.threshold
    where not exists (select 1 from badges.revocations r
                      where r.user_id = s.user_id and r.badge_id = d.id)
    order by s.user_id, d.id
    on conflict do nothing
    returning 1
  )
  select pg_catalog.jsonb_build_object(
    'users_checked', (select count(*) from badges.streaks),
    'awarded_count', (select count(*) from inserted))
$$;
revoke execute on function badges.check_streaks_all() from public, anon, authenticated;
grant execute on function badges.check_streaks_all() to service_role;

/** Award the quiz badges a user has reached. Returns {correct_providers, total_providers, awarded}. */
create or replace function badges.check_quiz_master(p_user_id uuid)
returns jsonb
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.check_quiz_master(uuid) from public, anon, authenticated;
grant execute on function badges.check_quiz_master(uuid) to service_role;
