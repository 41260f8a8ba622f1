// Leaderboards: every board the catalog declares (`catalog.leaderboards`), with a period switch
// where a board has periods, the viewer's own row highlighted, and "around me". A catalog
// without boards gets the two built-in ones (badges, quiz) of the v1 actions.
import { el } from './dom.js'

const BUILT_IN = [
  { id: 'badges', name: 'Most badges', period: 'all_time', action: 'leaderboard', value: 'badge_count', unit: 'Badges' },
  { id: 'quiz', name: 'Quiz champions', period: 'all_time', action: 'score_leaderboard', value: 'correct_count', unit: 'Quiz topics' },
]
const PERIOD_WORDS = {
  daily: ['Today', 'Yesterday'],
  weekly: ['This week', 'Last week'],
  monthly: ['This month', 'Last month'],
  season: ['This season', 'Last season'],
}
const RADIUS = 5

export function boardsOf(catalog) {
  return catalog.leaderboards?.length ? catalog.leaderboards : BUILT_IN
}

export class Boards {
  // ctx: {call(action, fields), me(), name(userId), metrics(), onUser(userId)}
  constructor(ctx) {
    this.ctx = ctx
    this.boards = BUILT_IN
    this.board = BUILT_IN[0]
    this.period = 'current'
    this.view = 'top'
    for (const button of document.querySelectorAll('#view-picker button')) {
      button.addEventListener('click', () => {
        this.view = button.dataset.view
        this.show()
      })
    }
  }

  setBoards(boards) {
    this.boards = boards
    if (!boards.some((b) => b.id === this.board.id)) this.board = boards[0]
  }

  async show() {
    this.renderPickers()
    const answer = await this.ctx.call(...this.request())
    if (answer) this.renderTable(answer)
  }

  request() {
    const b = this.board
    if (b.action) {
      // The v1 boards have no around_me: the page around the caller's rank instead.
      return [b.action, { limit: 2 * RADIUS + 1 }]
    }
    const period = b.period === 'all_time' ? {} : { period: this.period }
    return this.view === 'around'
      ? ['around_me', { board: b.id, radius: RADIUS, ...period }]
      : ['leaderboard', { board: b.id, limit: 10, ...period }]
  }

  renderPickers() {
    const boards = this.boards.map((b) =>
      el('button', { type: 'button', 'aria-pressed': String(b.id === this.board.id), 'data-board': b.id, onclick: () => this.pick(b) }, b.name),
    )
    document.getElementById('board-picker').replaceChildren(...boards)
    const words = PERIOD_WORDS[this.board.period]
    const periods = words
      ? ['current', 'previous'].map((p, i) =>
          el('button', { type: 'button', 'aria-pressed': String(p === this.period), 'data-period': p, onclick: () => this.pickPeriod(p) }, words[i]),
        )
      : []
    const picker = document.getElementById('period-picker')
    picker.replaceChildren(...periods)
    picker.hidden = !words
    for (const button of document.querySelectorAll('#view-picker button')) {
      button.setAttribute('aria-pressed', String(button.dataset.view === this.view))
    }
  }

  pick(board) {
    this.board = board
    this.period = 'current'
    this.show()
  }

  pickPeriod(period) {
    this.period = period
    this.show()
  }

  async renderTable(answer) {
    let entries = answer.entries
    if (this.board.action && this.view === 'around' && answer.me) {
      // v1: fetch the page around the caller's rank (offset of the rank, minus the radius).
      const offset = Math.max(0, answer.me.rank - 1 - RADIUS)
      const around = await this.ctx.call(this.board.action, { limit: 2 * RADIUS + 1, offset })
      if (around) entries = around.entries
    } else if (this.board.action && this.view === 'around') {
      entries = []
    }
    const valueOf = (e) => (this.board.action ? e[this.board.value] : e.value)
    const me = this.ctx.me()
    const rows = entries.map((e) =>
      el(
        'tr',
        { class: e.user_id === me ? 'me' : null, 'aria-current': e.user_id === me ? 'true' : null },
        el('td', {}, `#${e.rank}`),
        el('td', {}, el('button', { type: 'button', class: 'link', onclick: () => this.ctx.onUser(e.user_id) }, this.ctx.name(e.user_id)), e.user_id === me ? ' (you)' : ''),
        el('td', { class: 'num' }, String(valueOf(e))),
      ),
    )
    const table = el(
      'table',
      { class: 'board' },
      el('caption', {}, this.caption(answer)),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Rank'), el('th', { scope: 'col' }, 'User'), el('th', { scope: 'col', class: 'num' }, this.unit()))),
      el('tbody', {}, rows),
    )
    const empty = rows.length ? null : el('p', { class: 'empty' }, this.view === 'around' ? 'You are not on this board yet.' : 'Nobody is on this board yet.')
    const mine = answer.me
      ? el('p', { class: 'my-rank' }, `Your rank: #${answer.me.rank} of ${answer.total}`)
      : el('p', { class: 'my-rank' }, 'You are not on this board yet.')
    document.getElementById('board').replaceChildren(table, ...(empty ? [empty] : []), mine)
  }

  caption(answer) {
    const words = PERIOD_WORDS[this.board.period]
    const when = words ? words[this.period === 'current' ? 0 : 1] : 'All time'
    const zone = this.board.timezone ?? 'UTC'
    const range = answer.period?.starts_at && answer.period?.ends_at ? ` (${day(answer.period.starts_at, zone)} – ${day(answer.period.ends_at, zone, true)})` : ''
    return `${this.board.name} · ${when}${range}`
  }

  unit() {
    if (this.board.unit) return this.board.unit
    const metric = this.ctx.metrics()[this.board.metric]
    return metric ? metric.name : 'Score'
  }
}

// A period's bounds as days of the board's time zone; its end is exclusive, so the last day is
// the one before.
function day(iso, timeZone, end = false) {
  const when = new Date(new Date(iso).getTime() - (end ? 1 : 0))
  return when.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone })
}
