// The badges modal (the business design: earned with a green border, full-colour icon and the
// date; locked greyed with the requirement; hidden ones as "???"), progress and the level.
import { bar, date, el, icon, percent } from './dom.js'

export function renderModal(list, hiddenLocked, metrics, boards = []) {
  const total = list.total_count + hiddenLocked
  document.getElementById('badges-summary').textContent =
    `Earned Badges: ${list.earned_count} / ${total}`
  const byId = new Map(list.badges.map((b) => [b.id, b]))
  const boardNames = new Map(boards.map((b) => [b.id, b.name]))
  const cards = list.badges.map((b) => card(b, metrics, byId, boardNames))
  for (let i = 0; i < hiddenLocked; i += 1) cards.push(secretCard())
  document.getElementById('badge-grid').replaceChildren(...cards)
}

function card(badge, metrics, byId, boardNames) {
  const state = badge.earned
    ? el('p', { class: 'state' }, 'Earned ', date(badge.earned_at))
    : el('p', { class: 'state' }, el('span', { class: 'lock' }, 'Locked'), ' · ', requirement(badge, metrics, byId, boardNames))
  const progress =
    !badge.earned && badge.progress
      ? [
          bar(badge.progress.current, badge.progress.target, `${badge.name} progress`),
          el('p', { class: 'figures' }, `${badge.progress.current} / ${badge.progress.target}`),
        ]
      : []
  return el(
    'li',
    { class: `badge ${badge.earned ? 'earned' : 'locked'} tier-${badge.tier}`, 'data-badge': badge.id },
    icon(badge.icon),
    el('h3', {}, badge.name),
    el('p', { class: 'desc' }, badge.description),
    state,
    progress,
    el('p', { class: 'rarity' }, `${percent(badge.rarity.earned_percent)}% of users`),
  )
}

function secretCard() {
  return el(
    'li',
    { class: 'badge locked secret', 'data-badge': 'hidden' },
    icon('❔'),
    el('h3', {}, '???'),
    el('p', { class: 'desc' }, 'A hidden badge: keep exploring to reveal it.'),
    el('p', { class: 'state' }, el('span', { class: 'lock' }, 'Locked')),
  )
}

function unit(metrics, metric, count) {
  const m = metrics[metric]
  if (!m) return metric
  return (count === 1 ? m.unit_one : m.unit) ?? m.name
}

export function requirement(b, metrics, byId = new Map(), boardNames = new Map()) {
  switch (b.rule) {
    case 'metric':
      return `Requires ${b.threshold} ${unit(metrics, b.metric, b.threshold)}`
    case 'distinct':
      return `Requires ${b.threshold} different ${unit(metrics, b.metric, 2)}`
    case 'streak':
      return `Requires a ${b.threshold}-day streak`
    case 'active_days':
      return `Requires ${b.threshold} active days`
    case 'quiz_distinct':
      return `Requires right answers on ${b.threshold} quiz topics`
    case 'quiz_all':
      return 'Requires a right answer on every quiz topic'
    case 'all_of':
      return `Requires ${b.requires.map((id) => byId.get(id)?.name ?? id).join(', ')}`
    case 'rank':
      return `Requires a top ${b.threshold} place on ${boardNames.get(b.board) ?? 'a leaderboard'}`
    case 'client':
      return 'Share your badges to earn it'
    case 'shared':
      return 'Earned when a friend opens your shared link'
    default:
      return 'Awarded by the Dev-Space team'
  }
}

export function renderNext(milestones) {
  const items = milestones.map((m) =>
    el(
      'li',
      { 'data-badge': m.badge.id },
      el('p', { class: 'milestone' }, icon(m.badge.icon), el('span', { class: 'name' }, m.badge.name), ' ', el('span', { class: 'count' }, `${m.current}/${m.target}`)),
      bar(m.current, m.target, `${m.badge.name} progress`),
      el('p', { class: 'hint' }, m.message),
    ),
  )
  const list = document.getElementById('next-badges')
  list.replaceChildren(...(items.length ? items : [el('li', {}, 'Every badge with a goal is earned.')]))
}

export function renderLevel(level, metrics) {
  const parts = [
    el('p', { class: 'level-now' }, 'Level: ', el('strong', {}, level.current ? level.current.name : 'none yet')),
  ]
  if (level.current) parts.push(el('p', { class: 'hint' }, level.current.description))
  if (level.next) {
    parts.push(el('p', { class: 'level-next' }, `Next level: ${level.next.name}`))
    parts.push(
      el(
        'ul',
        { class: 'steps' },
        level.next.steps.map((s) =>
          el(
            'li',
            {},
            el('p', {}, `${metrics[s.metric]?.name ?? s.metric} ${s.current}/${s.required}`),
            bar(Math.min(s.current, s.required), s.required, `${metrics[s.metric]?.name ?? s.metric} toward ${level.next.name}`),
          ),
        ),
      ),
    )
  } else if (level.current) {
    parts.push(el('p', { class: 'level-next' }, 'The top level: nothing more to reach.'))
  }
  document.getElementById('level').replaceChildren(...parts)
}
