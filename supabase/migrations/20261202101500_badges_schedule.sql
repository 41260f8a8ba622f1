/**
 * The scheduled jobs on Supabase, optional: pg_cron runs them, pg_net POSTs each one to the
 * private function target badges_jobs, with the function's URL and the service_role key read from
 * Supabase Vault at every run (secrets badges_jobs_url and badges_service_role_key), never stored
 * in the cron command.
 *
 *   badges-deliver-notifications  every minute  {"action": "deliver_notifications"}
 *   badges-check-badges           daily 03:15   {"action": "check_badges", "all": true}
 *   badges-check-streaks          daily 03:15   {"action": "check_streaks", "all": true}
 *
 * Guarded: the functions are plpgsql, whose names resolve at run time, so they are created on any
 * PostgreSQL; the jobs are scheduled at the end of this file only where pg_cron (1.3 or later)
 * and pg_net exist and the migrating role may use them.
 * Elsewhere (the embedded database, CI, self-hosted without them) this file changes nothing else,
 * and Cloud Scheduler can call badges_jobs instead. Re-runnable: create or replace, and
 * cron.schedule with a job name replaces the job of that name.
 *
 * The functions run with their caller's rights (no security definer): cron runs a job as the
 * user who scheduled it (postgres on `supabase db push`), who may read Vault and call pg_net.
 */

/**
 * POST one job to the badges_jobs function through pg_net; returns pg_net's request id (the
 * response lands in net._http_response). BD004 for a job that is not ours, or when Vault, pg_net
 * or one of the two secrets is missing: nothing is sent then.
 */
create or replace function badges.run_job(p_action text)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
  v_body jsonb;
begin
  if p_action is null
     or p_action not in ('deliver_notifications', 'check_badges', 'check_streaks') then
    raise exception using errcode = 'BD004', message = 'unknown job',
      detail = pg_catalog.format('%L is not a scheduled job of badges.', p_action),
      hint = 'The jobs are deliver_notifications, check_badges and check_streaks.';
  end if;
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    raise exception using errcode = 'BD004', message = 'Supabase Vault is not available',
      detail = 'badges.run_job reads the function URL and the service key from Vault.',
      hint = 'Run the jobs on Supabase, or call the badges_jobs function from another scheduler.';
  end if;
  if pg_catalog.to_regprocedure('net.http_post(text,jsonb,jsonb,jsonb,integer)') is null then
    raise exception using errcode = 'BD004', message = 'pg_net is not installed',
      hint = 'Enable it: create extension if not exists pg_net;';
  end if;

  select s.decrypted_secret into v_url
  from vault.decrypted_secrets s where s.name = 'badges_jobs_url';
  select s.decrypted_secret into v_key
  from vault.decrypted_secrets s where s.name = 'badges_service_role_key';
  if v_url is null or v_url = '' or v_key is null or v_key = '' then
    raise exception using errcode = 'BD004', message = 'badges job secrets missing from Vault',
      detail = pg_catalog.format('Missing: %s.', pg_catalog.concat_ws(', ',
        case when v_url is null or v_url = '' then 'badges_jobs_url' end,
        case when v_key is null or v_key = '' then 'badges_service_role_key' end)),
      hint = 'Create them: select vault.create_secret(''<badges_jobs URL>'', ''badges_jobs_url'');'
        || ' select vault.create_secret(''<service_role key>'', ''badges_service_role_key'');';
  end if;

  v_body := pg_catalog.jsonb_build_object('action', p_action);
  if p_action in ('check_badges', 'check_streaks') then
    v_body := v_body || pg_catalog.jsonb_build_object('all', true);
  end if;

  return net.http_post(
    url => v_url,
    body => v_body,
    params => '{}'::jsonb,
    headers => pg_catalog.jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || v_key),
    timeout_milliseconds => 55000);
end;
$$;
revoke execute on function badges.run_job(text) from public, anon, authenticated;
grant execute on function badges.run_job(text) to service_role;

/**
 * (Re)schedule the three jobs with pg_cron: notification delivery on p_deliver, the badge and
 * streak checks over all users on p_daily (cron syntax, UTC). A job of the same name is replaced,
 * never duplicated. Returns {"scheduled": [job names]}, or {"scheduled": [], "reason": …} without
 * an error where pg_cron or pg_net is not installed, or the caller may not use them (service_role
 * has no USAGE on schema cron: the jobs are scheduled as postgres, whom pg_cron runs them as).
 * pg_cron 1.3 and later (1.3 names the job with `name`, 1.4 on with `text`).
 */
create or replace function badges.schedule_jobs(
  p_deliver text default '* * * * *', p_daily text default '15 3 * * *')
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  -- to_regprocedure raises 42501 for a name in a schema the caller may not use: the schemas
  -- come first (to_regnamespace and has_schema_privilege answer for any schema).
  v_cron_ns oid := pg_catalog.to_regnamespace('cron');
  v_net_ns oid := pg_catalog.to_regnamespace('net');
  v_cron_usage boolean :=
    v_cron_ns is not null and pg_catalog.has_schema_privilege(v_cron_ns, 'USAGE');
  v_net_usage boolean :=
    v_net_ns is not null and pg_catalog.has_schema_privilege(v_net_ns, 'USAGE');
  v_schedule pg_catalog.regprocedure;
  v_post pg_catalog.regprocedure;
  v_cron boolean;
  v_net boolean;
  v_denied text;
  v_job record;
  v_names text[] := '{}';
begin
  if v_cron_usage then
    v_schedule := coalesce(pg_catalog.to_regprocedure('cron.schedule(text,text,text)'),
                           pg_catalog.to_regprocedure('cron.schedule(name,text,text)'));
  end if;
  if v_net_usage then
    v_post := pg_catalog.to_regprocedure('net.http_post(text,jsonb,jsonb,jsonb,integer)');
  end if;
  -- A schema the caller may not use counts as installed: it is told it is not permitted.
  v_cron := v_cron_ns is not null and (v_schedule is not null or not v_cron_usage);
  v_net := v_net_ns is not null and (v_post is not null or not v_net_usage);
  if not (v_cron and v_net) then
    return pg_catalog.jsonb_build_object(
      'scheduled', '[]'::jsonb,
      'reason', pg_catalog.concat_ws(' and ',
          case when not v_cron then 'pg_cron' end,
          case when not v_net then 'pg_net' end)
        || case when v_cron or v_net then ' is' else ' are' end
        || ' not installed: enable them, then run select badges.schedule_jobs();');
  end if;
  -- A job runs as the role that scheduled it: it must be able to call net.http_post too.
  v_denied := case
    when not v_cron_usage then 'has no USAGE on schema cron'
    when not pg_catalog.has_function_privilege(v_schedule, 'EXECUTE')
      then 'may not execute ' || v_schedule::text
    when not v_net_usage then 'has no USAGE on schema net'
    when not pg_catalog.has_function_privilege(v_post, 'EXECUTE')
      then 'may not execute ' || v_post::text
  end;
  if v_denied is not null then
    return pg_catalog.jsonb_build_object(
      'scheduled', '[]'::jsonb,
      'reason', pg_catalog.format('not permitted: %s %s; run select badges.schedule_jobs();'
        || ' as postgres (the SQL editor, supabase db push): pg_cron runs a job as the role'
        || ' that scheduled it.', current_user, v_denied));
  end if;
  if p_deliver is null or p_daily is null then
    raise exception using errcode = 'BD004', message = 'schedule must not be null',
      hint = 'Pass cron schedules such as ''* * * * *'' and ''15 3 * * *''.';
  end if;

  for v_job in
    select * from (values
      (1, 'badges-deliver-notifications', p_deliver, 'deliver_notifications'),
      (2, 'badges-check-badges', p_daily, 'check_badges'),
      (3, 'badges-check-streaks', p_daily, 'check_streaks')) as j (ord, name, schedule, action)
    order by j.ord
  loop
    -- text: cron.schedule(text, …) of pg_cron 1.4 on, or (name, …) of 1.3 by the implicit cast
    perform cron.schedule(v_job.name, v_job.schedule,
      pg_catalog.format('select badges.run_job(%L)', v_job.action));
    v_names := v_names || v_job.name;
  end loop;
  return pg_catalog.jsonb_build_object('scheduled', pg_catalog.to_jsonb(v_names));
end;
$$;
revoke execute on function badges.schedule_jobs(text, text) from public, anon, authenticated;
grant execute on function badges.schedule_jobs(text, text) to service_role;

/**
 * Remove the three jobs, those of them the caller has scheduled (pg_cron's unschedule by name
 * fails for a job the caller does not have, so only present ones are unscheduled). Returns
 * {"unscheduled": [job names]}, or {"unscheduled": [], "reason": …} without an error where
 * pg_cron is not installed or the caller may not use it. cron.unschedule names the job with
 * `name` before pg_cron 1.5 (Debian's 1.4) and with `text` from 1.5 on: either is found, and
 * called with text (cast to name where that is the one).
 */
create or replace function badges.unschedule_jobs()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_absent constant jsonb := pg_catalog.jsonb_build_object(
    'unscheduled', '[]'::jsonb, 'reason', 'pg_cron is not installed: nothing is scheduled.');
  -- to_regprocedure and to_regclass raise 42501 in a schema the caller may not use: the schema
  -- comes first (to_regnamespace and has_schema_privilege answer for any schema).
  v_cron_ns oid := pg_catalog.to_regnamespace('cron');
  v_unschedule pg_catalog.regprocedure;
  v_job_table pg_catalog.regclass;
  v_denied text;
  v_name text;
  v_names text[] := '{}';
begin
  if v_cron_ns is null then
    return v_absent;
  end if;
  if not pg_catalog.has_schema_privilege(v_cron_ns, 'USAGE') then
    v_denied := 'has no USAGE on schema cron';
  else
    v_unschedule := coalesce(pg_catalog.to_regprocedure('cron.unschedule(text)'),
                             pg_catalog.to_regprocedure('cron.unschedule(name)'));
    v_job_table := pg_catalog.to_regclass('cron.job');
    if v_unschedule is null or v_job_table is null then
      return v_absent;
    end if;
    v_denied := case
      when not pg_catalog.has_function_privilege(v_unschedule, 'EXECUTE')
        then 'may not execute ' || v_unschedule::text
      when not pg_catalog.has_table_privilege(v_job_table, 'SELECT')
        then 'may not read cron.job'
    end;
  end if;
  if v_denied is not null then
    return pg_catalog.jsonb_build_object(
      'unscheduled', '[]'::jsonb,
      'reason', pg_catalog.format('not permitted: %s %s; run select badges.unschedule_jobs();'
        || ' as the role that scheduled the jobs (postgres: the SQL editor, supabase db push).',
        current_user, v_denied));
  end if;

  for v_name in
    select j.jobname from cron.job j
    where j.jobname in ('badges-deliver-notifications', 'badges-check-badges',
                        'badges-check-streaks')
      and j.username = current_user
    order by j.jobname
  loop
    perform cron.unschedule(v_name);
    v_names := v_names || v_name;
  end loop;
  return pg_catalog.jsonb_build_object('unscheduled', pg_catalog.to_jsonb(v_names));
end;
$$;
revoke execute on function badges.unschedule_jobs() from public, anon, authenticated;
grant execute on function badges.unschedule_jobs() to service_role;

-- Schedule where pg_cron and pg_net are there and the migrating role may use them (a Supabase
-- project with both enabled: postgres); anywhere else schedule_jobs answers why not, and nothing
-- is scheduled.
select badges.schedule_jobs();
