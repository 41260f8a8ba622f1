/**
 * Daily activity and streaks. A day is a calendar day in the user's own IANA time zone, stored
 * per user, so a streak does not break at UTC midnight for someone in Tokyo. The actions that
 * record activity and award the streak badges reached are here too.
 */

/** One row per user and active day; the primary key makes recording a day idempotent. */
create table if not exists badges.activity_days (
  user_id uuid not null,
  day date not null,
  primary key (user_id, day)
);
alter table badges.activity_days enable row level security;
grant select on badges.activity_days to authenticated;
grant select, insert, update, delete on badges.activity_days to service_role;

drop policy if exists "Activity days are readable by their owner"
  on badges.activity_days;
create policy "Activity days are readable by their owner"
  on badges.activity_days for select
  to authenticated
  using (user_id = (select auth.uid()));

/**
 * The running streak per user, updated incrementally when a new day is recorded.
 * current_streak counts consecutive days ending at last_active_day; whether it is still alive
 * depends on "today", which badges.live_streak works out in the user's time zone.
 */
create table if not exists badges.streaks (
  user_id uuid primary key,
  timezone text not null default 'UTC',
  -- The zone before the last change and when it changed: for 24 hours after a change, a day
  -- counts in the earlier of the two calendars, so hopping east cannot skip a day ahead.
  previous_timezone text,
  timezone_changed_at timestamptz,
  current_streak integer not null default 0 check (current_streak >= 0),
  longest_streak integer not null default 0 check (longest_streak >= current_streak),
  last_active_day date,
  updated_at timestamptz not null default now()
);
alter table badges.streaks enable row level security;
grant select on badges.streaks to authenticated;
grant select, insert, update, delete on badges.streaks to service_role;

drop policy if exists "Streaks are readable by their owner"
  on badges.streaks;
create policy "Streaks are readable by their owner"
  on badges.streaks for select
  to authenticated
  using (user_id = (select auth.uid()));

/** p_timezone if it is a time zone PostgreSQL knows, else BD004. */
create or replace function badges.checked_timezone(p_timezone text)
returns text
language plpgsql stable
set search_path = ''
as $$
begin
  perform now() at time zone p_timezone;
  return p_timezone;
exception when invalid_parameter_value then
  raise exception using errcode = 'BD004', message = 'invalid timezone',
    detail = pg_catalog.format('%L is not an IANA time zone name.', p_timezone);
end;
$$;
revoke execute on function badges.checked_timezone(text) from public, anon, authenticated;
grant execute on function badges.checked_timezone(text) to service_role;

/**
 * The streak after a new active day: one more when the day follows the last one, unchanged for
 * a day at or before it (only a time zone change can record an earlier day), else a new streak.
 */
create or replace function badges.next_streak(p_current integer, p_last_day date, p_day date)
returns integer
language sql immutable
set search_path = ''
as $$
  select case
    when p_last_day is null then 1
    when p_day = p_last_day + 1 then p_current + 1
    when p_day <= p_last_day then p_current
    else 1
  end
$$;
revoke execute on function badges.next_streak(integer, date, date) from public, anon, authenticated;
grant execute on function badges.next_streak(integer, date, date) to service_role;

/**
 * The calendar day p_at counts for: the date in the requested zone, but never later than the
 * date in the zone stored before it, nor, within 24 hours of a zone change, in the zone before
 * that. A client cannot gain a streak day by sending a zone further east; a real traveller's
 * days still count (in the calendar of where they came from, for a day).
 */
create or replace function badges.activity_day(
  p_at timestamptz, p_timezone text, p_stored text, p_previous text, p_changed_at timestamptz)
returns date
language sql stable
set search_path = ''
as $$
  select least(
    (p_at at time zone p_timezone)::date,
    (p_at at time zone coalesce(p_stored, p_timezone))::date,
    case when p_at < p_changed_at + interval '24 hours'
      then (p_at at time zone p_previous)::date end)
$$;
revoke execute on function badges.activity_day(timestamptz, text, text, text, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.activity_day(timestamptz, text, text, text, timestamptz)
  to service_role;

/**
 * The streak as of p_at: alive while the last active day is today or yesterday in the user's
 * calendar (a streak that ended yesterday can still be continued today), else 0. "Today" is the
 * day activity at p_at would count for (badges.activity_day).
 */
create or replace function badges.live_streak(
  p_streak badges.streaks, p_at timestamptz default now())
returns integer
language sql stable
set search_path = ''
as $$
  select case
    when p_streak.last_active_day >= badges.activity_day(
      p_at, p_streak.timezone, p_streak.timezone, p_streak.previous_timezone,
      p_streak.timezone_changed_at) - 1
    then p_streak.current_streak
    else 0
  end
$$;
revoke execute on function badges.live_streak(badges.streaks, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.live_streak(badges.streaks, timestamptz) to service_role;

/**
 * Mark the day containing p_at (default now) as active for the user, in p_timezone when given
 * (and remember it), else in the stored time zone, else UTC. Idempotent per day.
 * Returns the streak row after the update.
 */
create or replace function badges.touch_activity(
  p_user_id uuid, p_timezone text, p_at timestamptz)
returns badges.streaks
language plpgsql
set search_path = ''
as $$
declare
  v_at timestamptz := coalesce(p_at, now());
  v_old badges.streaks;
  v_tz text;
  v_previous text;
  v_changed_at timestamptz;
  v_day date;
  v_row badges.streaks;
begin
  select * into v_old from badges.streaks s where s.user_id = p_user_id for update;
  v_tz := badges.checked_timezone(coalesce(p_timezone, v_old.timezone, 'UTC'));
  v_previous := v_old.previous_timezone;
  v_changed_at := v_old.timezone_changed_at;
  if v_tz <> v_old.timezone
     and (v_changed_at is null or v_at >= v_changed_at + interval '24 hours') then
    v_previous := v_old.timezone;  -- a change inside the window keeps the older anchor
    v_changed_at := v_at;
  end if;
  v_day := badges.activity_day(v_at, v_tz, v_old.timezone, v_previous, v_changed_at);

  insert into badges.activity_days (user_id, day) values (p_user_id, v_day)
  on conflict do nothing;

  if found then
    insert into badges.streaks as s (user_id, timezone, previous_timezone, timezone_changed_at,
                                     current_streak, longest_streak, last_active_day)
    values (p_user_id, v_tz, v_previous, v_changed_at, 1, 1, v_day)
    on conflict (user_id) do update set
      current_streak = badges.next_streak(s.current_streak, s.last_active_day, v_day),
      longest_streak = greatest(s.longest_streak,
                                badges.next_streak(s.current_streak, s.last_active_day, v_day)),
      last_active_day = greatest(s.last_active_day, v_day),
      timezone = v_tz, previous_timezone = v_previous, timezone_changed_at = v_changed_at,
      updated_at = now()
    returning * into v_row;
  else
    update badges.streaks s
    set timezone = v_tz, previous_timezone = v_previous, timezone_changed_at = v_changed_at,
        updated_at = now()
    where s.user_id = p_user_id
    returning * into v_row;
  end if;
  return v_row;
end;
$$;
revoke execute on function badges.touch_activity(uuid, text, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.touch_activity(uuid, text, timestamptz) to service_role;

/**
 * Mark today (in the user's time zone) active and award the streak and active_days badges
 * reached. p_at backdates the activity for tests and imports (the HTTP function never sends it);
 * the badges it causes are then judged and dated as of p_at.
 */
create or replace function badges.record_activity(
  p_user_id uuid, p_timezone text default null, p_at timestamptz default null)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_streak badges.streaks;
  v_awarded text[];
begin
  perform badges.lock_user(p_user_id);
  v_streak := badges.touch_activity(p_user_id, p_timezone, p_at);
  v_awarded := badges.award_qualifying(p_user_id, array['streak', 'active_days'], p_at);
  return pg_catalog.jsonb_build_object(
    'current_streak', badges.live_streak(v_streak, coalesce(p_at, now())),
    'longest_streak', v_streak.longest_streak,
    'awarded', pg_catalog.to_jsonb(v_awarded));
end;
$$;
revoke execute on function badges.record_activity(uuid, text, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.record_activity(uuid, text, timestamptz) to service_role;

/** Award the streak badges a user has reached. Returns {current_streak, longest_streak, awarded}. */
create or replace function badges.check_streaks(p_user_id uuid)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_awarded text[];
  v_facts record;
begin
  perform badges.lock_user(p_user_id);
  v_awarded := badges.award_qualifying(p_user_id, array['streak']);
  select * into v_facts from badges.user_facts(p_user_id);
  return pg_catalog.jsonb_build_object(
    'current_streak', v_facts.current_streak,
    'longest_streak', v_facts.longest_streak,
    'awarded', pg_catalog.to_jsonb(v_awarded));
end;
$$;
revoke execute on function badges.check_streaks(uuid) from public, anon, authenticated;
grant execute on function badges.check_streaks(uuid) to service_role;

/**
 * The daily batch for streak badges (v1): award them, and the composites they complete, to every
 * user who reached them. Returns {users_checked, awarded_count}.
 */
create or replace function badges.check_streaks_all()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_awarded bigint;
begin
  select count(*) into v_awarded from badges.award_rules(null, array['streak']);
  select v_awarded + count(*) into v_awarded from badges.award_composites(null);
  return pg_catalog.jsonb_build_object(
    'users_checked', (select count(*) from badges.streaks), 'awarded_count', v_awarded);
end;
$$;
revoke execute on function badges.check_streaks_all() from public, anon, authenticated;
grant execute on function badges.check_streaks_all() to service_role;
