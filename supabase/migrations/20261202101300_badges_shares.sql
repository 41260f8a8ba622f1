/**
 * Shares the server verifies: a badge with rule 'shared' is client-driven (the user shares a
 * link) but is awarded only when a different signed-in user opens that link, which the server
 * observes. The user's own client cannot award it (BD003), and opening one's own link, or one
 * opener opening it twice, counts nothing.
 *
 *   share {badge_id}          the sharer's client gets a share id to put in the link
 *   share_opened {share_id}   another user's client reports opening it: the sharer earns it
 *
 * Error code: BD009 unknown share. (The rule 'shared' is one of badges.definitions' rules.)
 */

/** One share per (user, badge): the id is a random 128-bit token, the link's secret. */
create table if not exists badges.shares (
  id text primary key check (id ~ '^[0-9a-f]{32}$'),
  user_id uuid not null,
  badge_id text not null references badges.definitions (id),
  created_at timestamptz not null default now(),
  unique (user_id, badge_id)
);
alter table badges.shares enable row level security;
grant select on badges.shares to authenticated;
grant select, insert, update, delete on badges.shares to service_role;

drop policy if exists "Shares are readable by their owner" on badges.shares;
create policy "Shares are readable by their owner"
  on badges.shares for select
  to authenticated
  using (user_id = (select auth.uid()));

/** Who opened which share: one row per (share, opener). Service-only (the openers' data). */
create table if not exists badges.share_opens (
  share_id text not null references badges.shares (id),
  opener_id uuid not null,
  opened_at timestamptz not null default now(),
  primary key (share_id, opener_id)
);
alter table badges.share_opens enable row level security;
grant select, insert, update, delete on badges.share_opens to service_role;

/**
 * The user's share of a 'shared' badge (the same one on every call). BD001 for an unknown or
 * disabled badge, BD004 for a badge of another rule. Returns {share_id, badge_id}.
 */
create or replace function badges.create_share(p_user_id uuid, p_badge_id text)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_def badges.definitions := badges.definition(p_badge_id);
begin
  if v_def.rule <> 'shared' then
    raise exception using errcode = 'BD004', message = 'badge not earned by sharing',
      detail = pg_catalog.format('%L is not a badge with rule shared.', p_badge_id);
  end if;
  perform badges.lock_user(p_user_id);
  insert into badges.shares (id, user_id, badge_id)
  values (pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''), p_user_id, p_badge_id)
  on conflict (user_id, badge_id) do nothing;
  return (select pg_catalog.jsonb_build_object('share_id', s.id, 'badge_id', s.badge_id)
          from badges.shares s where s.user_id = p_user_id and s.badge_id = p_badge_id);
end;
$$;
revoke execute on function badges.create_share(uuid, text) from public, anon, authenticated;
grant execute on function badges.create_share(uuid, text) to service_role;

/**
 * p_opener_id opened the share p_share_id (BD009 if there is none). The first open by a user
 * other than the sharer counts and awards the sharer the badge (inside its window; outside it
 * the open still counts and nothing is awarded). Returns {counted}: whether this call counted.
 */
create or replace function badges.open_share(p_opener_id uuid, p_share_id text)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_share badges.shares;
  v_counted boolean;
begin
  select * into v_share from badges.shares s where s.id = p_share_id;
  if not found then
    raise exception using errcode = 'BD009', message = 'unknown share',
      detail = 'No share has this id.';
  end if;
  if v_share.user_id = p_opener_id then
    return pg_catalog.jsonb_build_object('counted', false);
  end if;
  insert into badges.share_opens (share_id, opener_id) values (p_share_id, p_opener_id)
  on conflict do nothing;
  v_counted := found;
  -- The definition as it is now (even disabled: then nothing is awarded, and no error).
  if v_counted and badges.awardable(
       (select d from badges.definitions d where d.id = v_share.badge_id)) then
    perform badges.award_badge(v_share.user_id, v_share.badge_id, false);
  end if;
  return pg_catalog.jsonb_build_object('counted', v_counted);
end;
$$;
revoke execute on function badges.open_share(uuid, text) from public, anon, authenticated;
grant execute on function badges.open_share(uuid, text) to service_role;
