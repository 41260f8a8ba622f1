/**
 * Per-user token buckets for client-driven writes, kept in the database so that the limit holds
 * across every instance of the function.
 */
create table if not exists badges.rate_limits (
  user_id uuid not null,
  bucket text not null,
  tokens double precision not null,
  updated_at timestamptz not null default now(),
  primary key (user_id, bucket)
);
alter table badges.rate_limits enable row level security;
grant select, insert, update, delete on badges.rate_limits to service_role;

/**
 * Take one token from the user's bucket, which holds up to p_burst tokens and refills at
 * p_per_minute tokens a minute. Returns 0 when the token was taken, else the seconds until one
 * will be available (nothing is taken then).
 */
create or replace function badges.take_rate_token(
  p_user_id uuid, p_bucket text, p_burst integer, p_per_minute integer)
returns double precision
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_tokens double precision;
begin
  if p_burst < 1 or p_per_minute < 1 then
    raise exception using errcode = 'BD004', message = 'rate limit must be positive';
  end if;

  insert into badges.rate_limits as r (user_id, bucket, tokens, updated_at)
  values (p_user_id, p_bucket, p_burst, now())
  on conflict (user_id, bucket) do update
    -- now() is when the caller's transaction began, which can be before the last update of
    -- a row it waited for: never count negative time, never move updated_at backwards.
    set tokens = least(p_burst::double precision,
                       r.tokens + greatest(0, extract(epoch from now() - r.updated_at))
                                  * p_per_minute / 60.0),
        updated_at = greatest(r.updated_at, now())
  returning tokens into v_tokens;

  if v_tokens >= 1 then
    update badges.rate_limits set tokens = v_tokens - 1
    where user_id = p_user_id and bucket = p_bucket;
    return 0;
  end if;
  return (1 - v_tokens) * 60.0 / p_per_minute;
end;
$$;
revoke execute on function badges.take_rate_token(uuid, text, integer, integer)
  from public, anon, authenticated;
grant execute on function badges.take_rate_token(uuid, text, integer, integer) to service_role;
