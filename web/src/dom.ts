// A tiny element builder: enough for tables and cards without a framework.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined>;

/**
 * Creates an element. Attributes with `null`/`undefined`/`false` values are
 * left out, `true` sets an empty attribute; strings become text nodes (never HTML).
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Array<Child | Child[]>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A coloured badge for a severity or a status; the class carries the colour. */
export function badge(kind: 'severity' | 'status', value: string): HTMLSpanElement {
  return h('span', { class: `badge ${kind} ${kind}-${value}`, title: `${kind}: ${value}` }, value);
}

/** Text in which `backticked` parts become <code>, as in the server's messages. */
export function withCode(text: string): Array<Node | string> {
  return text.split('`').map((part, i) => (i % 2 === 1 ? h('code', {}, part) : part));
}

/** A box that shows an error message and, when there is one, what to do about it. */
export function errorBox(message: string, hint?: string, code?: string): HTMLDivElement {
  return h(
    'div',
    { class: 'error-box', role: 'alert', 'data-testid': 'error' },
    h('p', { class: 'error-message' }, ...withCode(message)),
    hint ? h('p', { class: 'error-hint' }, ...withCode(hint)) : null,
    code ? h('p', { class: 'error-code' }, `code: ${code}`) : null,
  );
}
