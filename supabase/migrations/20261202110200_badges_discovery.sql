/**
 * Discovery (issue 12): one badge as a user sees it (badges.get_badge) and the public holders
 * of a badge, newest first (badges.badge_holders). Both are reads for any signed-in user or a
 * service, and keep a hidden badge secret from whoever has not earned it: the answer for a
 * hidden badge is the same 404 as for an id no badge has. badge_holders pages by the awards
 * file's awards_holders_idx (badge_id, earned_at desc, user_id desc).
 */

/**
 * One badge with its rarity, and p_user_id's state of it: {badge: {…wire, rarity}, me:
 * {earned, earned_at, progress} or null when p_user_id is null}. Visible as in list_badges:
 * enabled and not hidden, or earned by p_user_id; any other id is BD001, whether or not a
 * badge has it. Progress is badge_progress's, as list_badges gives it.
 */
create or replace function badges.get_badge(p_user_id uuid, p_badge_id text)
returns jsonb
language plpgsql stable
set search_path = ''
set jit = off
as $$
declare
  v_answer jsonb;
begin
  select pg_catalog.jsonb_build_object(
    'badge', (p.def).wire || pg_catalog.jsonb_build_object('rarity', r.rarity),
    'me', case when p_user_id is not null then pg_catalog.jsonb_build_object(
      'earned', p.earned_at is not null,
      'earned_at', p.earned_at,
      'progress', case when p.target is not null then pg_catalog.jsonb_build_object(
        'current', p.current, 'target', p.target) end)
      || case when (p.def).rule = 'rank' and p.earned_at is not null then
           pg_catalog.jsonb_build_object('placings', badges.placings(p_user_id, p.def))
         else '{}' end end)
  into v_answer
  from badges.badge_progress(p_user_id) p
  join badges.rarity() r on r.badge_id = (p.def).id
  where (p.def).id = p_badge_id
    and (((p.def).enabled and not (p.def).hidden) or p.earned_at is not null);
  if v_answer is null then
    raise exception using errcode = 'BD001', message = 'unknown badge',
      detail = pg_catalog.format('No visible badge has the id %L.', p_badge_id);
  end if;
  return v_answer;
end;
$$;
revoke execute on function badges.get_badge(uuid, text) from public, anon, authenticated;
grant execute on function badges.get_badge(uuid, text) to service_role;

/**
 * The holders of an enabled badge whose profile is public (users.profile_public; a holder the
 * service has no users row for counts as public), newest first: earned_at desc, then user_id
 * desc. The page starts after the holder (p_after_at, p_after_user) of the previous page's last
 * entry, or at the newest. A hidden badge is visible only to a p_user_id who holds it; a
 * disabled, unknown or invisible one is BD001. Returns {entries: [{user_id, earned_at}],
 * next_after}: next_after is {earned_at, user_id} of the page's last entry when more follow,
 * else null.
 */
create or replace function badges.badge_holders(
  p_user_id uuid, p_badge_id text, p_limit integer,
  p_after_at timestamptz default null, p_after_user uuid default null)
returns jsonb
language plpgsql stable
set search_path = ''
set jit = off
-- One plan, cached: the page is the holders index's range scan from the cursor whatever the
-- arguments; the planner's own choice (a custom plan per call) spent half of a call planning.
set plan_cache_mode = force_generic_plan
as $$
declare
  -- Without a cursor, a key after every holder: the page keeps one form whose index condition
  -- is the key (an "is null or" would turn it into a filter over the badge's whole range).
  v_after_at timestamptz := coalesce(p_after_at, 'infinity');
  v_after_user uuid := coalesce(p_after_user, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
  v_answer jsonb;
begin
  if not exists (
    select from badges.definitions d
    where d.id = p_badge_id and d.enabled
      and (not d.hidden or exists (select from badges.awards a
                                   where a.user_id = p_user_id and a.badge_id = d.id))) then
    raise exception using errcode = 'BD001', message = 'unknown badge',
      detail = pg_catalog.format('No visible badge has the id %L.', p_badge_id);
  end if;

  with page as (
    select a.user_id, a.earned_at
    from badges.awards a
    where a.badge_id = p_badge_id
      and (a.earned_at, a.user_id) < (v_after_at, v_after_user)
      -- A look-up by key per holder read (a subquery, not a join): the plan stays the index
      -- range scan whatever the statistics say.
      and coalesce((select u.profile_public from badges.users u where u.user_id = a.user_id),
                   true)
    order by a.earned_at desc, a.user_id desc
    limit p_limit + 1  -- one more than asked: whether a next page exists
  ), shown as (
    select * from page order by earned_at desc, user_id desc limit p_limit
  )
  select pg_catalog.jsonb_build_object(
    'entries', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'user_id', s.user_id, 'earned_at', s.earned_at)
      order by s.earned_at desc, s.user_id desc), '[]'::jsonb),
    'next_after', case when (select count(*) from page) > p_limit then (
      select pg_catalog.jsonb_build_object('earned_at', l.earned_at, 'user_id', l.user_id)
      from shown l order by l.earned_at, l.user_id limit 1) end)
  into v_answer
  from shown s;
  return v_answer;
end;
$$;
revoke execute on function badges.badge_holders(uuid, text, integer, timestamptz, uuid)
  from public, anon, authenticated;
grant execute on function badges.badge_holders(uuid, text, integer, timestamptz, uuid)
  to service_role;
