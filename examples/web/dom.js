// Small DOM helpers: every text goes in through textContent, never as HTML.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue
    if (name === 'class') node.className = value
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value)
    else node.setAttribute(name, value === true ? '' : value)
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return node
}

export function icon(symbol) {
  return el('span', { class: 'icon', 'aria-hidden': 'true' }, symbol)
}

// A progress bar with its figures in words for screen readers.
export function bar(current, target, label) {
  const percent = target > 0 ? Math.min(100, Math.round((current / target) * 100)) : 0
  return el(
    'div',
    {
      class: 'bar',
      role: 'progressbar',
      'aria-label': label,
      'aria-valuemin': 0,
      'aria-valuemax': target,
      'aria-valuenow': current,
    },
    el('span', { style: `width: ${percent}%` }),
  )
}

export function date(iso) {
  return el(
    'time',
    { datetime: iso },
    new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' }),
  )
}

export function ago(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000)
  const [size, unit] =
    seconds < 60 ? [1, 'second'] : seconds < 3600 ? [60, 'minute'] : seconds < 86400 ? [3600, 'hour'] : [86400, 'day']
  const count = Math.floor(seconds / size)
  const text = unit === 'second' ? 'just now' : `${count} ${unit}${count === 1 ? '' : 's'} ago`
  return el('time', { datetime: iso, title: new Date(iso).toLocaleString('en-GB') }, text)
}

export function percent(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, '')
}
