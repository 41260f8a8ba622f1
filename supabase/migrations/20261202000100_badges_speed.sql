/**
 * Speed at scale, every guarantee kept:
 * - what a badge looks like on the wire and in its announcement is computed when its definition
 *   (or its metric's unit) changes, not per award or per read;
 * - counters that many writers share (rarity, and the per-value counts that rank the boards) are
 *   append-only deltas, folded now and then: concurrent awards never wait for one counter row;
 * - an award writes its side effects in one statement, checks composites only when some
 *   composite requires the badge, and a repeat takes no lock;
 * - leaderboards rank by the per-value counts (rank = 1 + users with a greater value) and page by
 *   index ranges, never by counting or ranking the whole board;
 * - per-user statements are written for one user, so their plans are cached, not re-planned.
 */

/* ----------------------------------------------------------------------------------------- */
/* Definitions: derived columns                                                              */
/* ----------------------------------------------------------------------------------------- */

/**
 * wire: badges.badge_json(d); event_badge: the badge as an announcement carries it;
 * earned_text: badges.earned_message(d). Kept by the trigger below on every write, and by the
 * metrics trigger when a unit changes.
 */
alter table badges.definitions add column if not exists wire jsonb;
alter table badges.definitions add column if not exists event_badge jsonb;
alter table badges.definitions add column if not exists earned_text text;

/** The badge object of an announcement (webhook body, push data). */
create or replace function badges.event_badge(d badges.definitions)
returns jsonb
language sql immutable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'id', d.id, 'name', d.name, 'description', d.description, 'icon', d.icon,
    'category', d.category, 'tier', d.tier, 'label_key', d.label_key,
    'description_key', d.description_key)
$$;
revoke execute on function badges.event_badge(badges.definitions) from public, anon, authenticated;
grant execute on function badges.event_badge(badges.definitions) to service_role;

/**
 * Fill the derived columns of a definition being written. Times in the wire shape are written
 * in UTC whatever the writing session's zone, so every reader gets the same text.
 */
create or replace function badges.derive_definition()
returns trigger
language plpgsql
set search_path = ''
set timezone = 'UTC'
as $$
begin
  new.wire := badges.badge_json(new);
  new.event_badge := badges.event_badge(new);
  new.earned_text := badges.earned_message(new);
  return new;
end;
$$;
revoke execute on function badges.derive_definition() from public, anon, authenticated;

create or replace trigger definitions_derive
  before insert or update on badges.definitions
  for each row execute function badges.derive_definition();

/** A metric's unit words its badges' messages: rewrite them when it changes. */
create or replace function badges.metric_units_changed()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update badges.definitions d set earned_text = null where d.metric = new.id;
  return null;
end;
$$;
revoke execute on function badges.metric_units_changed() from public, anon, authenticated;

create or replace trigger metrics_units_changed
  after update of unit, unit_one on badges.metrics
  for each row execute function badges.metric_units_changed();

-- Rows written before this file: the trigger fills them (a re-run finds nothing to do).
update badges.definitions d set wire = null
where d.wire is distinct from badges.badge_json(d)
   or d.event_badge is distinct from badges.event_badge(d)
   or d.earned_text is distinct from badges.earned_message(d);

/* ----------------------------------------------------------------------------------------- */
/* Counters without hot rows                                                                 */
/* ----------------------------------------------------------------------------------------- */

/**
 * Changes to rarity counters not yet folded into badges.rarity_counts: one row per statement
 * and badge (badge_id '' counts users). Append-only, no index: writers never wait on each
 * other. Readers add them to the folded counts. Service-only.
 */
create table if not exists badges.rarity_deltas (
  badge_id text not null,
  holders bigint not null
);
alter table badges.rarity_deltas enable row level security;
grant select, insert, update, delete on badges.rarity_deltas to service_role;

/**
 * How many users each board has at each value: rank = 1 + users at greater values; total = the
 * sum. board is the user_stats counter ('badge_count', 'correct_count'); only values > 0.
 * Folded from badges.board_deltas. Service-only.
 */
create table if not exists badges.board_counts (
  board text not null,
  value integer not null,
  users bigint not null,
  primary key (board, value)
);
alter table badges.board_counts enable row level security;
grant select, insert, update, delete on badges.board_counts to service_role;

/** Changes to badges.board_counts not yet folded: append-only, like rarity_deltas. */
create table if not exists badges.board_deltas (
  board text not null,
  value integer not null,
  users bigint not null
);
alter table badges.board_deltas enable row level security;
grant select, insert, update, delete on badges.board_deltas to service_role;

-- Folded counts are no longer sharded (the shards were rows writers queued on): one row per
-- badge, in shard 0. A fold never takes it below 0: a removal's delta is written only after the
-- award it removes was committed, and with it the delta that counted it.
with collapsed as (
  delete from badges.rarity_counts where shard <> 0 returning badge_id, holders
)
insert into badges.rarity_counts as c (badge_id, shard, holders)
select badge_id, 0, sum(holders) from collapsed group by badge_id
on conflict (badge_id, shard) do update set holders = c.holders + excluded.holders;

/**
 * Move the deltas into the folded counts. Runs now and then after awards (about one in 64
 * award statements), after the batch functions, and on demand; only one fold at a time (the
 * others skip). Deltas a concurrent transaction has not committed stay for a later fold.
 */
create or replace function badges.fold_counts()
returns void
language plpgsql
set search_path = ''
as $$
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
    delete from badges.board_deltas returning board, value, users
  )
  insert into badges.board_counts as c (board, value, users)
  select board, value, sum(users) from moved group by board, value order by board, value
  on conflict (board, value) do update set users = c.users + excluded.users;
  delete from badges.board_counts where users = 0;
end;
$$;
revoke execute on function badges.fold_counts() from public, anon, authenticated;
grant execute on function badges.fold_counts() to service_role;

/**
 * Recount rarity and the board counts from the rows they count (awards, users, user_stats):
 * after a bulk load that bypassed the triggers, or to repair what the consistency report flags.
 * Takes the fold's lock, so no fold interleaves. Returns {rarity, board}: rows written.
 */
create or replace function badges.rebuild_counts()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_rarity bigint;
  v_board bigint;
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('badges.fold_counts', 0));
  lock table badges.awards, badges.users, badges.user_stats in share mode;
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
  return pg_catalog.jsonb_build_object('rarity', v_rarity, 'board', v_board);
end;
$$;
revoke execute on function badges.rebuild_counts() from public, anon, authenticated;
grant execute on function badges.rebuild_counts() to service_role;

-- A database from before this file has no board counts yet: count them once.
select badges.rebuild_counts()
where not exists (select from badges.board_counts) and not exists (select from badges.board_deltas);

/** Per-user lock, and the user's registration for rarity (a delta, not a shared counter). */
create or replace function badges.lock_user(p_user_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(p_user_id::text, 0));
  insert into badges.users (user_id) values (p_user_id) on conflict do nothing;
  if found then
    insert into badges.rarity_deltas (badge_id, holders) values ('', 1);
  end if;
end;
$$;

/**
 * Side effects of awards that really happened (the transition table holds only inserted rows),
 * in one statement: the user's counter and its board's per-value counts, the badge's rarity,
 * and, unless the transaction set badges.silent (a backfill) or the badge is quiet, one inbox
 * message and one outbox row per award.
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
    select n.user_id, n.badge_id, d.earned_text as message,
           pg_catalog.jsonb_build_object(
             'type', 'badge.earned',
             'id', 'badge.earned:' || n.user_id || ':' || n.badge_id,
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

  if pg_catalog.random() < 0.015625 then
    perform badges.fold_counts();
  end if;
  return null;
end;
$$;

-- after_awards_insert (above) builds each announcement from the stored columns: the per-award
-- builders of before are no longer called.
drop function if exists badges.announce(badges.awards[]);
drop function if exists badges.earned_event(uuid, badges.definitions, timestamptz);

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
  return null;
end;
$$;

/** One more distinct correct provider on the score leaderboard, and its board counts. */
create or replace function badges.count_correct(p_user_id uuid)
returns void
language sql
set search_path = ''
as $$
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
  select 'correct_count', correct_count - 1, -1 from bumped where correct_count > 1
$$;

/** {earned_count, earned_percent} of every badge: holders, and their share of all users. */
create or replace function badges.rarity()
returns table (badge_id text, rarity jsonb)
language sql stable
set search_path = ''
as $$
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
  from badges.definitions d cross join users u left join counts c on c.badge_id = d.id
$$;

/* ----------------------------------------------------------------------------------------- */
/* Awarding                                                                                  */
/* ----------------------------------------------------------------------------------------- */

/**
 * Award one badge, idempotently. p_client says the caller is the user's own client, which may
 * only award badges whose rule is 'client'. No new award outside the badge's window (BD006).
 * Composite badges the award completes are awarded too. Returns {awarded, earned_at, badge}:
 * awarded is true only when this call created the award. A repeat is answered from the award's
 * row, read with the definition, without taking the user's lock.
 */
create or replace function badges.award_badge(p_user_id uuid, p_badge_id text, p_client boolean)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_def record;
  v_earned_at timestamptz;
begin
  -- The definition and the user's award of it, if any, in one read by key.
  select d.rule, d.wire, d.starts_at, d.ends_at, a.earned_at
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
    return pg_catalog.jsonb_build_object(
      'awarded', false, 'earned_at', v_def.earned_at, 'badge', v_def.wire);
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
    return pg_catalog.jsonb_build_object(
      'awarded', false, 'earned_at', v_earned_at, 'badge', v_def.wire);
  end if;
  if exists (select from badges.definitions c
             where c.rule = 'all_of' and c.enabled and p_badge_id = any (c.requires)) then
    perform badges.award_composites(p_user_id);
  end if;
  return pg_catalog.jsonb_build_object(
    'awarded', true, 'earned_at', v_earned_at, 'badge', v_def.wire);
end;
$$;

/**
 * Award what the base rules in p_rules grant (see the engine migration): to p_user_id, or to
 * every user when it is null. The request path (one user, no badge filter, no backdating) has
 * a statement of its own, whose plan is cached: the general one would be planned anew per call
 * (a generic plan for "p_user_id is null or user_id = p_user_id" cannot use the user's index).
 */
create or replace function badges.award_rules(
  p_user_id uuid, p_rules text[], p_badge_id text default null, p_at timestamptz default null,
  p_backdate boolean default false)
returns setof badges.awards
language plpgsql
set search_path = ''
as $$
begin
  if p_user_id is not null and p_badge_id is null and not p_backdate then
    return query
    insert into badges.awards as a (user_id, badge_id, earned_at)
    select q.user_id, q.badge_id, coalesce(p_at, now())
    from badges.qualified q
    join badges.definitions d on d.id = q.badge_id
    where q.user_id = p_user_id
      and d.rule = any (p_rules) and d.enabled
      and (d.starts_at is null or d.starts_at <= coalesce(p_at, now()))
      and (d.ends_at is null or coalesce(p_at, now()) < d.ends_at)
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
         coalesce(p_at, case when r.reached is not null then greatest(r.reached, d.starts_at) end, now())
  from badges.qualified q
  join badges.definitions d on d.id = q.badge_id
  cross join lateral (
    select case when p_backdate then
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
    and (d.starts_at is null or d.starts_at <= coalesce(p_at, now()))
    and (d.ends_at is null or coalesce(p_at, now()) < d.ends_at)
    and not exists (select 1 from badges.awards x
                    where x.user_id = q.user_id and x.badge_id = q.badge_id)
    and not exists (select 1 from badges.revocations r
                    where r.user_id = q.user_id and r.badge_id = q.badge_id and not r.automatic)
  order by q.user_id, q.badge_id
  on conflict do nothing
  returning a.*;
end;
$$;

/**
 * Award the composite (all_of) badges whose required badges are all earned (see the engine
 * migration). Nothing to do, and no statement run, when no enabled composite exists; one user's
 * check has a statement of its own, as in award_rules.
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

/* ----------------------------------------------------------------------------------------- */
/* Reads                                                                                     */
/* ----------------------------------------------------------------------------------------- */

/**
 * Every badge with the user's state (see the progress migration). The user's rows are read by
 * key, one look-up per badge (subqueries, not joins): the plan cannot turn into a scan of a
 * large table whatever the statistics say.
 */
create or replace function badges.badge_progress(p_user_id uuid)
returns table (def badges.definitions, earned_at timestamptz, current bigint, target bigint,
               unit text, unit_one text)
language sql stable
set search_path = ''
as $$
  with facts as materialized (
    select * from badges.user_facts(p_user_id)
  ), goals as (
    select d,
      (select a.earned_at from badges.awards a
       where a.user_id = p_user_id and a.badge_id = d.id) as earned_at,
      case d.rule
        when 'streak' then f.current_streak
        when 'quiz_distinct' then f.correct_providers
        when 'quiz_all' then f.correct_providers
        when 'metric' then coalesce((select t.total from badges.metric_totals t
                                     where t.user_id = p_user_id and t.metric = d.metric), 0)
        when 'distinct' then coalesce((select t.distinct_count from badges.metric_totals t
                                       where t.user_id = p_user_id and t.metric = d.metric), 0)
        when 'all_of' then (select count(*) from badges.awards b
                            where b.user_id = p_user_id and b.badge_id = any (d.requires))
      end as current,
      case d.rule
        when 'quiz_all' then nullif(f.total_providers, 0)
        when 'all_of' then cardinality(d.requires)
        else d.threshold
      end as target,
      case when d.metric is not null then coalesce(nullif(m.unit, ''), m.name)
        when d.rule = 'streak' then 'days' when d.rule = 'all_of' then 'badges'
        else 'providers' end as unit,
      case when d.metric is not null
        then coalesce(nullif(m.unit_one, ''), nullif(m.unit, ''), m.name)
        when d.rule = 'streak' then 'day' when d.rule = 'all_of' then 'badge'
        else 'provider' end as unit_one
    from badges.definitions d
    cross join facts f
    left join badges.metrics m on m.id = d.metric
  )
  select d, earned_at,
         case when target is null then null
              when earned_at is not null then target else least(current, target) end,
         target, unit, unit_one
  from goals
$$;

/**
 * Every badge the user can see, with progress and rarity, and the next milestone per category
 * (see the progress migration); the badge's wire shape is the stored one.
 */
create or replace function badges.list_badges(p_user_id uuid)
returns jsonb
language sql stable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'badges', coalesce(pg_catalog.jsonb_agg(
      (p.def).wire || pg_catalog.jsonb_build_object(
        'earned', p.earned_at is not null,
        'earned_at', p.earned_at,
        'progress', case when p.target is not null then pg_catalog.jsonb_build_object(
          'current', p.current, 'target', p.target) end,
        'rarity', r.rarity)
      order by (p.def).sort_order, (p.def).id), '[]'::jsonb),
    'earned_count', count(p.earned_at),
    'total_count', count(*),
    'next', badges.next_milestones(p_user_id))
  from badges.badge_progress(p_user_id) p
  join badges.rarity() r on r.badge_id = (p.def).id
  where ((p.def).enabled and not (p.def).hidden) or p.earned_at is not null
$$;

/** The visible catalog: enabled, non-hidden badges with rarity; active quiz providers. */
create or replace function badges.get_catalog()
returns jsonb
language sql stable
set search_path = ''
as $$
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
      from badges.quiz_providers p where p.active), '[]'::jsonb))
$$;

/* ----------------------------------------------------------------------------------------- */
/* Leaderboards                                                                              */
/* ----------------------------------------------------------------------------------------- */

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
as $$
declare
  v_ranks jsonb;
  v_total bigint;
  v_start integer;
  v_skip bigint := 0;
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
  -- v_start: the value the page starts in (with an offset, the smallest value whose first
  -- rank is within offset + 1), v_skip the entries to skip within it.
  -- Each value's competition rank, 1 + the users at greater values, from the per-value counts
  -- (folded and pending): a few dozen rows, never the board's. Written here, not in a function
  -- of its own: a SQL function with SET search_path is planned anew on every call.
  select coalesce(pg_catalog.jsonb_object_agg(r.value, r.rank), '{}'), coalesce(sum(r.users), 0),
         (pg_catalog.array_agg(r.value order by r.value) filter (where r.rank <= p_offset + 1))[1]
  into v_ranks, v_total, v_start
  from (
    select c.value, c.users,
           1 + coalesce(sum(c.users) over (order by c.value desc
                                           rows between unbounded preceding and 1 preceding), 0)
             as rank
    from (select x.value, sum(x.users)::bigint as users
          from (select b.value, b.users from badges.board_counts b where b.board = p_counter
                union all
                select b.value, b.users from badges.board_deltas b where b.board = p_counter) x
          where x.value > 0
          group by x.value
          having sum(x.users) > 0) c) r;
  if p_after_value is not null then
    v_start := p_after_value;
  elsif v_start is not null then
    v_skip := p_offset + 1 - (v_ranks ->> v_start::text)::bigint;
  end if;

  -- One more than the page: whether a next page exists. Each branch is an index range scan;
  -- only the two of the asked counter run.
  select pg_catalog.array_agg(value order by value desc, at, user_id),
         pg_catalog.array_agg(at order by value desc, at, user_id),
         pg_catalog.array_agg(user_id order by value desc, at, user_id)
  into v_values, v_ats, v_users
  from (
    (select s.badge_count as value, s.badge_count_at as at, s.user_id
     from badges.user_stats s
     where p_counter = 'badge_count' and s.badge_count > 0 and s.badge_count = v_start
       and (s.badge_count_at, s.user_id) > (v_after_at, v_after_user)
     order by s.badge_count_at, s.user_id
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
     order by s.correct_count_at, s.user_id
     offset v_skip limit p_limit + 1)
    union all
    (select s.correct_count, s.correct_count_at, s.user_id
     from badges.user_stats s
     where p_counter = 'correct_count' and s.correct_count > 0 and s.correct_count < v_start
     order by s.correct_count desc, s.correct_count_at, s.user_id
     limit p_limit + 1)
    order by 1 desc, 2, 3
    limit p_limit + 1) page;

  if p_user_id is not null then
    select case p_counter when 'badge_count' then s.badge_count else s.correct_count end
    into v_mine from badges.user_stats s where s.user_id = p_user_id;
  end if;

  -- json, not jsonb: the answer is only sent on, and jsonb would parse and sort every entry.
  return pg_catalog.json_build_object(
    'entries', coalesce((
      select pg_catalog.json_agg(pg_catalog.json_build_object(
               'rank', (v_ranks ->> e.value::text)::bigint, 'user_id', e.user_id,
               p_counter, e.value) order by e.ord)
      from rows from (pg_catalog.unnest(v_values), pg_catalog.unnest(v_users))
        with ordinality e(value, user_id, ord)
      where e.ord <= p_limit), '[]'::json),
    'me', case when v_mine > 0 then pg_catalog.json_build_object(
            'rank', (v_ranks ->> v_mine::text)::bigint, 'user_id', p_user_id, p_counter, v_mine)
          end,
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

-- The v1 readers, replaced by the ones below (same answer, plus keyset paging).
drop function if exists badges.leaderboard(uuid, integer, integer);
drop function if exists badges.score_leaderboard(uuid, integer, integer);
drop function if exists badges.board(text, uuid, integer, integer);

/** The badge-count leaderboard (badges.board over badge_count). */
create or replace function badges.leaderboard(
  p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer default null,
  p_after_at timestamptz default null, p_after_user uuid default null)
returns json
language plpgsql stable
set search_path = ''
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

/** The quiz leaderboard (badges.board over correct_count: distinct providers answered right). */
create or replace function badges.score_leaderboard(
  p_user_id uuid, p_limit integer, p_offset integer, p_after_value integer default null,
  p_after_at timestamptz default null, p_after_user uuid default null)
returns json
language plpgsql stable
set search_path = ''
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

/**
 * The consistency report (see the consistency migration), reading rarity as folded counts plus
 * pending deltas, and with one more check:
 *   board           a board's per-value count differs from the users at that value
 */
create or replace function badges.consistency_report()
returns jsonb
language sql stable
set search_path = ''
as $$
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
          select c.board, c.value, sum(c.users) as n
          from (select x.board, x.value, x.users from badges.board_counts x
                union all
                select x.board, x.value, x.users from badges.board_deltas x) c
          group by c.board, c.value
        ) c
        full join (
          select 'badge_count' as board, s.badge_count as value, count(*) as n
          from badges.user_stats s where s.badge_count > 0 group by s.badge_count
          union all
          select 'correct_count', s.correct_count, count(*)
          from badges.user_stats s where s.correct_count > 0 group by s.correct_count
        ) h on h.board = c.board and h.value = c.value
        where coalesce(c.n, 0) <> coalesce(h.n, 0)),
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
        select count(*) from (select 1 from badges.outbox o
                              group by o.user_id, o.badge_id having count(*) > 1) d)
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

/* ----------------------------------------------------------------------------------------- */
/* No JIT on the request path                                                                */
/* ----------------------------------------------------------------------------------------- */

-- A request's statements read a few rows by key. On a database whose statistics are missing
-- (restored, bulk-loaded, never analysed) their estimates can pass jit_above_cost, and a server
-- with JIT then compiles them on every call: hundreds of milliseconds for a read of
-- microseconds. Turned off here, for every function a request calls, whatever the server; the
-- batch functions (check_streaks_all, check_badges_all, consistency_report) keep the server's
-- setting.
do $$
declare
  v_function regprocedure;
begin
  for v_function in
    select p.oid::regprocedure from pg_catalog.pg_proc p
    where p.pronamespace = 'badges'::regnamespace
      and p.proname in (
        'award_badge', 'revoke_badge', 'list_badges', 'get_catalog', 'progress', 'level_status',
        'leaderboard', 'score_leaderboard', 'record_activity', 'record_score', 'check_streaks',
        'check_quiz_master', 'check_badges', 'track', 'take_rate_token', 'claim_notifications',
        'finish_notifications', 'requeue_notifications', 'outbox_rows', 'inbox',
        'mark_notifications_read', 'feed', 'preferences', 'register_push_token',
        'unregister_push_token', 'create_share', 'open_share', 'sync_catalog')
  loop
    execute pg_catalog.format('alter function %s set jit = off', v_function);
  end loop;
end;
$$;
