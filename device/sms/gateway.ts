// The office's HTTP SMS gateway (the province's own; no vendor is built in): each message is one JSON POST,
// `{"<to>": number, "<text>": text}` with the configured field names, the Authorization header read from a file,
// and `x-lobby-message-id` the same on every retry (a gateway may de-duplicate). got retries a POST only when
// told to: here on network errors, 408, 429 and 5xx, SMS_SEND_ATTEMPTS in all. An error names the status, never
// the number or the text.
import { readFile } from 'node:fs/promises';
import got, { HTTPError } from 'got';
import type { SmsConfig } from '../../protocol/config/schema.js';
import { SMS_SEND_ATTEMPTS, SMS_SEND_TIMEOUT_MS } from '../../protocol/limits.js';
import type { SmsMessage, SmsSend } from './notifier.js';

export function httpSmsGateway(
  config: () => SmsConfig | undefined,
  opts: { retryBaseMs?: number } = {},
): SmsSend {
  return async (m: SmsMessage) => {
    const sms = config();
    if (!sms) throw new Error('no sms section in the config');
    const authorization = sms.authorizationFile
      ? (await readFile(sms.authorizationFile, 'utf8')).trim()
      : undefined;
    try {
      await got.post(sms.gatewayUrl, {
        json: { [sms.fields.to]: m.to, [sms.fields.text]: m.text },
        headers: {
          'x-lobby-message-id': m.id,
          ...(authorization ? { authorization } : {}),
        },
        timeout: { request: SMS_SEND_TIMEOUT_MS },
        followRedirect: false,
        retry: {
          limit: SMS_SEND_ATTEMPTS - 1,
          methods: ['POST'],
          statusCodes: [408, 429, 500, 502, 503, 504],
          calculateDelay: ({ attemptCount, computedValue }) =>
            computedValue === 0 ? 0 : (opts.retryBaseMs ?? 1_000) * 2 ** (attemptCount - 1),
        },
      });
    } catch (err) {
      // got's errors carry the request options (the body with the number): keep only what says why.
      if (err instanceof HTTPError) throw new Error(`the gateway answered ${err.response.statusCode}`);
      throw new Error(`the gateway could not be reached (${(err as { code?: string }).code ?? 'error'})`);
    }
  };
}
