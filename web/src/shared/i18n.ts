// Vietnamese first; English by the toggle on each screen or `?lang=en`, remembered by the browser.
export type Lang = 'vi' | 'en';
export interface Bilingual {
  vi: string;
  en: string;
}

const KEY = 'lobby.lang';
let lang: Lang = initialLang();
const listeners: (() => void)[] = [];

function initialLang(): Lang {
  const q = new URLSearchParams(location.search).get('lang');
  if (q === 'en' || q === 'vi') {
    localStorage.setItem(KEY, q);
    return q;
  }
  return localStorage.getItem(KEY) === 'en' ? 'en' : 'vi';
}

export const currentLang = (): Lang => lang;

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(KEY, next);
  document.documentElement.lang = next;
  for (const fn of listeners) fn();
}

export function onLangChange(fn: () => void): void {
  listeners.push(fn);
}

/** Picks the current language from a {vi, en} pair. */
export const pick = (b: Bilingual): string => b[lang];

/** A screen's dictionary: `t('key', {n: 3})` fills `{n}`. */
export function dictionary<K extends string>(entries: Record<K, Bilingual>) {
  return (key: K, params: Record<string, string | number> = {}): string =>
    entries[key][lang].replace(/\{(\w+)\}/g, (_m, p: string) => String(params[p] ?? `{${p}}`));
}

/** The language button: shows the other language's name. */
export function langToggle(): HTMLButtonElement {
  const b = document.createElement('button');
  b.className = 'lang-toggle';
  const label = () => (b.textContent = lang === 'vi' ? 'English' : 'Tiếng Việt');
  label();
  b.addEventListener('click', () => setLang(lang === 'vi' ? 'en' : 'vi'));
  onLangChange(label);
  return b;
}

document.documentElement.lang = lang;
