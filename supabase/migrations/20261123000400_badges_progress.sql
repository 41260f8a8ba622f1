/**
 * What users see of the rules: rarity (how many users earned a badge and their share of all
 * users, kept by counters, never by counting awards on a request), progress toward numeric
 * goals, and the next milestone per category.
 */

/**
 * Every user the service has written for (registered by badges.lock_user): the denominator of
 * rarity. Service-only.
 */
create table if not exists badges.users (
  user_id uuid primary key,
  first_seen_at timestamptz not null default now()
);
alter table badges.users enable row level security;
grant select, insert, update, delete on badges.users to service_role;

/**
 * Counters for rarity, split in 16 shards by user so that users earning the same badge at the
 * same moment rarely wait for one another's row lock; a read sums 16 rows.
 * badge_id '' counts users (badges.users), any other id the holders of that badge. Service-only:
 * clients read rarity through the function.
 */
create table if not exists badges.rarity_counts (
  badge_id text not null,
  shard smallint not null,
  holders bigint not null default 0 check (holders >= 0),
  primary key (badge_id, shard)
);
alter table badges.rarity_counts enable row level security;
grant select, insert, update, delete on badges.rarity_counts to service_role;

/** The counter shard of a user. */
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
 * Users known before this migration, and the holders of every badge. Only while the counters
 * are empty, that is when this file first runs: from then on lock_user and the award triggers
 * keep them, and a re-run leaves both tables as they are.
 */
insert into badges.users (user_id)
select user_id from (
  select user_id from badges.user_stats
  union select user_id from badges.streaks
  union select user_id from badges.quiz_scores
  union select user_id from badges.awards) known
where not exists (select from badges.rarity_counts)
on conflict do nothing;

insert into badges.rarity_counts (badge_id, shard, holders)
select badge_id, shard, holders from (
  select badge_id, badges.shard(user_id) as shard, count(*) as holders
  from badges.awards group by 1, 2
  union all
  select '', badges.shard(user_id), count(*) from badges.users group by 2) counts
where not exists (select from badges.rarity_counts);

/**
 * Serialize one user's writes (every per-user write function takes this lock first, so two
 * actions of the same user never deadlock) and register the user for rarity.
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
    insert into badges.rarity_counts as c (badge_id, shard, holders)
    values ('', badges.shard(p_user_id), 1)
    on conflict (badge_id, shard) do update set holders = c.holders + 1;
  end if;
end;
$$;

/**
 * Side effects of awards that really happened (the transition table holds only inserted rows):
 * the user's leaderboard counter, the badge's rarity counter and, unless the transaction set
 * badges.silent (a backfill), one in-app notification per award.
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
  -- The shard is badges.shard() written out: it runs per inserted row (a backfill inserts many).
  insert into badges.rarity_counts as c (badge_id, shard, holders)
  select badge_id, (pg_catalog.hashtextextended(user_id::text, 7) & 15)::smallint, count(*)
  from new_awards group by 1, 2 order by 1, 2
  on conflict (badge_id, shard) do update set holders = c.holders + excluded.holders;

  if pg_catalog.current_setting('badges.silent', true) is distinct from 'on' then
    insert into badges.notifications (user_id, kind, badge_id, message)
    select n.user_id, 'badge_earned', n.badge_id, 'You earned ' || d.name || '!'
    from new_awards n join badges.definitions d on d.id = n.badge_id
    order by n.user_id, n.badge_id;
  end if;
  return null;
end;
$$;

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
  update badges.rarity_counts c set holders = c.holders - o.removed
  from (select badge_id, (pg_catalog.hashtextextended(user_id::text, 7) & 15)::smallint as shard,
               count(*) as removed
        from old_awards group by 1, 2) o
  where c.badge_id = o.badge_id and c.shard = o.shard;
  return null;
end;
$$;

/** {earned_count, earned_percent} of every badge: holders, and their share of all users. */
create or replace function badges.rarity()
returns table (badge_id text, rarity jsonb)
language sql stable
set search_path = ''
as $$
  with counts as (
    select c.badge_id, sum(c.holders) as holders from badges.rarity_counts c group by c.badge_id
  ), users as (
    select coalesce((select holders from counts where counts.badge_id = ''), 0) as n
  )
  select d.id, pg_catalog.jsonb_build_object(
    'earned_count', coalesce(c.holders, 0),
    'earned_percent', round(100.0 * coalesce(c.holders, 0) / greatest(u.n, c.holders, 1), 1))
  from badges.definitions d cross join users u left join counts c on c.badge_id = d.id
$$;
revoke execute on function badges.rarity() from public, anon, authenticated;
grant execute on function badges.rarity() to service_role;

/** The wire shape of a badge definition. */
create or replace function badges.badge_json(d badges.definitions)
returns jsonb
language sql stable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'id', d.id, 'name', d.name, 'description', d.description, 'icon', d.icon,
    'category', d.category, 'tier', d.tier, 'rule', d.rule, 'threshold', d.threshold,
    'metric', d.metric, 'requires', pg_catalog.to_jsonb(d.requires), 'hidden', d.hidden,
    'starts_at', d.starts_at, 'ends_at', d.ends_at, 'label_key', d.label_key,
    'description_key', d.description_key)
$$;

/**
 * Every badge with the user's state: earned_at (or null), current and target of its numeric
 * goal (null when it has none; an earned badge shows its goal reached) and the unit goal counts.
 */
create or replace function badges.badge_progress(p_user_id uuid)
returns table (def badges.definitions, earned_at timestamptz, current bigint, target bigint,
               unit text, unit_one text)
language sql stable
set search_path = ''
as $$
  with facts as (
    select * from badges.user_facts(p_user_id)
  ), goals as (
    select d, a.earned_at,
      case d.rule
        when 'streak' then f.current_streak
        when 'quiz_distinct' then f.correct_providers
        when 'quiz_all' then f.correct_providers
        when 'metric' then coalesce(t.total, 0)
        when 'distinct' then coalesce(t.distinct_count, 0)
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
    left join badges.metric_totals t on t.user_id = p_user_id and t.metric = d.metric
    left join badges.metrics m on m.id = d.metric
    left join badges.awards a on a.user_id = p_user_id and a.badge_id = d.id
  )
  select d, earned_at,
         case when target is null then null
              when earned_at is not null then target else least(current, target) end,
         target, unit, unit_one
  from goals
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
language sql stable
set search_path = ''
as $$
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
  from nearest
$$;
revoke execute on function badges.next_milestones(uuid) from public, anon, authenticated;
grant execute on function badges.next_milestones(uuid) to service_role;

/** The `progress` action: the next milestones alone. Returns {milestones}. */
create or replace function badges.progress(p_user_id uuid)
returns jsonb
language sql stable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object('milestones', badges.next_milestones(p_user_id))
$$;
revoke execute on function badges.progress(uuid) from public, anon, authenticated;
grant execute on function badges.progress(uuid) to service_role;

/**
 * Every badge the user can see (enabled and not hidden, or earned), earned or not, with progress
 * toward numeric goals and rarity, and the next milestone per category.
 * Returns {badges: [...], earned_count, total_count, next: [...]}.
 */
create or replace function badges.list_badges(p_user_id uuid)
returns jsonb
language sql stable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'badges', coalesce(pg_catalog.jsonb_agg(
      badges.badge_json(p.def) || pg_catalog.jsonb_build_object(
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
        badges.badge_json(d) || pg_catalog.jsonb_build_object('rarity', r.rarity)
        order by d.sort_order, d.id)
      from badges.definitions d join badges.rarity() r on r.badge_id = d.id
      where d.enabled and not d.hidden), '[]'::jsonb),
    'providers', coalesce((
      select pg_catalog.jsonb_agg(
        pg_catalog.jsonb_build_object('id', p.id, 'name', p.name) order by p.sort_order, p.id)
      from badges.quiz_providers p where p.active), '[]'::jsonb))
$$;
