/**
 * What users read of notifications: their in-app inbox (paged, newest first, marked read), and
 * the activity feed of recent awards across users (awards_feed_idx), which leaves out hidden
 * badges and the users who opted out of it (users.feed_opt_out, set by badges.preferences).
 */

/**
 * The in-app inbox: one row per announced award (kind 'badge.earned'), written in the award's
 * transaction (badges.after_awards_insert; none for a quiet badge or a silent backfill).
 */
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
create index if not exists notifications_user_idx on badges.notifications (user_id, id desc);
create index if not exists notifications_unread_idx
  on badges.notifications (user_id) where read_at is null;

drop policy if exists "Notifications are readable by their owner"
  on badges.notifications;
create policy "Notifications are readable by their owner"
  on badges.notifications for select
  to authenticated
  using (user_id = (select auth.uid()));

/**
 * A page of the user's inbox, newest first: up to p_limit notifications older than the one
 * whose id is p_before (all when null), only unread ones with p_unread_only.
 * Returns {notifications: [{id, type, badge_id, message, created_at, read}], unread_count,
 * next_before}: next_before is the p_before of the next page, null on the last one.
 */
create or replace function badges.inbox(
  p_user_id uuid, p_unread_only boolean, p_limit integer, p_before bigint)
returns jsonb
language plpgsql stable
set search_path = ''
set jit = off
as $$
begin
  return (
    with page as (
      select n.* from badges.notifications n
      where n.user_id = p_user_id
        and (p_before is null or n.id < p_before)
        and (not p_unread_only or n.read_at is null)
      order by n.id desc
      limit p_limit + 1  -- one more than asked: whether a next page exists
    ), shown as (
      select * from page order by id desc limit p_limit
    )
    select pg_catalog.jsonb_build_object(
      'notifications', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'id', p.id, 'type', p.kind, 'badge_id', p.badge_id, 'message', p.message,
        'created_at', p.created_at, 'read', p.read_at is not null) order by p.id desc), '[]'),
      'unread_count', (select count(*) from badges.notifications u
                       where u.user_id = p_user_id and u.read_at is null),
      'next_before', case when (select count(*) from page) > p_limit then min(p.id) end)
    from shown p);
end;
$$;
revoke execute on function badges.inbox(uuid, boolean, integer, bigint)
  from public, anon, authenticated;
grant execute on function badges.inbox(uuid, boolean, integer, bigint) to service_role;

/**
 * Mark the user's notifications read: those in p_ids, a JSON array of ids (ids of other users'
 * rows are ignored), or every one with p_all. Returns {marked, unread_count}.
 */
create or replace function badges.mark_notifications_read(
  p_user_id uuid, p_ids jsonb, p_all boolean)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_marked integer;
begin
  update badges.notifications n set read_at = now()
  where n.user_id = p_user_id and n.read_at is null
    and (p_all or n.id in (select i::bigint from pg_catalog.jsonb_array_elements_text(p_ids) i));
  get diagnostics v_marked = row_count;
  return pg_catalog.jsonb_build_object(
    'marked', v_marked,
    'unread_count', (select count(*) from badges.notifications u
                     where u.user_id = p_user_id and u.read_at is null));
end;
$$;
revoke execute on function badges.mark_notifications_read(uuid, jsonb, boolean)
  from public, anon, authenticated;
grant execute on function badges.mark_notifications_read(uuid, jsonb, boolean)
  to service_role;

/**
 * Recent awards across users, newest first, after the award (p_before_at, p_before_user,
 * p_before_badge) of the previous page's last entry: hidden badges and opted-out users left
 * out. Returns {entries: [{user_id, badge: {id, name, icon, tier, category}, earned_at, text}],
 * more}: more says whether a next page exists.
 */
create or replace function badges.feed(
  p_limit integer, p_before_at timestamptz, p_before_user uuid, p_before_badge text)
returns jsonb
language plpgsql stable
set search_path = ''
set jit = off
-- One plan, cached: the page is the feed index's range scan from the cursor whatever the
-- arguments, and planning it per call (as the planner's choice of a custom plan would) costs
-- more than reading it.
set plan_cache_mode = force_generic_plan
as $$
declare
  -- Without a cursor, a key after every award: the page keeps one form whose index condition
  -- is the key (an "is null or" would make it a filter, and a deep page would read every
  -- award before it).
  v_before_at timestamptz := coalesce(p_before_at, 'infinity');
  v_before_user uuid := coalesce(p_before_user, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
  v_before_badge text := coalesce(p_before_badge, '');
  v_answer jsonb;
begin
  with page as (
    select a.user_id, a.badge_id, a.earned_at, d.name, d.icon, d.tier, d.category
    from badges.awards a
    join badges.definitions d on d.id = a.badge_id and not d.hidden
    where (a.earned_at, a.user_id, a.badge_id) < (v_before_at, v_before_user, v_before_badge)
      -- A look-up by key per award read (a subquery, not an anti-join): statistics that say
      -- few users opt out made the planner read every user instead, once per page.
      and not coalesce((select u.feed_opt_out from badges.users u where u.user_id = a.user_id),
                       false)
    order by a.earned_at desc, a.user_id desc, a.badge_id desc
    limit p_limit + 1  -- one more than asked: whether a next page exists
  ), shown as (
    select * from page order by earned_at desc, user_id desc, badge_id desc limit p_limit
  )
  select pg_catalog.jsonb_build_object(
    'entries', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'user_id', p.user_id,
      'badge', pg_catalog.jsonb_build_object(
        'id', p.badge_id, 'name', p.name, 'icon', p.icon, 'tier', p.tier, 'category', p.category),
      'earned_at', p.earned_at,
      'text', 'earned ' || p.name)
      order by p.earned_at desc, p.user_id desc, p.badge_id desc), '[]'),
    'more', (select count(*) from page) > p_limit)
  into v_answer
  from shown p;
  return v_answer;
end;
$$;
revoke execute on function badges.feed(integer, timestamptz, uuid, text)
  from public, anon, authenticated;
grant execute on function badges.feed(integer, timestamptz, uuid, text) to service_role;

/**
 * Read, and with non-null arguments set, the user's preferences: feed_opt_out, and
 * profile_public (users.profile_public, the public profile's opt-out: see the profiles file).
 * Returns {feed_opt_out, profile_public}.
 */
create or replace function badges.preferences(
  p_user_id uuid, p_feed_opt_out boolean, p_profile_public boolean)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
begin
  if p_feed_opt_out is not null or p_profile_public is not null then
    perform badges.lock_user(p_user_id);
    update badges.users u
    set feed_opt_out = coalesce(p_feed_opt_out, u.feed_opt_out),
        profile_public = coalesce(p_profile_public, u.profile_public)
    where u.user_id = p_user_id;
  end if;
  -- A user never written for has the defaults (and no row: reading registers nobody).
  return (select pg_catalog.jsonb_build_object(
                   'feed_opt_out', coalesce(u.feed_opt_out, false),
                   'profile_public', coalesce(u.profile_public, true))
          from (select) one left join badges.users u on u.user_id = p_user_id);
end;
$$;
revoke execute on function badges.preferences(uuid, boolean, boolean)
  from public, anon, authenticated;
grant execute on function badges.preferences(uuid, boolean, boolean) to service_role;
