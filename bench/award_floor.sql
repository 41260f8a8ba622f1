-- The floor of a new award with its guarantees, hand-written (bench/results/award-wal.md,
-- docs/architecture.md "What bounds a new award"). On a database loaded by bench/dataset.py:
--   psql -f bench/award_floor.sql, then pgbench -n -M prepared -c 8 -j 2 -T 8 alternating
--   "insert into bench.raw_awards (user_id, badge_id) values (gen_random_uuid(),
--   'social_sharer') on conflict do nothing;" with the same insert into floor.a1 … floor.a4,
--   "select floor.award5(gen_random_uuid(), 'social_sharer');"
--   and "select badges.award_badge(gen_random_uuid(), 'social_sharer', false);".
-- a1: the raw insert plus a per-user counter row; a2: the counter with its board index;
-- a3: a2 plus one message row (inbox and outbox as one); a4: a2 plus one inbox and one outbox
-- row shaped like badges.notifications and badges.outbox (their indexes included).
-- a5: every row a new award writes, in the cheapest shape the guarantees allow, through a
-- function as an award is called: the award in a copy of badges.awards (all its rows and
-- indexes), the user's registration (a copy of badges.users), the counter with its board index,
-- the rarity and board deltas, and one message row serving as inbox and outbox. It checks
-- nothing (no definition, no per-user lock, no outbox dedupe, no payload built).
-- Copying awards and users takes about 2 minutes on the 1M-user data set.
drop schema if exists floor cascade;
create schema floor;
create table floor.stats (user_id uuid primary key, n int not null default 0, at timestamptz);
insert into floor.stats select user_id, badge_count, badge_count_at from badges.user_stats;
create table floor.stats_b (like floor.stats including all);
insert into floor.stats_b select * from floor.stats;
create index on floor.stats_b (n desc, at, user_id) where n > 0;
create table floor.msg (id bigint generated always as identity primary key, user_id uuid not null,
  badge_id text, payload jsonb not null, read_at timestamptz, status text not null default 'pending',
  created_at timestamptz not null default now());
create index on floor.msg (user_id, id desc);
create table floor.inbox (like badges.notifications including all);
create table floor.outbox (like badges.outbox including all);
create or replace function floor.f1() returns trigger language plpgsql as $$
begin
  insert into floor.stats as s (user_id, n, at) select user_id, 1, earned_at from new_rows
  on conflict (user_id) do update set n = s.n + 1, at = excluded.at;
  return null;
end $$;
create or replace function floor.f2() returns trigger language plpgsql as $$
begin
  insert into floor.stats_b as s (user_id, n, at) select user_id, 1, earned_at from new_rows
  on conflict (user_id) do update set n = s.n + 1, at = excluded.at;
  return null;
end $$;
create or replace function floor.f3() returns trigger language plpgsql as $$
begin
  with st as (insert into floor.stats_b as s (user_id, n, at) select user_id, 1, earned_at from new_rows
  on conflict (user_id) do update set n = s.n + 1, at = excluded.at returning 1)
  insert into floor.msg (user_id, badge_id, payload) select user_id, badge_id, '{"type":"badge.earned","message":"You earned Social Sharer"}' from new_rows;
  return null;
end $$;
create or replace function floor.f4() returns trigger language plpgsql as $$
begin
  with st as (insert into floor.stats_b as s (user_id, n, at) select user_id, 1, earned_at from new_rows
  on conflict (user_id) do update set n = s.n + 1, at = excluded.at returning 1),
  ib as (insert into floor.inbox (user_id, kind, badge_id, message) select user_id, 'badge.earned', badge_id, 'You earned Social Sharer' from new_rows)
  insert into floor.outbox (dedupe_key, kind, user_id, badge_id, payload) select 'badge.earned:'||user_id||':'||badge_id, 'badge.earned', user_id, badge_id, '{"type":"badge.earned","message":"You earned Social Sharer"}' from new_rows on conflict (dedupe_key) do nothing;
  return null;
end $$;
do $$ begin
  for i in 1..4 loop
    execute format('create table floor.a%s (like bench.raw_awards including all)', i);
    execute format('create trigger t after insert on floor.a%s referencing new table as new_rows for each statement execute function floor.f%s()', i, i);
  end loop;
end $$;
vacuum analyze floor.stats; vacuum analyze floor.stats_b;

create table floor.users5 (like badges.users including all);
insert into floor.users5 select * from badges.users;
create table floor.stats5 (like floor.stats_b including all);
insert into floor.stats5 select * from floor.stats_b;
create table floor.msg5 (like floor.msg including all);
create table floor.rarity5 (like badges.rarity_deltas);
create table floor.board5 (board text not null, value integer not null, users bigint not null);
create table floor.a5 (like badges.awards including all);
insert into floor.a5 select * from badges.awards;
create or replace function floor.f5() returns trigger language plpgsql as $$
begin
  with st as (insert into floor.stats5 as s (user_id, n, at) select user_id, 1, earned_at from new_rows
    on conflict (user_id) do update set n = s.n + 1, at = excluded.at returning s.n),
  bd as (insert into floor.board5 (board, value, users)
    select 'badge_count', v, sum(u) from (select n as v, 1 as u from st
      union all select n - 1, -1 from st where n > 1) m group by v),
  rd as (insert into floor.rarity5 (badge_id, holders)
    select badge_id, count(*) from new_rows group by badge_id)
  insert into floor.msg5 (user_id, badge_id, payload) select user_id, badge_id, '{"type":"badge.earned","message":"You earned Social Sharer"}' from new_rows;
  return null;
end $$;
create trigger t after insert on floor.a5 referencing new table as new_rows
  for each statement execute function floor.f5();
create or replace function floor.award5(p_user uuid, p_badge text) returns jsonb
language plpgsql set search_path = '' as $$
declare v_at timestamptz;
begin
  insert into floor.users5 (user_id) values (p_user) on conflict do nothing;
  insert into floor.a5 (user_id, badge_id) values (p_user, p_badge) on conflict do nothing
  returning earned_at into v_at;
  return pg_catalog.jsonb_build_object('awarded', v_at is not null, 'earned_at', v_at);
end $$;
vacuum analyze floor.a5; vacuum analyze floor.users5; vacuum analyze floor.stats5;
checkpoint;
