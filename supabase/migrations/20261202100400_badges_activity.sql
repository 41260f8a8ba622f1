/**
 * Daily activity and streaks. A day is a calendar day in the user's own IANA time zone, stored
 * per user, so a streak does not break at UTC midnight for someone in Tokyo. The actions that
 * record activity and award the streak badges reached are here too.
 *
 * Streak freezes: a user holds freezes_left tokens, granted by the catalog's [streak_freezes]
 * policy (badges.streak_freeze_policy: one each time the current streak reaches a multiple of
 * every_days, while fewer than max_held are held) or by a service caller (grant_freezes). When
 * whole days were missed since the streak's last day, the next streak call of the user
 * (record_activity, record_score, check_streaks) or the daily batch (check_streaks_all) spends
 * one freeze per missed day, all or nothing: with too few held, nothing is spent and the streak
 * ends as it would have. A frozen day (badges.frozen_days) bridges the gap but adds nothing to
 * the streak's length. Days are the user's calendar days as for activity (badges.activity_day),
 * so a time zone change gains no frozen day either.
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
  -- The first day of the current streak, and the last day a freeze covered in it (null: none);
  -- the streak continues from greatest(last_active_day, frozen_through).
  streak_start date,
  frozen_through date,
  freezes_left integer not null default 0 check (freezes_left >= 0),
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

/**
 * The days a freeze covered, one row per user and day: the primary key makes spending a freeze on
 * a day happen once, whoever (the batch, an activity) gets there first.
 */
create table if not exists badges.frozen_days (
  user_id uuid not null,
  day date not null,
  frozen_at timestamptz not null default now(),
  primary key (user_id, day)
);
alter table badges.frozen_days enable row level security;
grant select on badges.frozen_days to authenticated;
grant select, insert, update, delete on badges.frozen_days to service_role;

drop policy if exists "Frozen days are readable by their owner"
  on badges.frozen_days;
create policy "Frozen days are readable by their owner"
  on badges.frozen_days for select
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
language plpgsql immutable
set search_path = ''
as $$
begin
  return case
    when p_last_day is null then 1
    when p_day = p_last_day + 1 then p_current + 1
    when p_day <= p_last_day then p_current
    else 1
  end;
end;
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
language plpgsql stable
set search_path = ''
as $$
begin
  return least(
    (p_at at time zone p_timezone)::date,
    (p_at at time zone coalesce(p_stored, p_timezone))::date,
    case when p_at < p_changed_at + interval '24 hours'
      then (p_at at time zone p_previous)::date end);
end;
$$;
revoke execute on function badges.activity_day(timestamptz, text, text, text, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.activity_day(timestamptz, text, text, text, timestamptz)
  to service_role;

/**
 * The streak as of p_at: alive while the last active (or frozen) day is today or yesterday in the
 * user's calendar (a streak that ended yesterday can still be continued today), else 0. "Today"
 * is the day activity at p_at would count for (badges.activity_day).
 */
create or replace function badges.live_streak(
  p_streak badges.streaks, p_at timestamptz default now())
returns integer
language plpgsql stable
set search_path = ''
as $$
begin
  return case
    when greatest(p_streak.last_active_day, p_streak.frozen_through) >= badges.activity_day(
      p_at, p_streak.timezone, p_streak.timezone, p_streak.previous_timezone,
      p_streak.timezone_changed_at) - 1
    then p_streak.current_streak
    else 0
  end;
end;
$$;
revoke execute on function badges.live_streak(badges.streaks, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.live_streak(badges.streaks, timestamptz) to service_role;

/**
 * Spend the user's freezes on the days missed before p_today (a day of the user's calendar): when
 * the current streak's last day is before yesterday and the user holds a freeze for each missed
 * day, each is recorded in badges.frozen_days and the streak continues; with too few, nothing is
 * spent. The caller holds the user's lock (badges.lock_user). Returns the streak row after it.
 */
create or replace function badges.freeze_missed_days(p_user_id uuid, p_today date)
returns badges.streaks
language plpgsql
set search_path = ''
as $$
declare
  v_row badges.streaks;
  v_last date;
  v_spent integer;
begin
  select * into v_row from badges.streaks s where s.user_id = p_user_id for update;
  v_last := greatest(v_row.last_active_day, v_row.frozen_through);
  if v_row.current_streak > 0 and v_last < p_today - 1
     and p_today - 1 - v_last <= v_row.freezes_left then
    insert into badges.frozen_days (user_id, day)
    select p_user_id, d::date
    from pg_catalog.generate_series(v_last + 1, p_today - 1, interval '1 day') d
    on conflict do nothing;
    get diagnostics v_spent = row_count;
    update badges.streaks s
    set freezes_left = s.freezes_left - v_spent, frozen_through = p_today - 1,
        updated_at = now()
    where s.user_id = p_user_id
    returning * into v_row;
  end if;
  return v_row;
end;
$$;
revoke execute on function badges.freeze_missed_days(uuid, date) from public, anon, authenticated;
grant execute on function badges.freeze_missed_days(uuid, date) to service_role;

/** "Today" in the user's calendar at p_at, as live_streak and the batch see it. */
create or replace function badges.streak_today(p_streak badges.streaks, p_at timestamptz)
returns date
language plpgsql stable
set search_path = ''
as $$
begin
  return badges.activity_day(p_at, p_streak.timezone, p_streak.timezone,
                             p_streak.previous_timezone, p_streak.timezone_changed_at);
end;
$$;
revoke execute on function badges.streak_today(badges.streaks, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.streak_today(badges.streaks, timestamptz) to service_role;

/**
 * A streak answer as of p_at: {current_streak, longest_streak, freezes_left, frozen_days}, where
 * frozen_days lists (ascending) the days freezes covered in the current streak, if it is alive.
 */
create or replace function badges.streak_json(
  p_user_id uuid, p_streak badges.streaks, p_at timestamptz)
returns jsonb
language plpgsql stable
set search_path = ''
as $$
begin
  return pg_catalog.jsonb_build_object(
    'current_streak', coalesce(badges.live_streak(p_streak, p_at), 0),
    'longest_streak', coalesce(p_streak.longest_streak, 0),
    'freezes_left', coalesce(p_streak.freezes_left, 0),
    'frozen_days', coalesce((
      select pg_catalog.jsonb_agg(f.day order by f.day) from badges.frozen_days f
      where f.user_id = p_user_id and f.day >= p_streak.streak_start
        and badges.live_streak(p_streak, p_at) > 0), '[]'::jsonb));
end;
$$;
revoke execute on function badges.streak_json(uuid, badges.streaks, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.streak_json(uuid, badges.streaks, timestamptz) to service_role;

/**
 * Mark the day containing p_at (default now) as active for the user, in p_timezone when given
 * (and remember it), else in the stored time zone, else UTC. Idempotent per day. A new day first
 * spends freezes on the days missed before it (badges.freeze_missed_days), then grants one when
 * the streak reaches a multiple of the policy's every_days. The caller holds the user's lock.
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
  v_last date;
  v_current integer;
  v_restart boolean;
  v_grant integer;
  v_row badges.streaks;
begin
  select * into v_old from badges.streaks s where s.user_id = p_user_id for update;
  if v_old.last_active_day is null then
    v_old.timezone := null;  -- a row only a freeze grant made has no zone of its own yet
  end if;
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
    if v_old.user_id is not null then
      v_old := badges.freeze_missed_days(p_user_id, v_day);  -- missed days first, if held
    end if;
    v_last := greatest(v_old.last_active_day, v_old.frozen_through);
    v_restart := v_last is null or v_day > v_last + 1;
    v_current := badges.next_streak(coalesce(v_old.current_streak, 0), v_last, v_day);
    v_grant := 0;
    if v_last is null or v_day > v_last then  -- the streak grew (or began): a freeze is due?
      select case when v_current % p.every_days = 0
                   and coalesce(v_old.freezes_left, 0) < p.max_held then 1 else 0 end
      into v_grant
      from badges.streak_freeze_policy p;
      v_grant := coalesce(v_grant, 0);
    end if;
    insert into badges.streaks as s (user_id, timezone, previous_timezone, timezone_changed_at,
                                     current_streak, longest_streak, last_active_day,
                                     streak_start, freezes_left)
    values (p_user_id, v_tz, v_previous, v_changed_at, v_current, v_current, v_day, v_day,
            v_grant)
    on conflict (user_id) do update set
      current_streak = v_current,
      longest_streak = greatest(s.longest_streak, v_current),
      last_active_day = greatest(s.last_active_day, v_day),
      streak_start = case when v_restart then v_day else s.streak_start end,
      frozen_through = case when v_restart then null else s.frozen_through end,
      freezes_left = s.freezes_left + v_grant,
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
  return badges.streak_json(p_user_id, v_streak, coalesce(p_at, now()))
    || pg_catalog.jsonb_build_object('awarded', pg_catalog.to_jsonb(v_awarded));
end;
$$;
revoke execute on function badges.record_activity(uuid, text, timestamptz)
  from public, anon, authenticated;
grant execute on function badges.record_activity(uuid, text, timestamptz) to service_role;

/**
 * Spend freezes on the days the user missed (as an activity would), award the streak badges
 * reached. Returns {current_streak, longest_streak, freezes_left, frozen_days, awarded}.
 */
create or replace function badges.check_streaks(p_user_id uuid)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_awarded text[];
  v_streak badges.streaks;
begin
  perform badges.lock_user(p_user_id);
  select * into v_streak from badges.streaks s where s.user_id = p_user_id;
  if found then
    v_streak := badges.freeze_missed_days(p_user_id, badges.streak_today(v_streak, now()));
  end if;
  v_awarded := badges.award_qualifying(p_user_id, array['streak']);
  return badges.streak_json(p_user_id, v_streak, now())
    || pg_catalog.jsonb_build_object('awarded', pg_catalog.to_jsonb(v_awarded));
end;
$$;
revoke execute on function badges.check_streaks(uuid) from public, anon, authenticated;
grant execute on function badges.check_streaks(uuid) to service_role;

/**
 * The daily batch for streak badges (v1): first spend freezes for the users who missed a day
 * (yesterday, in their calendar) while holding enough, each under the user's lock, so reads show
 * their streak alive; then award the streak badges, and the composites they complete, to every
 * user who reached them. Returns {users_checked, awarded_count, freezes_used}.
 */
create or replace function badges.check_streaks_all()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_awarded bigint;
  v_used bigint := 0;
  v_user uuid;
  v_before integer;
  v_row badges.streaks;
begin
  for v_user in
    select s.user_id from badges.streaks s
    cross join lateral (select badges.streak_today(s, now()) - 1
                          - greatest(s.last_active_day, s.frozen_through) as missed) m
    where s.freezes_left > 0 and s.current_streak > 0
      and m.missed between 1 and s.freezes_left  -- else nothing to do, or too few to spend
    order by s.user_id
  loop
    perform badges.lock_user(v_user);
    select * into v_row from badges.streaks s where s.user_id = v_user;
    v_before := v_row.freezes_left;
    v_row := badges.freeze_missed_days(v_user, badges.streak_today(v_row, now()));
    v_used := v_used + v_before - v_row.freezes_left;
  end loop;
  select count(*) into v_awarded from badges.award_rules(null, array['streak']);
  select v_awarded + count(*) into v_awarded from badges.award_composites(null);
  return pg_catalog.jsonb_build_object(
    'users_checked', (select count(*) from badges.streaks), 'awarded_count', v_awarded,
    'freezes_used', v_used);
end;
$$;
revoke execute on function badges.check_streaks_all() from public, anon, authenticated;
grant execute on function badges.check_streaks_all() to service_role;

/**
 * Give the user p_count (1 to 10) streak freezes: a service decision (a reward, a purchase), so
 * not capped by the policy's max_held, which bounds automatic grants only. Returns {freezes_left}.
 */
create or replace function badges.grant_freezes(p_user_id uuid, p_count integer)
returns jsonb
language plpgsql
set search_path = ''
set jit = off
as $$
declare
  v_left integer;
begin
  if p_count is null or p_count not between 1 and 10 then
    raise exception using errcode = 'BD004', message = 'invalid freeze count',
      detail = pg_catalog.format('count must be 1 to 10, not %s.', coalesce(p_count::text, 'null'));
  end if;
  perform badges.lock_user(p_user_id);
  insert into badges.streaks as s (user_id, freezes_left) values (p_user_id, p_count)
  on conflict (user_id) do update set freezes_left = s.freezes_left + p_count, updated_at = now()
  returning s.freezes_left into v_left;
  return pg_catalog.jsonb_build_object('freezes_left', v_left);
end;
$$;
revoke execute on function badges.grant_freezes(uuid, integer) from public, anon, authenticated;
grant execute on function badges.grant_freezes(uuid, integer) to service_role;
