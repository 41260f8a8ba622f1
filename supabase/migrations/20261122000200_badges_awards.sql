/**
 * Awards and what a new award changes in the same transaction: the per-user counters the
 * leaderboards read, and the in-app notification. Revocations are kept in an audit log.
 */

/** One row per earned badge; the primary key is what makes awarding idempotent. */
create table if not exists badges.awards (
  user_id uuid not null,
  badge_id text not null references badges.definitions (id),
  earned_at timestamptz not null default now(),
  primary key (user_id, badge_id)
);
alter table badges.awards enable row level security;
grant select on badges.awards to authenticated;
grant select, insert, update, delete on badges.awards to service_role;
create index if not exists awards_badge_id_idx on badges.awards (badge_id);

drop policy if exists "Awards are readable by their owner"
  on badges.awards;
create policy "Awards are readable by their owner"
  on badges.awards for select
  to authenticated
  using (user_id = (select auth.uid()));

/**
 * Per-user counters, maintained by triggers on awards (badge_count) and by record_score
 * (correct_count), so leaderboards read an index instead of counting awards. The *_at columns
 * say when the user reached the current value: within a tie, whoever reached it first ranks first.
 */
create table if not exists badges.user_stats (
  user_id uuid primary key,
  badge_count integer not null default 0 check (badge_count >= 0),
  badge_count_at timestamptz,
  correct_count integer not null default 0 check (correct_count >= 0),
  correct_count_at timestamptz
);
alter table badges.user_stats enable row level security;
grant select on badges.user_stats to authenticated;
grant select, insert, update, delete on badges.user_stats to service_role;
create index if not exists user_stats_badge_board_idx
  on badges.user_stats (badge_count desc, badge_count_at, user_id) where badge_count > 0;
create index if not exists user_stats_score_board_idx
  on badges.user_stats (correct_count desc, correct_count_at, user_id) where correct_count > 0;

drop policy if exists "Counters are readable by their owner"
  on badges.user_stats;
create policy "Counters are readable by their owner"
  on badges.user_stats for select
  to authenticated
  using (user_id = (select auth.uid()));

/** The in-app inbox: one row per new award, written in the award's transaction. */
create table if not exists badges.notifications (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  kind text not null,
  badge_id text references badges.definitions (id),
  message text not null,
  created_at timestamptz not null default now(),
  read_at timestamptz
);
alter table badges.notifications enable row level security;
grant select on badges.notifications to authenticated;
grant select, insert, update, delete on badges.notifications to service_role;
create index if not exists notifications_user_idx
  on badges.notifications (user_id, created_at desc, id desc);

drop policy if exists "Notifications are readable by their owner"
  on badges.notifications;
create policy "Notifications are readable by their owner"
  on badges.notifications for select
  to authenticated
  using (user_id = (select auth.uid()));

/** Audit log of revoked awards: who lost what, when, why and on whose word. Service-only. */
create table if not exists badges.revocations (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  badge_id text not null references badges.definitions (id),
  earned_at timestamptz not null,
  revoked_at timestamptz not null default now(),
  reason text not null,
  revoked_by text not null
);
alter table badges.revocations enable row level security;
grant select, insert on badges.revocations to service_role;
create index if not exists revocations_user_idx on badges.revocations (user_id, revoked_at desc);

/** The wire shape of a badge definition. */
create or replace function badges.badge_json(d badges.definitions)
returns jsonb
language sql stable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'id', d.id, 'name', d.name, 'description', d.description, 'icon', d.icon,
    'category', d.category, 'tier', d.tier, 'rule', d.rule, 'threshold', d.threshold,
    'hidden', d.hidden)
$$;
revoke execute on function badges.badge_json(badges.definitions) from public, anon, authenticated;
grant execute on function badges.badge_json(badges.definitions) to service_role;

/**
 * Side effects of awards that really happened. A statement trigger with a transition table sees
 * only inserted rows (ON CONFLICT DO NOTHING leaves repeats out), once per statement, so a batch
 * award updates each user's counter once.
 */
create or replace function badges.after_awards_insert()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into badges.user_stats as s (user_id, badge_count, badge_count_at)
  select user_id, count(*), max(earned_at) from new_awards group by user_id order by user_id
  on conflict (user_id) do update
    set badge_count = s.badge_count + excluded.badge_count,
        badge_count_at = excluded.badge_count_at;

  insert into badges.notifications (user_id, kind, badge_id, message)
  select n.user_id, 'badge_earned', n.badge_id, 'You earned ' || d.name || '!'
  from new_awards n join badges.definitions d on d.id = n.badge_id
  order by n.user_id, n.badge_id;
  return null;
end;
$$;
revoke execute on function badges.after_awards_insert() from public, anon, authenticated;

create or replace trigger awards_after_insert
  after insert on badges.awards
  referencing new table as new_awards
  for each statement execute function badges.after_awards_insert();

/** Keep counters equal to awards when awards are deleted (revocation). */
create or replace function badges.after_awards_delete()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update badges.user_stats s
  set badge_count = s.badge_count - o.removed,
      badge_count_at = (select max(a.earned_at) from badges.awards a where a.user_id = s.user_id)
  from (select user_id, count(*) as removed from old_awards group by user_id) o
  where s.user_id = o.user_id;
  return null;
end;
$$;
revoke execute on function badges.after_awards_delete() from public, anon, authenticated;

create or replace trigger awards_after_delete
  after delete on badges.awards
  referencing old table as old_awards
  for each statement execute function badges.after_awards_delete();

/**
 * Serialize one user's writes: every per-user write function takes this lock first, so two
 * actions of the same user never deadlock on their rows (they never block other users).
 */
create or replace function badges.lock_user(p_user_id uuid)
returns void
language sql
set search_path = ''
as $$
  select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(p_user_id::text, 0))
$$;
revoke execute on function badges.lock_user(uuid) from public, anon, authenticated;
grant execute on function badges.lock_user(uuid) to service_role;

/** The enabled definition of a badge, or BD001. */
create or replace function badges.definition(p_badge_id text)
returns badges.definitions
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.definition(text) from public, anon, authenticated;
grant execute on function badges.definition(text) to service_role;

/**
 * Award one badge, idempotently. p_client says the caller is the user's own client, which may
 * only award badges whose rule is 'client'. Returns {awarded, earned_at, badge}: awarded is true
 * only when this call created the award.
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

  insert into badges.awards (user_id, badge_id) values (p_user_id, p_badge_id)
  on conflict do nothing
  returning earned_at into v_earned_at;

  if v_earned_at is not null then
    return pg_catalog.jsonb_build_object(
      'awarded', true, 'earned_at', v_earned_at, 'badge', badges.badge_json(v_def));
  end if;
  select earned_at into v_earned_at from badges.awards
  where user_id = p_user_id and badge_id = p_badge_id;
  return pg_catalog.jsonb_build_object(
    'awarded', false, 'earned_at', v_earned_at, 'badge', badges.badge_json(v_def));
end;
$$;
revoke execute on function badges.award_badge(uuid, text, boolean) from public, anon, authenticated;
grant execute on function badges.award_badge(uuid, text, boolean) to service_role;

/**
 * Remove an award and log why. Returns {revoked}: false when the user did not have it.
 * The rules never give a revoked badge back (badges.award_qualifying skips it); only an explicit
 * service award does.
 */
create or replace function badges.revoke_badge(
  p_user_id uuid, p_badge_id text, p_reason text, p_revoked_by text)
returns jsonb
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.revoke_badge(uuid, text, text, text)
  from public, anon, authenticated;
grant execute on function badges.revoke_badge(uuid, text, text, text) to service_role;
