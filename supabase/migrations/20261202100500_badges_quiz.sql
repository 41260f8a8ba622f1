/**
 * Quiz scores per user and provider. A correct answer stays correct: a later wrong attempt only
 * counts as an attempt. The first correct answer on a provider bumps the score leaderboard. The
 * actions that record an answer and award the quiz badges reached are here too.
 */
create table if not exists badges.quiz_scores (
  user_id uuid not null,
  provider_id text not null references badges.quiz_providers (id),
  quiz_correct boolean not null default false,
  attempts integer not null default 0 check (attempts >= 0),
  first_correct_at timestamptz,
  last_attempt_at timestamptz not null default now(),
  primary key (user_id, provider_id),
  constraint correct_has_time check (quiz_correct = (first_correct_at is not null))
);
alter table badges.quiz_scores enable row level security;
grant select on badges.quiz_scores to authenticated;
grant select, insert, update, delete on badges.quiz_scores to service_role;
create index if not exists quiz_scores_provider_idx on badges.quiz_scores (provider_id);

drop policy if exists "Quiz scores are readable by their owner"
  on badges.quiz_scores;
create policy "Quiz scores are readable by their owner"
  on badges.quiz_scores for select
  to authenticated
  using (user_id = (select auth.uid()));

/**
 * Count one attempt; returns true when this attempt made the provider correct for the user.
 * The upsert locks the score row first, so of two concurrent correct answers exactly one sees
 * the false → true change. The caller bumps the score leaderboard (badges.count_correct).
 */
create or replace function badges.score_attempt(
  p_user_id uuid, p_provider_id text, p_correct boolean)
returns boolean
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.score_attempt(uuid, text, boolean)
  from public, anon, authenticated;
grant execute on function badges.score_attempt(uuid, text, boolean) to service_role;

/**
 * One more distinct correct provider on the score leaderboard, its board counts and the catalog
 * boards over quiz_correct. Called last in record_score, after any award, so every write
 * function touches user_stats after awards (one lock order).
 */
create or replace function badges.count_correct(p_user_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.count_correct(uuid) from public, anon, authenticated;
grant execute on function badges.count_correct(uuid) to service_role;

/**
 * Record a quiz attempt (also a day of activity) and award the quiz, streak and active_days
 * badges reached.
 * Returns {newly_correct, correct_providers, total_providers, awarded}.
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

/** Award the quiz badges a user has reached. Returns {correct_providers, total_providers, awarded}. */
create or replace function badges.check_quiz_master(p_user_id uuid)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
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
