// A paired screen's MQTT credential, kept by the browser. One per role, so one browser can be several screens
// (the demo opens all four in one window).
export type ScreenRole = 'display' | 'kiosk' | 'rating' | 'clerk-panel' | 'lookup';

export interface Credential {
  deviceId: string;
  role: ScreenRole;
  counter: number | null;
  secret: string;
}

const key = (role: ScreenRole) => `lobby.credential.${role}`;

export function loadCredential(role: ScreenRole): Credential | null {
  try {
    const c = JSON.parse(localStorage.getItem(key(role)) ?? 'null') as Credential | null;
    return c && c.role === role && typeof c.secret === 'string' ? c : null;
  } catch {
    return null;
  }
}

export function saveCredential(c: Credential): void {
  localStorage.setItem(key(c.role), JSON.stringify(c));
}

export function forgetCredential(role: ScreenRole): void {
  localStorage.removeItem(key(role));
}

/** HTTP Basic for the box's screen API: the same id and secret as the MQTT login. */
export function authHeader(c: Credential): string {
  const bytes = new TextEncoder().encode(`${c.deviceId}:${c.secret}`);
  return 'Basic ' + btoa(String.fromCharCode(...bytes));
}
