// Runs the JavaScript recipes of docs/clients.md against a served function, for
// tests/endpoint/test_client_recipes.py: `node driver.mjs <folder of the extracted recipes>`, with
// RECIPE_INPUT = {"url": …, "users": {name: {"id": …, "tokens": [access tokens in the order the
// fake Supabase Auth hands them out]}}}. Prints one JSON object of what happened; the test asserts.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

import { createClient } from '@supabase/supabase-js'

const folder = process.argv[2]
const recipe = (name) => import(pathToFileURL(join(folder, name)).href)
const { BadgesError } = await recipe('badges-errors.js')
const { invokeBadges, callBadges, routeBadges } = await recipe('badges.js')
const { fetchBadges } = await recipe('badges-fetch.js')

const { url, users } = JSON.parse(process.env.RECIPE_INPUT)
const realFetch = (...args) => fetch(...args)

// Supabase Auth, faked: every /auth/v1/token call (sign-in, refresh) hands out the user's next
// access token; anything else goes to the network.
function fakeAuth(user, baseFetch = realFetch) {
  const grants = []
  const authFetch = async (input, init) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const target = new URL(href)
    if (!target.pathname.startsWith('/auth/v1/')) return baseFetch(input, init)
    if (target.pathname !== '/auth/v1/token') {
      return Response.json({ msg: 'not faked' }, { status: 404 })
    }
    grants.push(target.searchParams.get('grant_type'))
    const token = user.tokens[Math.min(grants.length, user.tokens.length) - 1]
    return Response.json({
      access_token: token,
      token_type: 'bearer',
      expires_in: 3600, // what Supabase Auth says, whatever the token's own exp
      refresh_token: `refresh-${grants.length}`,
      user: {
        id: user.id,
        aud: 'authenticated',
        role: 'authenticated',
        email: 'ada@example.com',
        app_metadata: { provider: 'email', providers: ['email'] },
        user_metadata: {},
        created_at: '2026-01-01T00:00:00Z',
      },
    })
  }
  return { authFetch, grants }
}

// What a call came to: its answer, or the fields of the BadgesError it threw.
async function outcome(call) {
  try {
    return { answer: await call() }
  } catch (e) {
    if (!(e instanceof BadgesError)) throw e
    const { name, status, code, message, details, retryAfter } = e
    return { error: { name, status, code, message, details, retryAfter } }
  }
}

const signIn = (supabase) =>
  supabase.auth.signInWithPassword({ email: 'ada@example.com', password: 'not checked' })
const award = { action: 'award', badge_id: 'social_sharer' }
const out = {}

// Locally: the client on the served URL; a session whose first token the function refuses.
{
  const auth = fakeAuth(users.ada)
  const supabase = createClient(url, 'local-anon-key', { global: { fetch: auth.authFetch } })
  const { error } = await signIn(supabase)
  if (error) throw error
  out.expired = await outcome(() => invokeBadges(supabase, { action: 'list' }))
  out.listed = await outcome(() => callBadges(supabase, { action: 'list' }))
  out.grants = [...auth.grants]
  out.first = await outcome(() => callBadges(supabase, award))
  out.again = await outcome(() => callBadges(supabase, award))
  out.listedAfter = await outcome(() => callBadges(supabase, { action: 'list' }))
  out.unknown = await outcome(() => callBadges(supabase, { action: 'fly' }))
}

// In production: a client on a Supabase project, the badges calls routed to the function's URL.
{
  const supabaseUrl = 'https://abcdefghijklmnopqrst.supabase.co'
  const auth = fakeAuth(users.bob)
  const supabase = createClient(supabaseUrl, 'sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH', {
    global: { fetch: routeBadges(supabaseUrl, url, auth.authFetch) },
  })
  const { error } = await signIn(supabase)
  if (error) throw error
  out.writes = []
  for (let i = 0; i < 20; i += 1) {
    const result = await outcome(() => invokeBadges(supabase, award))
    out.writes.push(result.answer ? 'ok' : result.error.code)
    if (result.error) {
      out.limited = result
      break
    }
  }
  const started = Date.now()
  out.retried = await outcome(() => callBadges(supabase, award))
  out.retriedAfterMs = Date.now() - started
}

// A script against `make run` with a token of `badges token` (the accessToken option).
{
  const supabase = createClient(url, 'any-key', { accessToken: async () => users.cy.tokens[0] })
  out.script = await outcome(() => invokeBadges(supabase, { action: 'list' }))
}

// Plain fetch, on the path a Supabase client uses and on the root.
{
  const token = users.ada.tokens.at(-1)
  out.fetched = await outcome(() =>
    fetchBadges(`${url}/functions/v1/badges`, token, { action: 'list' }),
  )
  out.fetchForbidden = await outcome(() =>
    fetchBadges(`${url}/`, token, { action: 'award', badge_id: 'streak_30d' }),
  )
}

console.log(JSON.stringify(out))
process.exit(0) // whatever timers the clients keep
