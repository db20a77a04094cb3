// The update agent as the daemon starts it: only when the box runs under the launcher (which says where the
// versions are and which one this is), with the release public key, the cloud credential when enrolled,
// the office's queue for the update lock, and its own /healthz for the proof. See README.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import got from 'got';
import type { Logger } from 'pino';
import type { BoxConfig } from '../config/schema.js';
import type { QueueState } from '../engine/index.js';
import { platformOfThisMachine, publicKeyFrom } from '../release/verify.js';
import { credentialPath, readCredential } from '../uplink/credential.js';
import { UpdateAgent } from './agent.js';
import { cloudReportPost } from './reports.js';

export { UpdateAgent } from './agent.js';
export type { UpdateAgentOptions, UpdateStep, UpdateView } from './agent.js';

/** Where the installer puts the release public key. */
export const RELEASE_KEY_FILE = '/etc/motcua-lobby/release-key.pub.pem';

export interface UpdateEnvironment {
  /** LOBBY_RELEASE_ROOT: /opt/motcua-lobby. */
  root: string;
  /** LOBBY_RELEASE_VERSION: the version the launcher started. */
  version: string;
  /** LOBBY_UPDATE_DIR: the agent's folder (default <data dir>/update). */
  dir: string;
  /** LOBBY_RELEASE_KEY: the public key file. */
  keyFile: string;
  /** LOBBY_UPDATE_TRIAL_SECONDS: how long a new version proves itself (default UPDATE_TRIAL_SECONDS). */
  trialSeconds?: number;
}

/** The launcher's environment, or null when the box was started some other way (no updates then). */
export function updateEnvironment(dataDir: string, env = process.env): UpdateEnvironment | null {
  if (!env.LOBBY_RELEASE_ROOT || !env.LOBBY_RELEASE_VERSION) return null;
  return {
    root: env.LOBBY_RELEASE_ROOT,
    version: env.LOBBY_RELEASE_VERSION,
    dir: env.LOBBY_UPDATE_DIR ?? join(dataDir, 'update'),
    keyFile: env.LOBBY_RELEASE_KEY ?? RELEASE_KEY_FILE,
    ...(Number(env.LOBBY_UPDATE_TRIAL_SECONDS) > 0
      ? { trialSeconds: Number(env.LOBBY_UPDATE_TRIAL_SECONDS) }
      : {}),
  };
}

function loadKey(file: string, log: Logger): KeyObject | null {
  try {
    return publicKeyFrom(readFileSync(file));
  } catch (err) {
    log.warn({ file, err: (err as Error).message }, 'update: no release key: every update will be refused');
    return null;
  }
}

export function startUpdateAgent(o: {
  env: UpdateEnvironment;
  dataDir: string;
  config: () => BoxConfig;
  state: () => QueueState;
  httpPort: number;
  restart: () => Promise<void>;
  log: Logger;
}): UpdateAgent {
  const credential = () => {
    const cfg = o.config();
    if (!cfg.cloud) return null;
    const c = readCredential(credentialPath(cfg, o.dataDir));
    return c ? { url: cfg.cloud.url ?? c.cloudUrl, boxId: c.boxId, secret: c.secret } : null;
  };
  const enrolled = credential();
  const agent = new UpdateAgent({
    paths: { root: o.env.root, dir: o.env.dir },
    running: o.env.version,
    platform: platformOfThisMachine(),
    publicKey: loadKey(o.env.keyFile, o.log),
    cloud: credential,
    post: enrolled
      ? cloudReportPost({
          cloudUrl: () => credential()?.url ?? enrolled.url,
          boxId: enrolled.boxId,
          secret: enrolled.secret,
        })
      : null,
    office: () => ({ config: o.config(), state: o.state() }),
    healthy: async () => {
      const res = await got.get(`http://127.0.0.1:${o.httpPort}/healthz`, {
        throwHttpErrors: false,
        retry: { limit: 0 },
        timeout: { request: 5000 },
        responseType: 'json',
      });
      return res.statusCode === 200 && (res.body as { status?: string }).status === 'ok';
    },
    restart: o.restart,
    log: o.log,
    ...(o.env.trialSeconds ? { trialSeconds: o.env.trialSeconds } : {}),
  });
  agent.start();
  return agent;
}
