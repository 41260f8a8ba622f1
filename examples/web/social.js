// The social screens: any user's profile and showcase (and editing one's own), the feed of
// recent awards, and the inbox with its unread count and mark-as-read.
import { ago, date, el, icon } from './dom.js'

const SHOWCASE_MAX = 5

// ctx: {call(action, fields), me(), name(userId), earned(), onUser(userId), onInbox(unread)}
export class Social {
  constructor(ctx) {
    this.ctx = ctx
    this.viewed = null
    this.profileRequests = 0
    document.getElementById('profile-picker').addEventListener('change', (event) => {
      this.showProfile(event.target.value)
    })
    document.getElementById('mark-all').addEventListener('click', () => this.markRead({ all: true }))
  }

  setPeople(people) {
    const options = people.map((p) => el('option', { value: p.id }, p.id === this.ctx.me() ? `${p.name} (you)` : p.name))
    document.getElementById('profile-picker').replaceChildren(...options)
  }

  async showProfile(userId) {
    this.viewed = userId
    document.getElementById('profile-picker').value = userId
    // Only the latest request draws: the tab's refresh may still be reading the user's own
    // profile when another is picked, and its answer must not replace the one picked.
    const request = ++this.profileRequests
    const profile = await this.ctx.call('profile', { user_id: userId, limit: 20 })
    if (!profile || request !== this.profileRequests) return
    const own = userId === this.ctx.me()
    const badgeItem = (item) =>
      el('li', { 'data-badge': item.badge.id }, icon(item.badge.icon), ' ', item.badge.name, ' · ', date(item.earned_at))
    document.getElementById('profile').replaceChildren(
      el('h3', { id: 'profile-name' }, this.ctx.name(userId), own ? ' (you)' : ''),
      el('p', {}, `Level: ${profile.level ? profile.level.name : 'none yet'} · ${profile.badge_count} badges`),
      el('h4', {}, 'Showcase'),
      profile.showcase.length
        ? el('ul', { class: 'showcase' }, profile.showcase.map(badgeItem))
        : el('p', { class: 'empty' }, 'Nothing pinned yet.'),
      own ? this.showcaseEditor(profile) : null,
      el('h4', {}, 'Badges earned'),
      profile.badges.length
        ? el('ul', { class: 'earned-list' }, profile.badges.map(badgeItem))
        : el('p', { class: 'empty' }, 'No badges yet.'),
    )
  }

  showcaseEditor(profile) {
    const pinned = new Set(profile.showcase.map((s) => s.badge.id))
    const boxes = this.ctx.earned().map((b) =>
      el('label', { class: 'pin' }, el('input', { type: 'checkbox', value: b.id, checked: pinned.has(b.id) }), ' ', icon(b.icon), ' ', b.name),
    )
    const save = el('button', { type: 'button', class: 'write', onclick: () => this.saveShowcase(form) }, 'Save showcase')
    const form = el(
      'fieldset',
      { class: 'pins' },
      el('legend', {}, `Pin up to ${SHOWCASE_MAX} badges to your profile`),
      boxes.length ? boxes : el('p', {}, 'Earn a badge to pin it here.'),
      boxes.length ? save : null,
    )
    return form
  }

  async saveShowcase(form) {
    const ids = [...form.querySelectorAll('input:checked')].map((box) => box.value)
    if (ids.length > SHOWCASE_MAX) {
      form.append(el('p', { class: 'error', role: 'alert' }, `Pick at most ${SHOWCASE_MAX} badges.`))
      return
    }
    if (await this.ctx.call('showcase', { badge_ids: ids })) await this.showProfile(this.ctx.me())
  }

  async showFeed() {
    const feed = await this.ctx.call('feed', { limit: 20 })
    if (!feed) return
    const items = feed.entries.map((e) =>
      el(
        'li',
        {},
        icon('🎉'),
        ' ',
        el('button', { type: 'button', class: 'link', onclick: () => this.ctx.onUser(e.user_id) }, this.ctx.name(e.user_id)),
        ` earned ${e.badge.icon} ${e.badge.name} · `,
        ago(e.earned_at),
      ),
    )
    document.getElementById('feed').replaceChildren(...(items.length ? items : [el('li', {}, 'Nothing yet.')]))
  }

  async showInbox() {
    const inbox = await this.ctx.call('notifications', { limit: 20 })
    if (!inbox) return
    this.renderInbox(inbox)
  }

  renderInbox(inbox) {
    this.ctx.onInbox(inbox.unread_count)
    document.getElementById('inbox-summary').textContent =
      inbox.unread_count === 1 ? '1 unread message' : `${inbox.unread_count} unread messages`
    document.getElementById('mark-all').disabled = inbox.unread_count === 0
    const items = inbox.notifications.map((n) =>
      el(
        'li',
        { class: n.read ? 'read' : 'unread', 'data-id': n.id },
        el('p', {}, n.read ? '' : el('span', { class: 'dot' }, 'New: '), n.message),
        el('p', { class: 'hint' }, ago(n.created_at)),
        n.read ? null : el('button', { type: 'button', onclick: () => this.markRead({ ids: [n.id] }) }, 'Mark as read'),
      ),
    )
    document.getElementById('inbox').replaceChildren(...(items.length ? items : [el('li', {}, 'No messages yet.')]))
  }

  async markRead(which) {
    if (await this.ctx.call('mark_notifications_read', which)) await this.showInbox()
  }
}
