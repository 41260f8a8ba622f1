/**
 * Awards and what a new award changes in the same transaction, in one statement: the per-user
 * counters the leaderboards read and their per-value counts, the badge's rarity, and the
 * announcement (an inbox message and an outbox row). Revocations are kept in an audit log.
 */

/**
 * One row per earned badge; the primary key is what makes awarding idempotent. It carries
 * earned_at, so a repeated award is answered from the index entry alone (an index-only read: no
 * page of the table, on a table vacuumed as autovacuum keeps it). The feed reads
 * awards newest first (awards_feed_idx); its key makes the feed's cursor stable among equal times.
 *
 * awards_holders_idx lists a badge's holders newest first, in the order badges.badge_holders
 * pages them: a page is a range scan of it from its cursor, reading the page's entries (and the
 * private holders among them) whatever the badge's popularity or the page's depth; an index on
 * badge_id alone would return a badge's holders in no useful order, so every page would read and
 * sort all of them, a million for a badge everyone holds. It also serves the foreign key's
 * look-ups by badge_id. New awards of a badge land at the start of its range (the newest), on a
 * few hot leaf pages rather than random ones.
 */
create table if not exists badges.awards (
  user_id uuid not null,
  badge_id text not null references badges.definitions (id),
  earned_at timestamptz not null default now(),
  primary key (user_id, badge_id) include (earned_at)
);
alter table badges.awards enable row level security;
grant select on badges.awards to authenticated;
grant select, insert, update, delete on badges.awards to service_role;
create index if not exists awards_feed_idx
  on badges.awards (earned_at desc, user_id desc, badge_id desc);
create index if not exists awards_holders_idx
  on badges.awards (badge_id, earned_at desc, user_id desc);

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

/**
 * Audit log of revoked awards: who lost what, when, why and on whose word. Service-only.
 * Manual revocations are final for the rules; automatic ones (auto_revoke) are not.
 */
create table if not exists badges.revocations (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  badge_id text not null references badges.definitions (id),
  earned_at timestamptz not null,
  revoked_at timestamptz not null default now(),
  reason text not null,
  revoked_by text not null,
  automatic boolean not null default false
);
alter table badges.revocations enable row level security;
grant select, insert on badges.revocations to service_role;
create index if not exists revocations_user_idx on badges.revocations (user_id, revoked_at desc);

/**
 * Side effects of awards that really happened, in one statement: the user's counter and its
 * board's per-value counts, the badge's rarity, and, unless the transaction set badges.silent
 * (a backfill) or the badge is quiet, one inbox message and one outbox row per award, built from
 * the definition's stored columns. A statement trigger with a transition table sees only
 * inserted rows (ON CONFLICT DO NOTHING leaves repeats out), once per statement, so a batch
 * award updates each user's counter once.
 */
create or replace function badges.after_awards_insert()
returns trigger
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.after_awards_delete() from public, anon, authenticated;

create or replace trigger awards_after_delete
  after delete on badges.awards
  referencing old table as old_awards
  for each statement execute function badges.after_awards_delete();

/**
 * Award one badge, idempotently. p_client says the caller is the user's own client, which may
 * only award badges whose rule is 'client'. No new award outside the badge's window (BD006).
 * Composite badges the award completes are awarded too (checked only when some composite
 * requires the badge). Returns {awarded, earned_at, badge}: awarded is true only when this call
 * created the award. A repeat is answered from the award's primary-key entry (it carries
 * earned_at), read with the definition, without taking the user's lock. json, not jsonb: the
 * badge is the stored wire_json, sent on as it is (a jsonb answer took it apart and wrote it out
 * again on every call, a tenth of a repeat's cost).
 */
create or replace function badges.award_badge(p_user_id uuid, p_badge_id text, p_client boolean)
returns json
language plpgsql
set search_path = ''
set jit = off
as $$
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
revoke execute on function badges.award_badge(uuid, text, boolean) from public, anon, authenticated;
grant execute on function badges.award_badge(uuid, text, boolean) to service_role;

/**
 * Remove an award and log why. Returns {revoked}: false when the user did not have it.
 * The rules never give a badge revoked this way back (only the automatic revocations of
 * auto_revoke badges are not final); only an explicit service award does.
 */
create or replace function badges.revoke_badge(
  p_user_id uuid, p_badge_id text, p_reason text, p_revoked_by text)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
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
