/**
 * Quiz scores per user and provider. A correct answer stays correct: a later wrong attempt only
 * counts as an attempt. The first correct answer on a provider bumps the score leaderboard.
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
 * One more distinct correct provider on the score leaderboard. Called last in record_score, after
 * any award, so every write function touches user_stats after awards (one lock order).
 */
create or replace function badges.count_correct(p_user_id uuid)
returns void
language sql
set search_path = ''
as $$
  insert into badges.user_stats as s (user_id, correct_count, correct_count_at)
  values (p_user_id, 1, now())
  on conflict (user_id) do update
    set correct_count = s.correct_count + 1, correct_count_at = now()
$$;
revoke execute on function badges.count_correct(uuid) from public, anon, authenticated;
grant execute on function badges.count_correct(uuid) to service_role;
