/**
 * Trigger functions an app attaches to its own tables, so that writes count toward a metric
 * (and award what the new total reaches) in the app's own transaction, without calling the
 * badges function. The counted user is the row's owner column (default user_id).
 *
 *   create trigger count_projects after insert or delete on public.projects
 *     for each row execute function badges.track_insert('project_created', 'owner_id');
 *
 *   track_insert(metric [, user_column])           +1 per inserted row, -1 per deleted row
 *   track_change(metric, column [, user_column])   +1 per update that changes column
 *   track_set(metric, column [, user_column [, key_column]])
 *                                                  +1 when column goes NULL -> value, once per row
 *   track_true(metric, column [, user_column [, key_column]])
 *                                                  +1 when column goes false/NULL -> true, once per row
 *
 * The "once per row" variants remember the row (by key_column, default id) with an idempotency
 * key, so setting, clearing and setting the column again counts once; deleting a counted row
 * takes its count back (and frees the key), so inserting and deleting rows with fresh ids cannot
 * farm the metric. They must fire on DELETE too (AFTER INSERT OR UPDATE OR DELETE): one that
 * does not fails the write with BD004.
 *
 * They are SECURITY DEFINER because the app's clients (role authenticated) write the app's
 * tables but may not write badges tables; they take no input but the row and their trigger
 * arguments, pin search_path = '' and are executable by no client role, so no client can attach
 * them to a table of its own.
 */

/** The value of column p_column in a row, or BD004 naming the trigger when there is none. */
create or replace function badges.row_value(p_row jsonb, p_column text, p_trigger text)
returns jsonb
language plpgsql immutable
set search_path = ''
as $$
begin
  if not p_row ? p_column then
    raise exception using errcode = 'BD004', message = 'trigger names a missing column',
      detail = pg_catalog.format('Trigger %s: the row has no column %L.', p_trigger, p_column);
  end if;
  return p_row -> p_column;
end;
$$;
revoke execute on function badges.row_value(jsonb, text, text) from public, anon, authenticated;
grant execute on function badges.row_value(jsonb, text, text) to service_role;

/**
 * BD005 naming the trigger unless p_metric is declared (enabled or not: removing a metric from
 * the catalog must not break the app's writes). Every trigger checks first, so a misspelt
 * metric fails the first write, not the first one that would count.
 */
create or replace function badges.declared_metric(p_metric text, p_trigger text)
returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if not exists (select 1 from badges.metrics where id = p_metric) then
    raise exception using errcode = 'BD005', message = 'unknown metric',
      detail = pg_catalog.format('Trigger %s counts %L, which no catalog declares.',
                                 p_trigger, p_metric);
  end if;
end;
$$;
revoke execute on function badges.declared_metric(text, text) from public, anon, authenticated;
grant execute on function badges.declared_metric(text, text) to service_role;

/** The idempotency key of a row counted once (the "row:" namespace clients may not use). */
create or replace function badges.row_key(
  p_row jsonb, p_metric text, p_key_column text, p_trigger text, p_table text)
returns text
language plpgsql immutable
set search_path = ''
as $$
begin
  return 'row:' || pg_catalog.md5(pg_catalog.concat_ws(':', p_metric, p_table, p_trigger,
    badges.row_value(p_row, p_key_column, p_trigger)::text));
end;
$$;
revoke execute on function badges.row_key(jsonb, text, text, text, text)
  from public, anon, authenticated;
grant execute on function badges.row_key(jsonb, text, text, text, text) to service_role;

/**
 * BD004 unless the trigger p_trigger of table p_table fires on DELETE: a "once per row" count
 * that a delete does not take back could be farmed by inserting and deleting rows.
 */
create or replace function badges.fires_on_delete(p_table oid, p_trigger text)
returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if not exists (select from pg_catalog.pg_trigger t
                 where t.tgrelid = p_table and t.tgname = p_trigger
                   and (t.tgtype::integer & 8) <> 0) then  -- 8: TRIGGER_TYPE_DELETE
    raise exception using errcode = 'BD004', message = 'trigger must also fire on delete',
      detail = pg_catalog.format(
        'Trigger %s counts once per row: a deleted row must be un-counted, or deleting and'
        ' inserting rows would count again and again.', p_trigger),
      hint = 'Create it AFTER INSERT OR UPDATE OR DELETE.';
  end if;
end;
$$;
revoke execute on function badges.fires_on_delete(oid, text) from public, anon, authenticated;
grant execute on function badges.fires_on_delete(oid, text) to service_role;

/**
 * Count p_amount of p_metric for the owner of p_row (column p_user_column; a row without an
 * owner counts for nobody). p_key_column, when given, makes the count once per row.
 */
create or replace function badges.count_row(
  p_row jsonb, p_metric text, p_user_column text, p_amount integer, p_key_column text,
  p_trigger text, p_table text)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_user uuid := (badges.row_value(p_row, p_user_column, p_trigger) ->> 0)::uuid;
  v_key text;
begin
  if v_user is null then
    return;
  end if;
  if p_key_column is not null then
    v_key := badges.row_key(p_row, p_metric, p_key_column, p_trigger, p_table);
  end if;
  perform badges.lock_user(v_user);
  perform badges.count_metric(v_user, p_metric, p_amount, null, v_key, null);
end;
$$;
revoke execute on function badges.count_row(jsonb, text, text, integer, text, text, text)
  from public, anon, authenticated;
grant execute on function badges.count_row(jsonb, text, text, integer, text, text, text)
  to service_role;

/**
 * A row counted once (track_set, track_true) was deleted: -1 for its owner if it had counted,
 * and its key freed (renamed after its event), so the same row inserted again counts again.
 */
create or replace function badges.uncount_row(
  p_row jsonb, p_metric text, p_user_column text, p_key_column text, p_trigger text,
  p_table text)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_user uuid := (badges.row_value(p_row, p_user_column, p_trigger) ->> 0)::uuid;
  v_key text := badges.row_key(p_row, p_metric, p_key_column, p_trigger, p_table);
begin
  if v_user is null then
    return;
  end if;
  perform badges.lock_user(v_user);
  update badges.metric_events e set idempotency_key = v_key || ':deleted:' || e.id
  where e.user_id = v_user and e.idempotency_key = v_key;
  if found then
    perform badges.count_metric(v_user, p_metric, -1, null, null, null);
  end if;
end;
$$;
revoke execute on function badges.uncount_row(jsonb, text, text, text, text, text)
  from public, anon, authenticated;
grant execute on function badges.uncount_row(jsonb, text, text, text, text, text)
  to service_role;

/** +1 per inserted row, -1 per deleted row. Arguments: metric [, user_column = 'user_id']. */
create or replace function badges.track_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_table text := pg_catalog.format('%I.%I', tg_table_schema, tg_table_name);
begin
  perform badges.declared_metric(tg_argv[0], tg_name);
  if tg_op = 'INSERT' then
    perform badges.count_row(pg_catalog.to_jsonb(new), tg_argv[0],
      coalesce(tg_argv[1], 'user_id'), 1, null, tg_name, v_table);
  elsif tg_op = 'DELETE' then
    perform badges.count_row(pg_catalog.to_jsonb(old), tg_argv[0],
      coalesce(tg_argv[1], 'user_id'), -1, null, tg_name, v_table);
  end if;
  return null;
end;
$$;
revoke execute on function badges.track_insert() from public, anon, authenticated;

/** +1 per update that changes the column. Arguments: metric, column [, user_column]. */
create or replace function badges.track_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_new jsonb := pg_catalog.to_jsonb(new);
begin
  perform badges.declared_metric(tg_argv[0], tg_name);
  if tg_op = 'UPDATE' and badges.row_value(v_new, tg_argv[1], tg_name)
       is distinct from badges.row_value(pg_catalog.to_jsonb(old), tg_argv[1], tg_name) then
    perform badges.count_row(v_new, tg_argv[0], coalesce(tg_argv[2], 'user_id'), 1, null,
      tg_name, pg_catalog.format('%I.%I', tg_table_schema, tg_table_name));
  end if;
  return null;
end;
$$;
revoke execute on function badges.track_change() from public, anon, authenticated;

/**
 * The "once per row" triggers' work (track_set: p_counts 'set', the column holds a value;
 * track_true: 'true', the column is true). +1 when a row's column becomes counted, -1 when a
 * counted row is deleted. p_args are the trigger's tg_argv (subscripts from 0): metric,
 * column [, user_column [, key_column = 'id']]. The trigger must fire on DELETE too.
 */
create or replace function badges.count_once(
  p_op text, p_relid oid, p_trigger text, p_table text, p_old jsonb, p_new jsonb,
  p_args text[], p_counts text)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_user_column text := coalesce(p_args[2], 'user_id');
  v_key_column text := coalesce(p_args[3], 'id');
  v_now jsonb;
  v_was jsonb;
  v_became boolean;
begin
  perform badges.declared_metric(p_args[0], p_trigger);
  perform badges.fires_on_delete(p_relid, p_trigger);
  if p_op = 'DELETE' then
    perform badges.uncount_row(p_old, p_args[0], v_user_column, v_key_column, p_trigger, p_table);
    return;
  end if;
  v_now := badges.row_value(p_new, p_args[1], p_trigger);
  if p_op = 'UPDATE' then
    v_was := badges.row_value(p_old, p_args[1], p_trigger);
  end if;
  v_became := case p_counts
    when 'true' then v_now = 'true'::jsonb and v_was is distinct from 'true'::jsonb
    else pg_catalog.jsonb_typeof(v_now) <> 'null'
         and coalesce(pg_catalog.jsonb_typeof(v_was), 'null') = 'null' end;
  if v_became then
    perform badges.count_row(p_new, p_args[0], v_user_column, 1, v_key_column, p_trigger,
      p_table);
  end if;
end;
$$;
revoke execute on function badges.count_once(text, oid, text, text, jsonb, jsonb, text[], text)
  from public, anon, authenticated;
grant execute on function badges.count_once(text, oid, text, text, jsonb, jsonb, text[], text)
  to service_role;

/**
 * +1 once per row when the column goes from NULL to a value (an insert with a value counts);
 * -1 when a counted row is deleted. Arguments: metric, column [, user_column [, key_column =
 * 'id']]. Fires AFTER INSERT OR UPDATE OR DELETE.
 */
create or replace function badges.track_set()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform badges.count_once(tg_op, tg_relid, tg_name,
    pg_catalog.format('%I.%I', tg_table_schema, tg_table_name),
    pg_catalog.to_jsonb(old), pg_catalog.to_jsonb(new), tg_argv, 'set');
  return null;
end;
$$;
revoke execute on function badges.track_set() from public, anon, authenticated;

/**
 * +1 once per row when the boolean column becomes true (from false or NULL; an insert with true
 * counts); -1 when a counted row is deleted. Arguments: metric, column [, user_column [,
 * key_column = 'id']]. Fires AFTER INSERT OR UPDATE OR DELETE.
 */
create or replace function badges.track_true()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform badges.count_once(tg_op, tg_relid, tg_name,
    pg_catalog.format('%I.%I', tg_table_schema, tg_table_name),
    pg_catalog.to_jsonb(old), pg_catalog.to_jsonb(new), tg_argv, 'true');
  return null;
end;
$$;
revoke execute on function badges.track_true() from public, anon, authenticated;
