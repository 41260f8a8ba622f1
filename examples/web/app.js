// The web demo: signs in as a demo user, shows that user's badges, progress, level,
// leaderboards, profiles, feed and inbox, and acts (track, award, quiz, activity) through the
// badges function. Every call is supabase-js's functions.invoke (api.js).
import { CallError, call as invoke, demoConfig, demoToken } from './api.js'
import { renderLevel, renderModal, renderNext } from './badges.js'
import { Boards, boardsOf } from './boards.js'
import { Social } from './social.js'
import { hideBanner, showBanner, toast, waiting, waitOut } from './status.js'

const NEW_USER = 'new'
const $ = (id) => document.getElementById(id)

const state = {
  config: { users: [] },
  people: new Map(), // user id → display name
  user: null,
  token: null,
  catalog: null,
  list: null,
  tab: 'home',
}

// One call of the function; on an error, the banner says what happened and offers the way on
// (retry: what to run again once it is fixed). Answers null after an error.
async function call(action, fields = {}, retry = refreshView) {
  try {
    const answer = await invoke(state.token, action, fields)
    if (!waiting()) hideBanner()
    return answer
  } catch (error) {
    if (!(error instanceof CallError)) throw error
    failed(error, retry)
    return null
  }
}

function failed(error, retry) {
  switch (error.kind) {
    case 'expired':
      showBanner('expired', 'Your session has expired. Sign in again to go on.', {
        label: 'Sign in again',
        run: async () => {
          if (await renewToken()) await retry()
        },
      })
      break
    case 'limited':
      waitOut('limited', error.retryAfter ?? 1, (s) => `Too many actions at once: you can act again in ${s} s.`)
      break
    case 'busy':
      waitOut('busy', error.retryAfter ?? 2, (s) => `The server is busy: try again in ${s} s.`)
      break
    case 'down':
      showBanner('down', 'Cannot reach the badges server. Check that it is running, then retry.', {
        label: 'Retry',
        run: () => retry(),
      })
      break
    default:
      showBanner('refused', `That did not work: ${error.message}`)
  }
}

// A new token for the signed-in user (the demo's sign-in); retry: what to run once the demo
// server answers again, after a failure.
async function renewToken(expiresIn = 3600, retry = null) {
  try {
    state.token = await demoToken(state.user, expiresIn)
    return true
  } catch (error) {
    failed(error, retry ?? (() => renewToken(expiresIn)))
    return false
  }
}

const name = (userId) => state.people.get(userId) ?? `User ${userId.slice(0, 8)}`
const metrics = () => Object.fromEntries((state.catalog?.metrics ?? []).map((m) => [m.id, m]))

const boards = new Boards({ call: (a, f) => call(a, f), me: () => state.user, name, metrics, onUser: showUser })
const social = new Social({
  call: (a, f) => call(a, f),
  me: () => state.user,
  name,
  earned: () => (state.list ? state.list.badges.filter((b) => b.earned) : []),
  onUser: showUser,
  onInbox: (unread) => {
    $('unread').textContent = String(unread)
  },
})

async function showUser(userId) {
  selectTab('community')
  await Promise.all([social.showProfile(userId), social.showFeed()])
}

// ----- the signed-in user's own state ---------------------------------------------------------

let refreshes = 0

// Whether this refresh is still the latest: its screens were drawn.
async function refreshMe() {
  // Two actions (or an action and a tab) in quick succession refresh twice: the answers of the
  // later refresh (read after both) win, whichever arrives last.
  const refresh = ++refreshes
  const [list, level, inbox] = await Promise.all([
    call('list'),
    call('current_level'),
    call('notifications', { limit: 20 }),
  ])
  if (refresh !== refreshes) return false
  if (list) {
    state.list = list
    renderModal(list, list.hidden_count, metrics(), state.catalog?.leaderboards ?? [])
    renderNext(list.next)
  }
  if (level) renderLevel(level, metrics())
  if (inbox) social.renderInbox(inbox)
  return true
}

async function refreshView() {
  const views = {
    home: () => null,
    boards: () => boards.show(),
    community: () => Promise.all([social.showProfile(social.viewed ?? state.user), social.showFeed()]),
    inbox: () => null,
  }
  // The tab's view after the user's own state: the showcase editor lists the earned badges.
  if (await refreshMe()) await views[state.tab]()
}

// ----- actions ----------------------------------------------------------------------------------

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`
const ACTIONS = {
  journey: () => ['track', { metric: 'journey_entry' }, (a) => `Journey entries logged: ${a.total}.`],
  like: () => ['track', { metric: 'interaction' }, (a) => `Interactions: ${a.total}.`],
  share: () => ['award', { badge_id: shareBadge() }, (a) => (a.awarded ? 'Shared with the community.' : 'Shared again.')],
  activity: () => [
    'record_activity',
    { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone },
    (a) => `Today is recorded: current streak ${plural(a.current_streak, 'day', 'days')}.`,
  ],
  'quiz-right': () => quiz(true),
  'quiz-wrong': () => quiz(false),
}

function quiz(right) {
  return [
    'record_score',
    { provider_id: $('quiz-provider').value, quiz_correct: right },
    (a) => `${right ? 'Right' : 'Wrong'} answer recorded: ${a.correct_providers} of ${a.total_providers} topics answered right.`,
  ]
}

const shareBadge = () => state.catalog?.badges.find((b) => b.rule === 'client')?.id

async function act(kind) {
  const [action, fields, say] = ACTIONS[kind]()
  const answer = await call(action, fields, () => act(kind))
  if (!answer) return
  $('act-result').textContent = say(answer)
  const awarded = Array.isArray(answer.awarded) ? answer.awarded : answer.awarded ? [answer.badge.id] : []
  await refreshView()
  for (const id of awarded) {
    const badge = state.list?.badges.find((b) => b.id === id)
    toast(`You earned ${badge ? `${badge.icon} ${badge.name}` : id}!`)
  }
}

// ----- signing in ------------------------------------------------------------------------------

async function choose(value) {
  if (!value) return
  const userId = value === NEW_USER ? crypto.randomUUID() : value
  if (value === NEW_USER) {
    state.people.set(userId, `New user ${userId.slice(0, 4)}`)
    $('user-picker').append(new Option(name(userId), userId))
    $('user-picker').value = userId
  }
  state.user = userId
  social.viewed = null
  if (!(await renewToken(3600, () => choose(userId)))) return
  const catalog = await call('catalog', {}, () => choose(userId))
  if (!catalog) return
  state.catalog = catalog
  $('quiz-provider').replaceChildren(...catalog.providers.map((p) => new Option(p.name, p.id)))
  document.querySelector('fieldset.quiz').hidden = catalog.providers.length === 0
  document.querySelector('[data-act="share"]').hidden = !shareBadge()
  boards.setBoards(boardsOf(catalog))
  social.setPeople([...state.people].map(([id, n]) => ({ id, name: n })))
  $('signed-out').hidden = true
  $('app').hidden = false
  $('demo-controls').hidden = false
  $('open-badges').disabled = false
  $('open-inbox').disabled = false
  await refreshView()
  document.body.dataset.ready = userId // for the browser tests: this user's screens are drawn
}

// ----- tabs (the ARIA tabs pattern: arrow keys move between them) -------------------------

const TABS = ['home', 'boards', 'community', 'inbox']

function selectTab(tab, focus = false) {
  state.tab = tab
  for (const t of TABS) {
    const button = $(`tab-${t}`)
    button.setAttribute('aria-selected', String(t === tab))
    button.tabIndex = t === tab ? 0 : -1
    $(`panel-${t}`).hidden = t !== tab
  }
  if (focus) $(`tab-${tab}`).focus()
}

async function openTab(tab, focus = false) {
  selectTab(tab, focus)
  await refreshView()
}

function wire() {
  $('user-picker').addEventListener('change', (e) => choose(e.target.value))
  for (const tab of TABS) {
    $(`tab-${tab}`).addEventListener('click', () => openTab(tab))
    $(`tab-${tab}`).addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key]
      if (!step) return
      e.preventDefault()
      openTab(TABS[(TABS.indexOf(tab) + step + TABS.length) % TABS.length], true)
    })
  }
  for (const button of document.querySelectorAll('[data-act]')) {
    button.addEventListener('click', () => act(button.dataset.act))
  }
  $('open-badges').addEventListener('click', () => $('badges-dialog').showModal())
  $('close-badges').addEventListener('click', () => $('badges-dialog').close())
  $('open-inbox').addEventListener('click', () => openTab('inbox', true))
  $('expire').addEventListener('click', async () => {
    if (await renewToken(-60)) toast('Your session has expired: the next call will be refused.')
  })
}

async function start() {
  wire()
  try {
    state.config = await demoConfig()
  } catch {
    showBanner('down', 'Cannot reach the demo server.', { label: 'Retry', run: () => location.reload() })
    return
  }
  for (const user of state.config.users) {
    state.people.set(user.id, user.name)
    $('user-picker').append(new Option(user.name, user.id))
  }
  $('user-picker').append(new Option('A new user', NEW_USER))
  document.body.dataset.started = 'true'
  const wanted = new URLSearchParams(location.search).get('user')
  if (wanted && state.people.has(wanted)) {
    $('user-picker').value = wanted
    await choose(wanted)
  }
}

start()
