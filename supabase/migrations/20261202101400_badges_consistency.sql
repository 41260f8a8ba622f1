/**
 * The consistency report: what must hold between the tables whatever happened to the requests
 * that wrote them (timeouts, killed connections, a database restart). The reliability suite
 * runs it after every fault it injects; an operator can run it any time (it only reads).
 */

/**
 * Rows breaking each invariant (all zero when consistent):
 *   badge_count     user_stats.badge_count differs from the user's awards
 *   correct_count   user_stats.correct_count differs from the user's correct quiz answers
 *   rarity          a badge's rarity counters (folded counts plus pending deltas) differ from
 *                   its holders, or the user counter from badges.users
 *   board           a board's per-value count (folded plus pending) differs from the users at
 *                   that value
 *   metric_total    metric_totals.total differs from the total after the user's last event
 *   distinct_count  metric_totals.distinct_count differs from the distinct items tracked
 *   outbox_orphan   an outbox row for a badge the user never held (no award, no revocation)
 *   outbox_twice    more outbox rows than one for a (user, badge): the unique key's promise
 * and, not violations (a silent backfill and a quiet badge write none), awards_unannounced:
 * awards of notifying badges without an outbox row.
 * Returns {violations, checks: {name: rows}, awards_unannounced}.
 */
create or replace function badges.consistency_report()
returns jsonb
language sql stable
set search_path = ''
as $$
  with checks as (
    select pg_catalog.jsonb_build_object(
      'badge_count', (
        select count(*) from badges.user_stats s
        full join (select a.user_id, count(*) as n from badges.awards a group by a.user_id) a
          on a.user_id = s.user_id
        where coalesce(s.badge_count, 0) <> coalesce(a.n, 0)),
      'correct_count', (
        select count(*) from badges.user_stats s
        full join (select q.user_id, count(*) as n from badges.quiz_scores q
                   where q.quiz_correct group by q.user_id) q on q.user_id = s.user_id
        where coalesce(s.correct_count, 0) <> coalesce(q.n, 0)),
      'rarity', (
        select count(*) from (
          select c.badge_id, sum(c.holders) as n
          from (select x.badge_id, x.holders from badges.rarity_counts x
                union all
                select x.badge_id, x.holders from badges.rarity_deltas x) c
          group by c.badge_id
        ) c
        full join (
          select a.badge_id, count(*) as n from badges.awards a group by a.badge_id
          union all
          select '', count(*) from badges.users
        ) h on h.badge_id = c.badge_id
        where coalesce(c.n, 0) <> coalesce(h.n, 0)),
      'board', (
        select count(*) from (
          select c.board, c.value, sum(c.users) as n
          from (select x.board, x.value, x.users from badges.board_counts x
                union all
                select x.board, x.value, x.users from badges.board_deltas x) c
          group by c.board, c.value
        ) c
        full join (
          select 'badge_count' as board, s.badge_count as value, count(*) as n
          from badges.user_stats s where s.badge_count > 0 group by s.badge_count
          union all
          select 'correct_count', s.correct_count, count(*)
          from badges.user_stats s where s.correct_count > 0 group by s.correct_count
        ) h on h.board = c.board and h.value = c.value
        where coalesce(c.n, 0) <> coalesce(h.n, 0)),
      'metric_total', (
        select count(*) from badges.metric_totals t
        where t.total <> coalesce((select e.total from badges.metric_events e
                                   where e.user_id = t.user_id and e.metric = t.metric
                                   order by e.id desc limit 1), 0)),
      'distinct_count', (
        select count(*) from badges.metric_totals t
        where t.distinct_count <> (select count(*) from badges.metric_items i
                                   where i.user_id = t.user_id and i.metric = t.metric)),
      'outbox_orphan', (
        select count(*) from badges.outbox o
        where o.badge_id is not null
          and not exists (select from badges.awards a
                          where a.user_id = o.user_id and a.badge_id = o.badge_id)
          and not exists (select from badges.revocations r
                          where r.user_id = o.user_id and r.badge_id = o.badge_id)),
      'outbox_twice', (
        select count(*) from (select 1 from badges.outbox o
                              group by o.user_id, o.badge_id having count(*) > 1) d)
    ) as c
  )
  select pg_catalog.jsonb_build_object(
    'violations', (select sum(v::bigint) from pg_catalog.jsonb_each_text(c) as x(k, v)),
    'checks', c,
    'awards_unannounced', (
      select count(*) from badges.awards a
      join badges.definitions d on d.id = a.badge_id and d.notify
      where not exists (select from badges.outbox o
                        where o.user_id = a.user_id and o.badge_id = a.badge_id)))
  from checks
$$;
revoke execute on function badges.consistency_report() from public, anon, authenticated;
grant execute on function badges.consistency_report() to service_role;
