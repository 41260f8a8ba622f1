// The page's calls: the badges function through supabase-js's functions.invoke, exactly as an
// app calls it, and the demo server's sign-in (which a real app has from Supabase Auth).
import {
  createClient,
  FunctionsHttpError,
} from './vendor/supabase-js.js'

// The demo serves the function at <origin>/functions/v1/badges, where invoke('badges') posts.
// The key can be any string: the function reads the user from the Authorization header.
const supabase = createClient(location.origin, 'demo-anon-key', {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
})

// What went wrong, as the page handles it:
//   expired  401: the token was refused (sign in again)
//   limited  429: too many writes (wait retryAfter seconds)
//   busy     503: the database is unavailable (wait retryAfter seconds)
//   down     no answer at all: the server is down or unreachable
//   refused  any other error answer (shown as it is)
export class CallError extends Error {
  constructor(kind, message, { status = null, code = null, retryAfter = null } = {}) {
    super(message)
    this.name = 'CallError'
    this.kind = kind
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
}

const KINDS = { 401: 'expired', 429: 'limited', 503: 'busy' }

export async function call(token, action, fields = {}) {
  const { data, error } = await supabase.functions.invoke('badges', {
    body: { action, ...fields },
    headers: { Authorization: `Bearer ${token}` },
  })
  if (!error) return data
  if (!(error instanceof FunctionsHttpError)) {
    // FunctionsFetchError (fetch itself failed) or a relay error: no answer from the function.
    throw new CallError('down', 'The badges server cannot be reached.')
  }
  const response = error.context
  const body = await response.json().catch(() => null)
  const reason = body?.error ?? { code: `http_${response.status}`, message: response.statusText }
  const seconds = Number.parseInt(response.headers.get('Retry-After') ?? '', 10)
  throw new CallError(KINDS[response.status] ?? 'refused', reason.message, {
    status: response.status,
    code: reason.code,
    retryAfter: Number.isNaN(seconds) ? null : seconds,
  })
}

// The demo server's own routes (never part of the deployed function).
export async function demoConfig() {
  const response = await fetch('/demo/config')
  if (!response.ok) throw new CallError('down', 'The demo server cannot be reached.')
  return response.json()
}

export async function demoToken(userId, expiresIn = 3600) {
  let response
  try {
    response = await fetch('/demo/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: userId, expires_in: expiresIn }),
    })
  } catch {
    throw new CallError('down', 'The demo server cannot be reached.')
  }
  if (!response.ok) throw new CallError('refused', 'The demo server refused to sign in.')
  return (await response.json()).token
}
