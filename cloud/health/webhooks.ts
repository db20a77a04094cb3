// Webhook delivery of alerts: an HTTPS POST of a JSON body, signed with HMAC-SHA256 over
// `${timestamp}.${body}` with the rule's secret, each attempt recorded. The queue that schedules attempts is
// pg-boss on PostgreSQL (delivery-queue.ts) or an in-process loop on SQLite; this file does one attempt.
import { createHmac } from 'node:crypto';
import type { Db } from '../db/database.js';
import { WEBHOOK_BODY_MAX_BYTES, WEBHOOK_URL_MAX_CHARS } from '../limits.js';
import { openSecret } from './secret-box.js';

/** The headers of a webhook request (the same names as the dossier API's HMAC_HEADERS where they overlap). */
export const WEBHOOK_HEADERS = {
  timestamp: 'x-lobby-timestamp',
  signature: 'x-lobby-signature',
  event: 'x-lobby-event',
  delivery: 'x-lobby-delivery',
} as const;

export const signWebhook = (secret: string, timestamp: string, body: string): string =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Why a webhook URL is refused, or null. http:// only for localhost, and only when the setting allows it. */
export function webhookUrlProblem(url: string, allowHttpLocalhost: boolean): string | null {
  if (url.length > WEBHOOK_URL_MAX_CHARS) return `the URL is longer than ${WEBHOOK_URL_MAX_CHARS} characters`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.username || u.password) return 'the URL must not carry a user name or password';
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && allowHttpLocalhost && LOCAL_HOSTS.has(u.hostname)) return null;
  return 'only https:// URLs are allowed';
}

export interface DeliverySettings {
  masterKey: Buffer;
  timeoutMs: number;
  maxAttempts: number;
  retryDelayMs: number;
  allowHttpLocalhost: boolean;
}

export type AttemptOutcome = 'delivered' | 'retry' | 'failed' | 'done';

/** The delay before attempt n+1 after n failed attempts: retryDelay × 2^(n-1). */
export const backoffMs = (retryDelayMs: number, failedAttempts: number): number =>
  retryDelayMs * 2 ** Math.max(0, Math.min(16, failedAttempts - 1));

/** The JSON body of a delivery: the alert as the admin API shows it, its detail cut to fit the cap. */
export function webhookBody(
  delivery: { id: string; event: string },
  alert: Record<string, unknown> & { detail: string | null },
): string {
  const body = (detail: string | null) =>
    JSON.stringify({ id: delivery.id, event: delivery.event, alert: { ...alert, detail } });
  let detail = alert.detail;
  let out = body(detail);
  while (Buffer.byteLength(out) > WEBHOOK_BODY_MAX_BYTES && detail) {
    detail = detail.slice(0, Math.floor(detail.length / 2));
    out = body(detail);
  }
  return out;
}

/**
 * One attempt of a pending delivery: POST, record the attempt (real time, status or error, duration), then
 * mark it delivered, failed (out of attempts) or due again after the backoff. Anything but a 2xx is a failure;
 * redirects are not followed.
 */
export async function attemptDelivery(
  db: Db,
  s: DeliverySettings,
  deliveryId: string,
): Promise<AttemptOutcome> {
  const d = await db
    .selectFrom('alert_deliveries')
    .innerJoin('alerts', 'alerts.id', 'alert_deliveries.alert_id')
    .innerJoin('alert_rules', 'alert_rules.id', 'alerts.rule_id')
    .select([
      'alert_deliveries.id',
      'alert_deliveries.event',
      'alert_deliveries.url',
      'alert_deliveries.state',
      'alert_deliveries.attempts',
      'alert_rules.id as rule_id',
      'alert_rules.webhook_secret',
      'alerts.id as alert_id',
      'alerts.kind',
      'alerts.unit_id',
      'alerts.box_id',
      'alerts.office_id',
      'alerts.device',
      'alerts.detail',
      'alerts.opened_at',
      'alerts.resolved_at',
    ])
    .where('alert_deliveries.id', '=', deliveryId)
    .executeTakeFirst();
  if (!d || d.state !== 'pending') return 'done';
  const iso = (t: number | null) => (t === null ? null : new Date(Number(t)).toISOString());
  const body = webhookBody(d, {
    id: d.alert_id,
    ruleId: d.rule_id,
    kind: d.kind,
    unitId: d.unit_id,
    boxId: d.box_id,
    officeId: d.office_id,
    device: d.device || null,
    detail: d.detail,
    openedAt: iso(d.opened_at),
    resolvedAt: iso(d.resolved_at),
  });
  const started = Date.now();
  let status: number | null = null;
  let error: string | null = null;
  try {
    if (!d.webhook_secret) throw new Error('the rule has no signing secret');
    const secret = openSecret(s.masterKey, d.rule_id, d.webhook_secret);
    const problem = webhookUrlProblem(d.url, s.allowHttpLocalhost);
    if (problem) throw new Error(problem);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const res = await fetch(d.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(s.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'motcua-lobby-cloud',
        [WEBHOOK_HEADERS.timestamp]: timestamp,
        [WEBHOOK_HEADERS.signature]: signWebhook(secret, timestamp, body),
        [WEBHOOK_HEADERS.event]: d.event,
        [WEBHOOK_HEADERS.delivery]: d.id,
      },
      body,
    });
    status = res.status;
    await res.body?.cancel().catch(() => undefined); // the answer's body is not ours to read
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    error =
      e.name === 'TimeoutError'
        ? `no answer within ${s.timeoutMs} ms`
        : (e.cause?.code ?? e.message).slice(0, 200);
  }
  const ended = Date.now();
  const ok = status !== null && status >= 200 && status < 300;
  const attempts = Number(d.attempts) + 1;
  await db
    .insertInto('alert_delivery_attempts')
    .values({ delivery_id: d.id, at: started, status, error, duration_ms: ended - started })
    .execute();
  const outcome: AttemptOutcome = ok ? 'delivered' : attempts >= s.maxAttempts ? 'failed' : 'retry';
  await db
    .updateTable('alert_deliveries')
    .set({
      attempts,
      state: outcome === 'retry' ? 'pending' : outcome,
      next_attempt_at: outcome === 'retry' ? ended + backoffMs(s.retryDelayMs, attempts) : null,
      done_at: outcome === 'retry' ? null : ended,
    })
    .where('id', '=', d.id)
    .where('state', '=', 'pending')
    .execute();
  return outcome;
}
