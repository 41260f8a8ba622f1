/**
 * Notifications that never hold an award back: a transactional outbox written in the award's
 * transaction (badges.after_awards_insert, with the definition's stored event_badge and
 * earned_text) and drained by the delivery job (webhook, Expo push), and the push tokens the
 * Expo channel sends to.
 *
 * Delivery is at least once: a row is claimed with FOR UPDATE SKIP LOCKED and leased (its
 * next_attempt_at moves past the lease), so concurrent workers never hold the same row; a worker
 * that dies mid-send leaves the row due again when the lease runs out. The dedupe key travels
 * with every attempt (Idempotency-Key) so receivers can drop a repeat.
 */

/**
 * The outbox: one row per announcement, dedupe_key unique per (user, badge), so a badge earned
 * again after an automatic revocation is not announced twice. payload is the event as sent; kind
 * is 'badge.earned', one spelling everywhere (inbox kind, outbox kind and webhook type).
 * status: pending (due at next_attempt_at), delivered, or dead (attempts exhausted: kept, visible,
 * re-queueable). delivered_channels: channels that took it, never sent to again on a retry.
 */
create table if not exists badges.outbox (
  id bigint generated always as identity primary key,
  dedupe_key text not null unique,
  kind text not null,
  user_id uuid not null,
  badge_id text references badges.definitions (id),
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  claim_token uuid,
  delivered_channels text[] not null default '{}',
  last_attempt_at timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);
alter table badges.outbox enable row level security;
grant select, insert, update, delete on badges.outbox to service_role;
create index if not exists outbox_due_idx
  on badges.outbox (next_attempt_at, id) where status = 'pending';
create index if not exists outbox_fresh_idx
  on badges.outbox (user_id) where status = 'pending' and attempts = 0;
create index if not exists outbox_dead_idx on badges.outbox (id) where status = 'dead';

/** Expo push tokens, one row per device; a token moves to whoever registered it last. */
create table if not exists badges.push_tokens (
  token text primary key check (token ~ '^Expo(nent)?PushToken\[[A-Za-z0-9_-]{1,200}\]$'),
  user_id uuid not null,
  platform text check (platform in ('ios', 'android', 'web')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table badges.push_tokens enable row level security;
grant select on badges.push_tokens to authenticated;
grant select, insert, update, delete on badges.push_tokens to service_role;
create index if not exists push_tokens_user_idx on badges.push_tokens (user_id, updated_at desc);

drop policy if exists "Push tokens are readable by their owner"
  on badges.push_tokens;
create policy "Push tokens are readable by their owner"
  on badges.push_tokens for select
  to authenticated
  using (user_id = (select auth.uid()));

/**
 * Claim up to p_limit due outbox rows (all users, or only p_user_id's never-tried rows: the
 * immediate attempt after a request) for one worker: FOR UPDATE SKIP LOCKED, so concurrent
 * workers take disjoint rows, and leased for p_lease_seconds. Rows whose lease ran out on their
 * last attempt are dead-lettered first. Returns {token, dead, notifications: [{id, dedupe_key,
 * attempt, payload, delivered_channels, push_tokens}]}; the token finishes the claim.
 */
create or replace function badges.claim_notifications(
  p_limit integer, p_lease_seconds integer, p_max_attempts integer, p_user_id uuid default null)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_token uuid := pg_catalog.gen_random_uuid();
  v_dead integer;
  v_result jsonb;
begin
  update badges.outbox o
  set status = 'dead', finished_at = now(), claim_token = null,
      last_error = 'the worker of the last attempt never reported back'
  where o.id in (select x.id from badges.outbox x
                 where x.status = 'pending' and x.next_attempt_at <= now()
                   and x.attempts >= p_max_attempts
                 for update skip locked);
  get diagnostics v_dead = row_count;

  with due as (
    select o.id from badges.outbox o
    where o.status = 'pending' and o.next_attempt_at <= now()
      and o.attempts < p_max_attempts
      and (p_user_id is null or (o.user_id = p_user_id and o.attempts = 0))
    order by o.next_attempt_at, o.id
    limit p_limit
    for update skip locked
  ), claimed as (
    update badges.outbox o
    set attempts = o.attempts + 1, claim_token = v_token,
        next_attempt_at = now() + pg_catalog.make_interval(secs => p_lease_seconds)
    from due where o.id = due.id
    returning o.id, o.user_id, o.dedupe_key, o.attempts, o.payload, o.delivered_channels
  )
  select pg_catalog.jsonb_build_object(
    'token', v_token, 'dead', v_dead,
    'notifications', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'id', c.id, 'dedupe_key', c.dedupe_key, 'attempt', c.attempts, 'payload', c.payload,
      'delivered_channels', c.delivered_channels,
      'push_tokens', (select coalesce(pg_catalog.jsonb_agg(t.token order by t.updated_at desc),
                                      '[]')
                      from badges.push_tokens t where t.user_id = c.user_id))
      order by c.id), '[]'))
  into v_result from claimed c;
  return v_result;
end;
$$;
revoke execute on function badges.claim_notifications(integer, integer, integer, uuid)
  from public, anon, authenticated;
grant execute on function badges.claim_notifications(integer, integer, integer, uuid)
  to service_role;

/**
 * Record what a worker's sends did, for the rows it still holds (its token; a late report on a
 * row whose lease ran out and was claimed again changes nothing). p_results: [{id, sent:
 * [channels that took it], error: null | text, drop_tokens: [push tokens Expo no longer knows]}].
 * No error: delivered. An error: retried after p_backoff_seconds * 2^(attempt-1), at most
 * p_max_backoff_seconds, with equal jitter (half fixed, half random: each retry waits longer than
 * the one before, until the cap), or dead once the attempts reach p_max_attempts.
 * Returns {delivered, failed, dead}.
 */
create or replace function badges.finish_notifications(
  p_token uuid, p_results jsonb, p_max_attempts integer,
  p_backoff_seconds double precision, p_max_backoff_seconds double precision)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_counts jsonb;
begin
  with results as (
    select * from pg_catalog.jsonb_to_recordset(p_results)
      as r(id bigint, sent text[], error text, drop_tokens text[])
  ), finished as (
    update badges.outbox o set
      delivered_channels = array(select distinct c from pg_catalog.unnest(
        o.delivered_channels || coalesce(r.sent, '{}')) c order by c),
      status = case when r.error is null then 'delivered'
                    when o.attempts >= p_max_attempts then 'dead' else 'pending' end,
      next_attempt_at = case when r.error is null or o.attempts >= p_max_attempts then now()
        else now() + pg_catalog.make_interval(secs => badges.backoff_seconds(
          o.attempts, p_backoff_seconds, p_max_backoff_seconds)) end,
      finished_at = case when r.error is null or o.attempts >= p_max_attempts then now() end,
      last_error = pg_catalog.left(r.error, 1000),
      last_attempt_at = now(),
      claim_token = null
    from results r
    where o.id = r.id and o.claim_token = p_token and o.status = 'pending'
    returning o.status, o.user_id, r.drop_tokens
  ), dropped as (
    delete from badges.push_tokens t using finished f
    where t.user_id = f.user_id and t.token = any (f.drop_tokens)
  )
  select pg_catalog.jsonb_build_object(
    'delivered', count(*) filter (where status = 'delivered'),
    'failed', count(*) filter (where status = 'pending'),
    'dead', count(*) filter (where status = 'dead'))
  into v_counts from finished;
  return v_counts;
end;
$$;
revoke execute on function badges.finish_notifications(
  uuid, jsonb, integer, double precision, double precision) from public, anon, authenticated;
grant execute on function badges.finish_notifications(
  uuid, jsonb, integer, double precision, double precision) to service_role;

/** Seconds before retry n: base * 2^(n-1) capped, half of it fixed and half random. */
create or replace function badges.backoff_seconds(
  p_attempt integer, p_base double precision, p_cap double precision)
returns double precision
language sql volatile
set search_path = ''
as $$
  select d / 2 + pg_catalog.random() * d / 2
  from (select least(p_cap, p_base * 2.0 ^ least(p_attempt - 1, 60)) as d) x
$$;
revoke execute on function badges.backoff_seconds(integer, double precision, double precision)
  from public, anon, authenticated;
grant execute on function badges.backoff_seconds(integer, double precision, double precision)
  to service_role;

/**
 * The outbox as operators see it, newest first: p_status 'dead' lists the dead letters.
 * Returns {notifications: [{id, dedupe_key, user_id, badge_id, status, attempts, last_error,
 * created_at, last_attempt_at, next_attempt_at}], next_before}.
 */
create or replace function badges.outbox_rows(p_status text, p_limit integer, p_before bigint)
returns jsonb
language sql stable
set search_path = ''
set jit = off
as $$
  with page as (
    select o.* from badges.outbox o
    where o.status = p_status and (p_before is null or o.id < p_before)
    order by o.id desc limit p_limit + 1  -- one more than asked: whether a next page exists
  ), shown as (
    select * from page order by id desc limit p_limit
  )
  select pg_catalog.jsonb_build_object(
    'notifications', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'id', p.id, 'dedupe_key', p.dedupe_key, 'user_id', p.user_id, 'badge_id', p.badge_id,
      'status', p.status, 'attempts', p.attempts, 'last_error', p.last_error,
      'delivered_channels', p.delivered_channels, 'created_at', p.created_at,
      'last_attempt_at', p.last_attempt_at, 'next_attempt_at', p.next_attempt_at)
      order by p.id desc), '[]'),
    'next_before', case when (select count(*) from page) > p_limit then min(p.id) end)
  from shown p
$$;
revoke execute on function badges.outbox_rows(text, integer, bigint)
  from public, anon, authenticated;
grant execute on function badges.outbox_rows(text, integer, bigint) to service_role;

/** Dead letters back to pending, due now, with fresh attempts (p_ids: a JSON array of ids, or
 * null for all). */
create or replace function badges.requeue_notifications(p_ids jsonb)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_rows integer;
begin
  update badges.outbox o
  set status = 'pending', attempts = 0, next_attempt_at = now(), finished_at = null
  where o.status = 'dead'
    and (p_ids is null
         or o.id in (select i::bigint from pg_catalog.jsonb_array_elements_text(p_ids) i));
  get diagnostics v_rows = row_count;
  return pg_catalog.jsonb_build_object('requeued', v_rows);
end;
$$;
revoke execute on function badges.requeue_notifications(jsonb)
  from public, anon, authenticated;
grant execute on function badges.requeue_notifications(jsonb) to service_role;

/**
 * Register an Expo push token for the user; a user keeps their 10 most recent tokens. A token
 * another user holds is refused (BD010: whoever learns a token must not take over its device's
 * notifications) unless p_take_over, which the function passes for service callers only (a
 * device that changed hands, moved by the app's server). Returns {registered, token_count}.
 */
create or replace function badges.register_push_token(
  p_user_id uuid, p_token text, p_platform text, p_take_over boolean default false)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
begin
  insert into badges.push_tokens as t (token, user_id, platform)
  values (p_token, p_user_id, p_platform)
  on conflict (token) do update
    set user_id = excluded.user_id, platform = excluded.platform, updated_at = now()
    where t.user_id = excluded.user_id or p_take_over;
  if not found then
    raise exception using errcode = 'BD010', message = 'push token taken',
      detail = 'This push token is registered to another user.',
      hint = 'The other user''s app unregisters it at sign-out; a service caller may move it.';
  end if;
  delete from badges.push_tokens t
  where t.user_id = p_user_id
    and t.token not in (select k.token from badges.push_tokens k where k.user_id = p_user_id
                        order by k.updated_at desc, k.token limit 10);
  return pg_catalog.jsonb_build_object(
    'registered', true,
    'token_count', (select count(*) from badges.push_tokens t where t.user_id = p_user_id));
end;
$$;
revoke execute on function badges.register_push_token(uuid, text, text, boolean)
  from public, anon, authenticated;
grant execute on function badges.register_push_token(uuid, text, text, boolean) to service_role;

/** Forget one of the user's push tokens (sign-out). Returns {removed}. */
create or replace function badges.unregister_push_token(p_user_id uuid, p_token text)
returns jsonb
language sql
set search_path = ''
set jit = off
as $$
  with gone as (
    delete from badges.push_tokens t where t.user_id = p_user_id and t.token = p_token
    returning 1
  )
  select pg_catalog.jsonb_build_object('removed', exists (select from gone))
$$;
revoke execute on function badges.unregister_push_token(uuid, text)
  from public, anon, authenticated;
grant execute on function badges.unregister_push_token(uuid, text) to service_role;
