/**
 * The users the service knows, and the counters many writers share.
 *
 * badges.lock_user serializes one user's writes and registers the user: every per-user write
 * function takes it first, so two actions of the same user never deadlock on their rows (and
 * never block other users).
 *
 * Counters that many writers share (rarity: the holders of each badge and the number of users;
 * the per-value counts that rank the leaderboards) are append-only deltas, folded now and then:
 * concurrent awards never wait for one counter row. Readers add the pending deltas to the
 * folded counts.
 */

/**
 * Every user the service has written for (registered by badges.lock_user): the denominator of
 * rarity. Two preferences (badges.preferences): feed_opt_out keeps the user's awards out of
 * everyone's feed; profile_public false (the opt-out of public profiles, see the profiles file)
 * makes the user, to everyone else, a user the service does not know, and leaves the user out
 * of every badge's public holders. Service-only.
 */
create table if not exists badges.users (
  user_id uuid primary key,
  first_seen_at timestamptz not null default now(),
  feed_opt_out boolean not null default false,
  profile_public boolean not null default true
);
alter table badges.users enable row level security;
grant select, insert, update, delete on badges.users to service_role;

/**
 * Folded rarity counters: badge_id '' counts users (badges.users), any other id the holders of
 * that badge. One row per badge, in shard 0 (the counters were once split in 16 shards by user,
 * badges.shard; the deltas replaced them). A fold never takes a count below 0: a removal's delta
 * is written only after the award it removes was committed, and with it the delta that counted
 * it. Service-only: clients read rarity through the functions.
 */
create table if not exists badges.rarity_counts (
  badge_id text not null,
  shard smallint not null,
  -- No check (holders >= 0): INSERT … ON CONFLICT checks the proposed row before it finds the
  -- conflict, so a fold whose deltas sum to -1 (a revoke) would fail on a badge holding 1, and
  -- with it the award whose statement ran the fold. The consistency report compares the counts.
  holders bigint not null default 0,
  primary key (badge_id, shard)
);
alter table badges.rarity_counts enable row level security;
grant select, insert, update, delete on badges.rarity_counts to service_role;

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
 * sum. board is a user_stats counter ('badge_count', 'correct_count': the two built-in boards,
 * period '-infinity') or a catalog leaderboard's id with the first day of a live period
 * ('-infinity' for all_time; badges.board_entries); only values > 0. Folded from
 * badges.board_deltas. Service-only.
 */
create table if not exists badges.board_counts (
  board text not null,
  period date not null default '-infinity',
  value bigint not null,
  users bigint not null,
  primary key (board, period, value)
);
alter table badges.board_counts enable row level security;
grant select, insert, update, delete on badges.board_counts to service_role;

/** Changes to badges.board_counts not yet folded: append-only, like rarity_deltas. */
create table if not exists badges.board_deltas (
  board text not null,
  period date not null default '-infinity',
  value bigint not null,
  users bigint not null
);
alter table badges.board_deltas enable row level security;
grant select, insert, update, delete on badges.board_deltas to service_role;
-- A board's reads find its pending deltas by index: after a stream of awards, vacuum empties
-- the folded rows' pages but cannot drop them while live deltas sit at the table's end, and a
-- sequential scan would read them all on every leaderboard call.
create index if not exists board_deltas_board_idx on badges.board_deltas (board, period);

/**
 * badges.board_counts summed at coarser levels, so that a rank never sums more than a few
 * hundred rows, however many distinct values a board has. At level L (1 to 7) a row counts the
 * users whose value >> 8L is key. The users above a value are the values above it in its own
 * group of 256 (board_counts), plus the groups above its group within the next level's group,
 * and so on up (badges.board_above). Kept equal to board_counts by the triggers below, in the
 * statement that changes them (a fold, a refill, a rebuild). Pending deltas are not in them:
 * readers add those. Only values > 0. Service-only.
 */
create table if not exists badges.board_buckets (
  board text not null,
  period date not null,
  level smallint not null check (level between 1 and 7),
  key bigint not null,
  users bigint not null,
  primary key (board, period, level, key)
);
alter table badges.board_buckets enable row level security;
grant select, insert, update, delete on badges.board_buckets to service_role;

/** Adds per-value changes of users (board, period, value, users: value > 0) to every level. */
create or replace function badges.move_board_buckets(
  p_boards text[], p_periods date[], p_values bigint[], p_users bigint[])
returns void
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.move_board_buckets(text[], date[], bigint[], bigint[])
  from public, anon, authenticated;
grant execute on function badges.move_board_buckets(text[], date[], bigint[], bigint[])
  to service_role;

/** Keeps board_buckets equal to board_counts: a statement trigger for each kind of change. */
create or replace function badges.after_board_counts_change()
returns trigger
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.after_board_counts_change() from public, anon, authenticated;

create or replace trigger board_counts_after_insert
  after insert on badges.board_counts referencing new table as new_counts
  for each statement execute function badges.after_board_counts_change();
create or replace trigger board_counts_after_update
  after update on badges.board_counts referencing old table as old_counts new table as new_counts
  for each statement execute function badges.after_board_counts_change();
create or replace trigger board_counts_after_delete
  after delete on badges.board_counts referencing old table as old_counts
  for each statement execute function badges.after_board_counts_change();

/** The counter shard of a user (of the sharded counters the deltas replaced). */
create or replace function badges.shard(p_user_id uuid)
returns smallint
language sql immutable
set search_path = ''
as $$
  select (pg_catalog.hashtextextended(p_user_id::text, 7) & 15)::smallint
$$;
revoke execute on function badges.shard(uuid) from public, anon, authenticated;
grant execute on function badges.shard(uuid) to service_role;

/**
 * Serialize one user's writes (every per-user write function takes this lock first) and
 * register the user for rarity: a delta, not a shared counter.
 */
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
revoke execute on function badges.lock_user(uuid) from public, anon, authenticated;
grant execute on function badges.lock_user(uuid) to service_role;

/**
 * Move the deltas into the folded counts. Runs now and then after awards (about one in 64
 * award statements), after the batch functions, and on demand; only one fold at a time (the
 * others skip). Deltas a concurrent transaction has not committed stay for a later fold.
 * A value the fold empties is dropped by its key: the cost of a fold follows the deltas it
 * moves, never the number of values every board has.
 */
create or replace function badges.fold_counts()
returns void
language plpgsql
set search_path = ''
as $$
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
revoke execute on function badges.fold_counts() from public, anon, authenticated;
grant execute on function badges.fold_counts() to service_role;

/**
 * Recount rarity and the board counts from the rows they count (awards, users, user_stats, the
 * live entries of catalog leaderboards): after a bulk load that bypassed the triggers, or to
 * repair what the consistency report flags.
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
revoke execute on function badges.rebuild_counts() from public, anon, authenticated;
grant execute on function badges.rebuild_counts() to service_role;

/**
 * {earned_count, earned_percent} of every badge: holders (folded counts plus pending deltas),
 * and their share of all users.
 */
create or replace function badges.rarity()
returns table (badge_id text, rarity jsonb)
language plpgsql stable
set search_path = ''
as $$
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
revoke execute on function badges.rarity() from public, anon, authenticated;
grant execute on function badges.rarity() to service_role;
