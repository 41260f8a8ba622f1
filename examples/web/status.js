// What the page says about itself: a banner for errors (with its one action), a countdown while
// the server asks to wait, and toasts for new badges.
const banner = document.getElementById('banner')
const bannerText = document.getElementById('banner-text')
const bannerAction = document.getElementById('banner-action')
const toasts = document.getElementById('toasts')

let countdown = null

// A message, and optionally a button: {label, run}. kind names it for styling and tests.
export function showBanner(kind, text, action = null) {
  stopCountdown()
  banner.dataset.kind = kind
  bannerText.textContent = text
  bannerAction.hidden = !action
  bannerAction.onclick = null
  if (action) {
    bannerAction.textContent = action.label
    bannerAction.onclick = () => action.run()
  }
  banner.hidden = false
}

export function hideBanner(kind = null) {
  if (kind && banner.dataset.kind !== kind) return
  stopCountdown()
  banner.hidden = true
  delete banner.dataset.kind
}

// Counts seconds down in the banner, with every write button disabled until it ends: the
// server said (Retry-After) that a write before then would be refused again.
export function waitOut(kind, seconds, sentence) {
  showBanner(kind, sentence(seconds))
  setWritesEnabled(false)
  let left = seconds
  countdown = setInterval(() => {
    left -= 1
    if (left > 0) {
      bannerText.textContent = sentence(left)
      return
    }
    hideBanner()
  }, 1000)
}

function stopCountdown() {
  if (countdown === null) return
  clearInterval(countdown)
  countdown = null
  setWritesEnabled(true)
}

export function waiting() {
  return countdown !== null
}

function setWritesEnabled(enabled) {
  for (const button of document.querySelectorAll('button.write')) button.disabled = !enabled
}

export function toast(text) {
  const item = document.createElement('p')
  item.className = 'toast'
  item.textContent = text
  toasts.append(item)
  setTimeout(() => item.remove(), 8000)
}
