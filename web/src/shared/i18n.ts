// Vietnamese first; English by the toggle on each screen or `?lang=en`. Only the screens one person uses
// (clerk panel, admin page) remember the choice: a kiosk or a rating tablet serves the next citizen in
// Vietnamese, whatever the last one chose (and a reload never brings English back).
export type Lang = 'vi' | 'en';
export interface Bilingual {
  vi: string;
  en: string;
}

const KEY = 'lobby.lang';
const PERSONAL = ['/clerk', '/admin'];
const remembers = () => PERSONAL.includes(location.pathname);
let lang: Lang = initialLang();
const listeners: (() => void)[] = [];

function initialLang(): Lang {
  const q = new URLSearchParams(location.search).get('lang');
  if (q === 'en' || q === 'vi') {
    if (remembers()) localStorage.setItem(KEY, q);
    return q;
  }
  return remembers() && localStorage.getItem(KEY) === 'en' ? 'en' : 'vi';
}

export const currentLang = (): Lang => lang;

export function setLang(next: Lang): void {
  if (next === lang) return;
  lang = next;
  if (remembers()) localStorage.setItem(KEY, next);
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
