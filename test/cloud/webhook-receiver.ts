// A webhook receiver as a province would write one, for the fleet health tests: it verifies each request's
// HMAC-SHA256 signature over `${timestamp}.${body}` with its copy of the secret and a 300 s window.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  body: string;
  headers: IncomingMessage['headers'];
  valid: boolean;
  at: number;
}

/** Answers each request as `answer(n)` says (n counts from 0); a bad signature is answered 401. */
export async function receiver(answer: (n: number) => 'ok' | 500 | 'hang' = () => 'ok') {
  const got: Received[] = [];
  let secret = '';
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const ts = String(req.headers['x-lobby-timestamp']);
      const sig = Buffer.from(String(req.headers['x-lobby-signature']), 'hex');
      const expected = createHmac('sha256', secret).update(`${ts}.${body}`).digest();
      const fresh = Math.abs(Date.now() / 1000 - Number(ts)) <= 300;
      const valid = fresh && sig.length === expected.length && timingSafeEqual(sig, expected);
      got.push({ body, headers: req.headers, valid, at: Date.now() });
      const a = answer(n++);
      if (a === 'hang') return; // never answers: the cloud's timeout ends the attempt
      if (!valid) return res.writeHead(401).end('bad signature');
      res.writeHead(a === 'ok' ? 204 : a).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/lobby`,
    got,
    setSecret: (s: string) => (secret = s),
    close: () => new Promise<void>((r) => server.close(() => r())).then(() => server.closeAllConnections()),
  };
}
