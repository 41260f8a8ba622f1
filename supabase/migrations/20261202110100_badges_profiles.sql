/**
 * Public profiles (issue 12): what any signed-in user may see of another user, and what the user
 * chooses to show.
 *
 *   profile {user_id}        the user's earned, non-hidden badges (newest first, keyset-paged),
 *                            showcase, current level and badge count; nothing private
 *   showcase {badge_ids}     pin up to 5 earned badges, in order (a new list replaces the old)
 *   current_level            the highest level the user meets, and the next one's steps
 *
 * users.profile_public (default true; the counts file's users table, set with
 * badges.preferences in the inbox_feed file) is the opt-out: a user who turns it off is, to
 * everyone else, a user the service does not know (BD011), so the answer reveals no more than an
 * id never seen would. The owner and service callers still read the profile. Also read by the
 * discovery functions, which list only public holders.
 *
 * Error codes: BD011 unknown user (no profile to show), BD012 badge not earned (a pin of a
 * badge the user does not hold).
 */

/**
 * A user's pinned badges, slot 1 to 5 in the order shown. Written only by badges.set_showcase.
 * The foreign key to the award makes a pin exist only while its award does: a revocation (by a
 * service, or the batch's auto_revoke) deletes the pin with the award, without any revoke path
 * knowing about showcases; a badge earned again later is not pinned again by itself.
 * Readable by its owner, like the awards it points at; others see it through badges.profile.
 */
create table if not exists badges.showcases (
  user_id uuid not null,
  badge_id text not null,
  slot smallint not null check (slot between 1 and 5),
  primary key (user_id, badge_id),
  unique (user_id, slot),
  foreign key (user_id, badge_id) references badges.awards (user_id, badge_id) on delete cascade
);
alter table badges.showcases enable row level security;
grant select on badges.showcases to authenticated;
grant select, insert, update, delete on badges.showcases to service_role;

drop policy if exists "Showcases are readable by their owner" on badges.showcases;
create policy "Showcases are readable by their owner"
  on badges.showcases for select
  to authenticated
  using (user_id = (select auth.uid()));

/**
 * A badge as a profile shows it: {badge: {id, name, icon, tier, category}, earned_at} (the
 * feed's badge shape, so clients draw both with one widget).
 */
create or replace function badges.profile_badge(d badges.definitions, p_earned_at timestamptz)
returns jsonb
language plpgsql immutable
set search_path = ''
as $$
begin
  return pg_catalog.jsonb_build_object(
    'badge', pg_catalog.jsonb_build_object(
      'id', d.id, 'name', d.name, 'icon', d.icon, 'tier', d.tier, 'category', d.category),
    'earned_at', p_earned_at);
end;
$$;
revoke execute on function badges.profile_badge(badges.definitions, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.profile_badge(badges.definitions, timestamptz) to service_role;

/**
 * The user's showcase in slot order, as profile badges; hidden badges only with p_hidden (the
 * owner's view: they earned them).
 */
create or replace function badges.showcase_of(p_user_id uuid, p_hidden boolean)
returns jsonb
language plpgsql stable
set search_path = ''
as $$
begin
  return (
    select coalesce(pg_catalog.jsonb_agg(badges.profile_badge(d, a.earned_at) order by s.slot),
                    '[]')
    from badges.showcases s
    join badges.awards a on a.user_id = s.user_id and a.badge_id = s.badge_id
    join badges.definitions d on d.id = s.badge_id
    where s.user_id = p_user_id and (p_hidden or not d.hidden));
end;
$$;
revoke execute on function badges.showcase_of(uuid, boolean) from public, anon, authenticated;
grant execute on function badges.showcase_of(uuid, boolean) to service_role;

/**
 * Replace the user's showcase with p_badge_ids, a JSON array of at most 5 distinct badge ids in
 * the order to show ([] unpins all). BD004 for anything else, BD001 for an id no badge has,
 * BD012 for a badge the user has not earned (hidden or not). Returns {showcase} as stored.
 * The awards pinned are locked (FOR KEY SHARE) before the pins are written: a revocation
 * committed meanwhile makes this a BD012, one that comes later deletes the pin with the award.
 */
create or replace function badges.set_showcase(p_user_id uuid, p_badge_ids jsonb)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_ids text[];
  v_held integer;
  v_id text;
begin
  if pg_catalog.jsonb_typeof(p_badge_ids) is distinct from 'array'
     or pg_catalog.jsonb_path_exists(p_badge_ids, 'strict $[*] ? (@.type() != "string")') then
    raise exception using errcode = 'BD004', message = 'invalid showcase',
      detail = 'badge_ids must be an array of badge ids.';
  end if;
  v_ids := array(select e.id from pg_catalog.jsonb_array_elements_text(p_badge_ids)
                 with ordinality e (id, n) order by e.n);
  if pg_catalog.cardinality(v_ids) > 5 then
    raise exception using errcode = 'BD004', message = 'showcase too long',
      detail = pg_catalog.format('At most 5 badges can be pinned, not %s.',
                                 pg_catalog.cardinality(v_ids));
  end if;
  if pg_catalog.cardinality(v_ids)
     <> (select count(distinct u.id) from pg_catalog.unnest(v_ids) u (id)) then
    raise exception using errcode = 'BD004', message = 'badge pinned twice',
      detail = 'Each badge can be pinned once.';
  end if;
  select u.id into v_id from pg_catalog.unnest(v_ids) with ordinality u (id, n)
  where not exists (select from badges.definitions d where d.id = u.id)
  order by u.n limit 1;
  if found then
    raise exception using errcode = 'BD001', message = 'unknown badge',
      detail = pg_catalog.format('No badge has the id %L.', v_id);
  end if;

  perform badges.lock_user(p_user_id);
  select count(*) into v_held from (
    select from badges.awards a
    where a.user_id = p_user_id and a.badge_id = any (v_ids)
    for key share) held;
  if v_held < pg_catalog.cardinality(v_ids) then
    select u.id into v_id from pg_catalog.unnest(v_ids) with ordinality u (id, n)
    where not exists (select from badges.awards a
                      where a.user_id = p_user_id and a.badge_id = u.id)
    order by u.n limit 1;
    raise exception using errcode = 'BD012', message = 'badge not earned',
      detail = pg_catalog.format('Only earned badges can be pinned, and %L is not one.', v_id);
  end if;

  delete from badges.showcases s where s.user_id = p_user_id;
  insert into badges.showcases (user_id, badge_id, slot)
  select p_user_id, u.id, u.n from pg_catalog.unnest(v_ids) with ordinality u (id, n);
  return pg_catalog.jsonb_build_object('showcase', badges.showcase_of(p_user_id, true));
end;
$$;
revoke execute on function badges.set_showcase(uuid, jsonb) from public, anon, authenticated;
grant execute on function badges.set_showcase(uuid, jsonb) to service_role;

/**
 * The highest enabled level (by sort_order, then id) whose every requirement the user's metric
 * totals meet; a row of nulls when none is met (or the catalog declares no levels). "Highest"
 * is taken literally: levels need not nest, and a user meeting a later level but not an earlier
 * one is at the later one.
 */
create or replace function badges.reached_level(p_user_id uuid)
returns badges.levels
language plpgsql stable
set search_path = ''
as $$
declare
  v_level badges.levels;
begin
  select l.* into v_level from badges.levels l
  where l.enabled
    and not exists (
      select from badges.level_requirements r
      where r.level_id = l.id
        and coalesce((select t.total from badges.metric_totals t
                      where t.user_id = p_user_id and t.metric = r.metric), 0) < r.required)
  order by l.sort_order desc, l.id desc
  limit 1;
  if not found then
    return null;  -- no level reached: null, as the query's empty result was
  end if;
  return v_level;
end;
$$;
revoke execute on function badges.reached_level(uuid) from public, anon, authenticated;
grant execute on function badges.reached_level(uuid) to service_role;

/**
 * The user's current level and the next one to reach. Returns {current: {id, name,
 * description} or null, next: {id, name, description, steps: [{metric, required, current,
 * remaining}]} or null}: next is the first enabled level after current (by sort_order, then
 * id), null at the top; its steps are badges.level_status's, so the two never disagree.
 */
create or replace function badges.current_level(p_user_id uuid)
returns jsonb
language plpgsql stable
set search_path = ''
set jit = off
as $$
declare
  v_current badges.levels := badges.reached_level(p_user_id);
  v_next badges.levels;
begin
  select l.* into v_next from badges.levels l
  where l.enabled
    and (v_current.id is null or (l.sort_order, l.id) > (v_current.sort_order, v_current.id))
  order by l.sort_order, l.id
  limit 1;
  return pg_catalog.jsonb_build_object(
    'current', case when v_current.id is not null then pg_catalog.jsonb_build_object(
      'id', v_current.id, 'name', v_current.name, 'description', v_current.description) end,
    'next', case when v_next.id is not null then pg_catalog.jsonb_build_object(
      'id', v_next.id, 'name', v_next.name, 'description', v_next.description,
      'steps', badges.level_status(p_user_id, v_next.id) -> 'steps') end);
end;
$$;
revoke execute on function badges.current_level(uuid) from public, anon, authenticated;
grant execute on function badges.current_level(uuid) to service_role;

/**
 * p_user_id's profile as p_viewer sees it (p_viewer null: a service caller). Others see a
 * public profile only (else BD011, exactly as for an id the service never saw); the owner and
 * services see any. Hidden badges are the owner's alone: left out of everyone else's view.
 * Returns {user_id, badge_count, level: {id, name} or null, showcase, badges, more}: badges is
 * one page of earned badges, newest first (earned_at, then badge id, both descending), after
 * (p_before_at, p_before_badge) when given; more says whether a next page exists. The page
 * sorts the user's awards by their primary key's user prefix: a user holds at most the
 * catalog's badges, so no (user_id, earned_at) index is kept for it on the award path.
 */
create or replace function badges.profile(
  p_viewer uuid, p_user_id uuid, p_limit integer, p_before_at timestamptz, p_before_badge text)
returns jsonb
language plpgsql stable
set search_path = ''
set jit = off
as $$
declare
  v_own boolean := coalesce(p_viewer = p_user_id, false);
  v_public boolean;
  v_level badges.levels;
  v_page jsonb;
  v_more boolean;
begin
  select u.profile_public into v_public from badges.users u where u.user_id = p_user_id;
  if not v_own and (v_public is null or (p_viewer is not null and not v_public)) then
    raise exception using errcode = 'BD011', message = 'unknown user',
      detail = pg_catalog.format('No user with a public profile has the id %s.', p_user_id);
  end if;
  v_level := badges.reached_level(p_user_id);

  with page as (
    select d, a.badge_id, a.earned_at
    from badges.awards a
    join badges.definitions d on d.id = a.badge_id
    where a.user_id = p_user_id and (v_own or not d.hidden)
      and (p_before_at is null or (a.earned_at, a.badge_id) < (p_before_at, p_before_badge))
    order by a.earned_at desc, a.badge_id desc
    limit p_limit + 1  -- one more than asked: whether a next page exists
  ), shown as (
    select * from page order by earned_at desc, badge_id desc limit p_limit
  )
  select coalesce(pg_catalog.jsonb_agg(badges.profile_badge(s.d, s.earned_at)
                                       order by s.earned_at desc, s.badge_id desc), '[]'),
         (select count(*) from page) > p_limit
  into v_page, v_more
  from shown s;

  return pg_catalog.jsonb_build_object(
    'user_id', p_user_id,
    'badge_count', coalesce((select s.badge_count from badges.user_stats s
                             where s.user_id = p_user_id), 0),
    'level', case when v_level.id is not null then
      pg_catalog.jsonb_build_object('id', v_level.id, 'name', v_level.name) end,
    'showcase', badges.showcase_of(p_user_id, v_own),
    'badges', v_page,
    'more', v_more);
end;
$$;
revoke execute on function badges.profile(uuid, uuid, integer, timestamptz, text)
  from public, anon, authenticated;
grant execute on function badges.profile(uuid, uuid, integer, timestamptz, text) to service_role;
