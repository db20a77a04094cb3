// A tiny element builder: screens are small enough that plain DOM stays readable.
type Child = Node | string | number | null | undefined | false;

export interface ElOptions {
  class?: string;
  text?: string | number;
  attrs?: Record<string, string>;
  on?: Partial<Record<keyof HTMLElementEventMap, (e: Event) => void>>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  opts: ElOptions | string = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const o: ElOptions = typeof opts === 'string' ? { class: opts } : opts;
  if (o.class) node.className = o.class;
  if (o.text !== undefined) node.textContent = String(o.text);
  for (const [k, v] of Object.entries(o.attrs ?? {})) node.setAttribute(k, v);
  for (const [k, fn] of Object.entries(o.on ?? {})) if (fn) node.addEventListener(k, fn);
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c as Node | string);
  return node;
}

/** Replaces an element's children. */
export function fill(node: Element, ...children: Child[]): void {
  node.replaceChildren(
    ...children
      .filter((c): c is Node | string => c !== null && c !== undefined && c !== false)
      .map((c) => (typeof c === 'number' ? String(c) : c)),
  );
}

/**
 * Runs a re-render that may move the focused input (moving an element out of the document blurs it) and
 * gives it its focus and caret back, so a clerk typing a dossier code is not interrupted by an update.
 */
export function keepFocus(render: () => void): void {
  const active = document.activeElement;
  const input = active instanceof HTMLInputElement ? active : null;
  const caret = input ? ([input.selectionStart, input.selectionEnd] as const) : null;
  render();
  if (
    active instanceof HTMLElement &&
    active !== document.body &&
    active.isConnected &&
    document.activeElement !== active
  ) {
    active.focus();
    // Some input types (number, email) have no caret to restore.
    if (input && caret && caret[0] !== null) input.setSelectionRange(caret[0], caret[1]);
  }
}
