// The box's cloud credential. It lives in its own file (default <data-dir>/cloud-credential.json, mode 0600,
// owned by the box user), not in the config: the config is copied, edited and shown to people; the data
// directory is the box's alone. The cloud keeps only a scrypt hash of the secret.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import got from 'got';
import { parseDocument } from 'yaml';
import { EnrollResponse, isValid, type EnrollRequest } from '../../protocol/index.js';
import { validateConfig } from '../config/load.js';
import type { BoxConfig } from '../config/schema.js';

export interface BoxCredential {
  cloudUrl: string;
  boxId: string;
  officeId: string;
  secret: string;
  enrolledAt: string;
}

export const credentialPath = (cfg: BoxConfig, dataDir: string): string =>
  cfg.cloud?.credentialFile ?? join(dataDir, 'cloud-credential.json');

export function readCredential(file: string): BoxCredential | null {
  if (!existsSync(file)) return null;
  const c = JSON.parse(readFileSync(file, 'utf8')) as BoxCredential;
  if (!c.boxId || !c.secret) throw new Error(`${file}: not a box credential (boxId, secret)`);
  return c;
}

/** True when group or others may read the file (the box warns: the credential should be 0600). */
export function credentialTooOpen(file: string): boolean {
  return (statSync(file).mode & 0o077) !== 0;
}

export function writeCredential(file: string, c: BoxCredential): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(c, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/**
 * Enrolls the box: exchanges a claim code (from a cloud admin) for the box credential, writes it (0600), and
 * adds the `cloud` section (and the ticket QR base URL, if unset) to the config file.
 */
export async function enrollBox(opts: {
  configFile: string;
  dataDir: string;
  cloudUrl: string;
  claimCode: string;
}): Promise<BoxCredential> {
  const cloudUrl = opts.cloudUrl.replace(/\/+$/, '');
  const text = readFileSync(opts.configFile, 'utf8');
  const isJson = opts.configFile.endsWith('.json');
  const cfg = validateConfig(isJson ? JSON.parse(text) : parseDocument(text).toJS(), opts.configFile);
  const credential = await requestEnrollment(cloudUrl, {
    claimCode: opts.claimCode,
    officeId: cfg.office.id,
  });
  writeCredential(credentialPath(cfg, opts.dataDir), credential);
  setCloudSection(opts.configFile, cloudUrl);
  return credential;
}

/**
 * Exchanges a claim code for the box credential (POST /api/v1/enroll). Without `officeId` (a new box with no
 * config yet), the claim names the office.
 */
export async function requestEnrollment(cloudUrl: string, body: EnrollRequest): Promise<BoxCredential> {
  const res = await got.post(`${cloudUrl}/api/v1/enroll`, {
    json: body,
    throwHttpErrors: false,
    responseType: 'json',
    timeout: { request: 30_000 },
    retry: { limit: 3, methods: ['POST'] }, // enrollment is single-use: a retry after success gets claim_invalid
  });
  const answer = res.body as unknown;
  if (res.statusCode !== 200 || !isValid(EnrollResponse, answer)) {
    const e = answer as { code?: string; message?: string } | undefined;
    throw new EnrollmentRefused(
      res.statusCode,
      e?.code ?? '',
      `enrollment refused (${res.statusCode} ${e?.code ?? ''}): ${e?.message ?? String(answer)}`,
    );
  }
  return {
    cloudUrl,
    boxId: answer.boxId,
    officeId: answer.officeId,
    secret: answer.secret,
    enrolledAt: new Date().toISOString(),
  };
}

export class EnrollmentRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EnrollmentRefused';
  }
}

/** Sets `cloud.url` (keeping other cloud settings) and `office.publicUrl` when missing; atomic write. */
export function setCloudSection(configFile: string, cloudUrl: string): void {
  const text = readFileSync(configFile, 'utf8');
  let out: string;
  if (configFile.endsWith('.json')) {
    const obj = JSON.parse(text) as { cloud?: Record<string, unknown>; office: Record<string, unknown> };
    obj.cloud = { ...obj.cloud, url: cloudUrl };
    obj.office.publicUrl ??= cloudUrl;
    out = JSON.stringify(obj, null, 2) + '\n';
  } else {
    const doc = parseDocument(text);
    doc.setIn(['cloud', 'url'], cloudUrl);
    if (!doc.hasIn(['office', 'publicUrl'])) doc.setIn(['office', 'publicUrl'], cloudUrl);
    out = doc.toString();
  }
  validateConfig(configFile.endsWith('.json') ? JSON.parse(out) : parseDocument(out).toJS(), configFile);
  const tmp = `${configFile}.tmp`;
  writeFileSync(tmp, out, { mode: statSync(configFile).mode & 0o777 });
  renameSync(tmp, configFile);
}
