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
 *                   that value (the built-in boards, and each live period of the catalog's)
 *   board_buckets   a board's coarser counts (badges.board_buckets) differ from the sums of
 *                   its per-value counts they stand for
 *   board_total     a user's entry on an all-time catalog board differs from the total it ranks
 *   metric_total    metric_totals.total differs from the total after the user's last event
 *   distinct_count  metric_totals.distinct_count differs from the distinct items tracked
 *   outbox_orphan   an outbox row for a badge the user never held (no award, no revocation)
 *   outbox_twice    more outbox rows for a (user, badge) than awards of it (one, plus one per
 *                   revocation it was earned again after): the unique key's promise
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
          select c.board, c.period, c.value, sum(c.users) as n
          from (select x.board, x.period, x.value, x.users from badges.board_counts x
                union all
                select x.board, x.period, x.value, x.users from badges.board_deltas x) c
          group by c.board, c.period, c.value
        ) c
        full join (
          select 'badge_count' as board, '-infinity'::date as period, s.badge_count as value,
                 count(*) as n
          from badges.user_stats s where s.badge_count > 0 group by s.badge_count
          union all
          select 'correct_count', '-infinity', s.correct_count, count(*)
          from badges.user_stats s where s.correct_count > 0 group by s.correct_count
          union all
          select e.board_id, e.period, e.value, count(*)
          from badges.board_entries e where e.value > 0 group by e.board_id, e.period, e.value
        ) h on h.board = c.board and h.period = c.period and h.value = c.value
        where coalesce(c.n, 0) <> coalesce(h.n, 0)),
      'board_buckets', (
        select count(*) from badges.board_buckets b
        full join (
          select c.board, c.period, l.level, c.value >> (8 * l.level) as key,
                 sum(c.users) as users
          from badges.board_counts c
          cross join pg_catalog.generate_series(1, 7) l(level)
          where c.value > 0
          group by 1, 2, 3, 4
        ) c on c.board = b.board and c.period = b.period and c.level = b.level and c.key = b.key
        where coalesce(b.users, 0) <> coalesce(c.users, 0)),
      'board_total', (
        select count(*) from (
          select l.id as board_id, t.user_id, t.total
          from badges.leaderboards l
          cross join lateral (
            select x.user_id, x.total from badges.metric_totals x where x.metric = l.metric
            union all
            select x.user_id, x.badge_count from badges.user_stats x
            where l.metric = 'badge_count'
            union all
            select x.user_id, x.correct_count from badges.user_stats x
            where l.metric = 'quiz_correct') t
          where l.enabled and l.period = 'all_time' and t.total <> 0
        ) t
        full join (
          select e.board_id, e.user_id, e.value
          from badges.board_entries e
          join badges.leaderboards l on l.id = e.board_id and l.enabled and l.period = 'all_time'
          where e.value <> 0
        ) e on e.board_id = t.board_id and e.user_id = t.user_id
        where coalesce(e.value, 0) <> coalesce(t.total, 0)),
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
        select count(*) from (
          select 1 from badges.outbox o
          where o.badge_id is not null
          group by o.user_id, o.badge_id
          having count(*) > 1 + (select count(*) from badges.revocations r
                                 where r.user_id = o.user_id and r.badge_id = o.badge_id)) d)
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
