// The box's update agent (issue 12): takes the software target from the fleet poll, downloads the bundle in
// the background (resumed after a cut), checks it before unpacking anything, unpacks it next to the running
// version, switches inside the update window and never while a citizen is being served, and, once running
// as the new version, commits it after it proved itself. Going back on a failed proof is the launcher's job
// (deploy/lobby-launch.sh): a version that crashes before any of our JavaScript runs cannot roll itself back.
// Every step is written to state.json before it is acted on, so a power cut at any point resumes or undoes.
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import got, { type Got } from 'got';
import type { Logger } from 'pino';
import {
  UPDATE_REPORT_MAX_LOG_LINES,
  type SoftwareReport,
  type SoftwareTarget,
} from '../../protocol/fleet-updates.js';
import {
  UPDATE_BUNDLE_MAX_BYTES,
  UPDATE_MANIFEST_MAX_BYTES,
  UPDATE_START_GRACE_SECONDS,
  UPDATE_TRIAL_MAX_STARTS,
  UPDATE_TRIAL_SECONDS,
} from '../../protocol/limits.js';
import { boxToken } from '../../protocol/index.js';
import type { BoxConfig } from '../config/schema.js';
import type { QueueState } from '../engine/index.js';
import { PARTIAL_PREFIX, unpackVerified } from '../release/unpack.js';
import { BundleRefused, verifyBundle, verifyManifestFile } from '../release/verify.js';
import { backoffDelay } from '../uplink/uplink.js';
import { DownloadTooLarge, resumeDownload } from './download.js';
import {
  downloadDir,
  linkTarget,
  pointLink,
  readAgentState,
  readRollback,
  readTrial,
  removeDurably,
  rolledBackFile,
  tailLines,
  trialFile,
  trialStartsFile,
  trialTimeoutFile,
  versionDir,
  versionLog,
  writeAgentState,
  writeKeyValues,
  type AgentState,
  type RollbackRecord,
  type TrialMarker,
  type UpdatePaths,
} from './files.js';
import { ReportSender, type ReportPost } from './reports.js';
import { compareVersions } from './version-order.js';
import { switchRefusal } from './window.js';

/** Where a test may stop the agent dead (SIGKILL itself) to prove a power cut there is harmless. */
export type UpdateStep = 'downloading' | 'unpacking' | 'marker-written' | 'switched' | 'committing';

/** The update agent as /healthz shows it. */
export interface UpdateView {
  /** The version serving now. */
  running: string;
  /** How far the held target got: idle, downloading, installed, switching, healthy, rolled_back, failed. */
  step: AgentState['step'];
  /** The version the cloud asked for, and its rollout. */
  target?: string;
  rolloutId?: string;
  /** Present while the running version is on trial (not committed yet): the version it would go back to. */
  trial?: { previous: string; since: string };
  /** How the last update ended, kept after the cloud withdrew its target. */
  last?: AgentState['last'];
  /** Reports the cloud has not acknowledged yet. */
  unsentReports: number;
  /** Installed and not switched yet: why (`hours`, `serving`, `trial`), as last looked at. */
  waiting?: { code: string; reason: string };
}

export interface UpdateAgentOptions {
  paths: UpdatePaths;
  /** The version running now (the launcher says which: LOBBY_RELEASE_VERSION). */
  running: string;
  platform: string;
  /** The release public key (/etc/motcua-lobby/release-key.pub.pem); null: every update is refused. */
  publicKey: KeyObject | null;
  /** The cloud the target's paths are on, and this box's credential; null: no cloud (nothing to download). */
  cloud: () => { url: string; boxId: string; secret: string } | null;
  /** Sends a report; null keeps them queued (a box without a cloud). */
  post: ReportPost | null;
  /** The office's config and queue now: the update window and the update lock. */
  office: () => { config: BoxConfig; state: QueueState };
  /** True when this box's /healthz says ok (event log readable, disk fine, broker open). */
  healthy: () => Promise<boolean>;
  /** Stops the box so that its supervisor starts it again (on the version `current` points at now). */
  restart: () => Promise<void>;
  log: Logger;
  clock?: () => number;
  /** How often the window and the trial are looked at (ms); default 30 s and 1 s. */
  windowCheckMs?: number;
  trialCheckMs?: number;
  trialSeconds?: number;
  graceSeconds?: number;
  maxStarts?: number;
  maxBundleBytes?: number;
  retry?: { baseMs: number; capMs: number };
  /** Tests: called at each step, before the step's effect. */
  onStep?: (step: UpdateStep) => void;
}

/** A refusal with the code the cloud shows (SoftwareReport.code). */
class UpdateRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const REPORT_QUEUE_MAX = 50;
const LOG_LINE_MAX = 2000;

export class UpdateAgent {
  private state: AgentState;
  private job: Promise<void> = Promise.resolve();
  private abort = new AbortController();
  private stopped = false;
  private readonly sender: ReportSender | null;
  private readonly clock: () => number;
  private readonly retry: { baseMs: number; capMs: number };
  private readonly startedAt: number;
  private timers = new Set<NodeJS.Timeout>();
  /** Set while this version is on trial: the version it would go back to. */
  private trialOf: { previous: string; since: string } | null = null;
  /** Why the installed target is not switched to yet, while the agent waits for the window. */
  private waiting: { code: string; reason: string } | null = null;

  constructor(private readonly o: UpdateAgentOptions) {
    this.clock = o.clock ?? Date.now;
    this.startedAt = this.clock();
    this.retry = o.retry ?? { baseMs: 2_000, capMs: 5 * 60_000 };
    this.state = readAgentState(o.paths);
    this.sender = o.post
      ? new ReportSender({
          next: () => this.state.reports[0] ?? null,
          done: (r) => {
            this.state.reports = this.state.reports.filter((x) => x !== r);
            this.save();
          },
          post: o.post,
          log: o.log,
          retry: this.retry,
        })
      : null;
  }

  /** The rolloutId of the target the box holds ('' none): the fleet poll's `software`. */
  softwareHeld(): string {
    return this.state.target?.rolloutId ?? '';
  }

  /** The step reached with the target held, for /healthz and tests. */
  get step(): AgentState['step'] {
    return this.state.step;
  }

  /** What the box's /healthz shows of its updates (device/update/README.md, "What /healthz says"). */
  view(): UpdateView {
    const t = this.state.target;
    return {
      running: this.o.running,
      step: this.state.step,
      ...(t ? { target: t.version, rolloutId: t.rolloutId } : {}),
      ...(this.trialOf ? { trial: this.trialOf } : {}),
      ...(this.state.last ? { last: this.state.last } : {}),
      unsentReports: this.state.reports.length,
      ...(this.waiting ? { waiting: { ...this.waiting } } : {}),
    };
  }

  /** The reports the cloud has not acknowledged yet, oldest first. */
  get pendingReports(): readonly SoftwareReport[] {
    return this.state.reports;
  }

  /**
   * Picks up where the last run stopped: reports a rollback the launcher made, proves this version when it
   * is on trial, resumes a download or the wait for the window, and starts sending reports.
   */
  start(): void {
    this.removeLeftovers();
    const rollback = readRollback(this.o.paths);
    if (rollback) this.rolledBack(rollback);
    const trial = readTrial(this.o.paths);
    const target = this.state.target;
    if (trial && trial.version === this.o.running) {
      this.trialOf = { previous: trial.previous, since: new Date(this.startedAt).toISOString() };
      this.run(() => this.prove(trial));
    } else if (target && this.state.step === 'switching' && target.version === this.o.running)
      this.committed(target); // committed, the marker removed, then cut before state.json said so
    else if (target && ['idle', 'downloading', 'installed', 'switching'].includes(this.state.step)) {
      if (this.state.step === 'switching')
        this.o.log.warn(
          { version: target.version },
          'update: the switch did not happen (cut before `current` moved): will switch again in the window',
        );
      this.run(() => this.process(target));
    }
    this.sender?.start();
  }

  /** The fleet poll's software part: a new target, the same one again, or none (stop what is not switched). */
  onSoftware(target: SoftwareTarget | null): void {
    if (this.stopped) return;
    if ((target?.rolloutId ?? '') === this.softwareHeld()) return;
    // A version on trial ends its trial whatever the cloud says now: the switch is done, and only its proof
    // (commit) or the launcher (roll back) ends it. The cloud stops naming the target as soon as the heartbeat
    // shows the new version running, which is at the trial's first poll. A new target waits for the proof.
    if (!this.trialOf) this.cancel();
    if (!target) {
      this.o.log.info({ held: this.softwareHeld() }, 'update: the cloud withdrew the software target');
      rmSync(downloadDir(this.o.paths), { recursive: true, force: true });
      this.state = { ...this.state, target: null, step: 'idle' };
      this.save();
      return;
    }
    this.o.log.info(
      { rolloutId: target.rolloutId, version: target.version, running: this.o.running },
      'update: new software target',
    );
    this.state = { ...this.state, target, step: 'idle' };
    this.save();
    this.run(() => this.process(target));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel();
    await this.job;
    await this.sender?.stop();
  }

  // ---- the steps ----------------------------------------------------------------------------------------

  private run(work: () => Promise<void>): void {
    const signal = this.abort.signal;
    this.job = this.job
      .then(() => (signal.aborted ? undefined : work()))
      .catch((err: unknown) => {
        if (!signal.aborted) this.o.log.error({ err }, 'update: step failed unexpectedly');
      });
  }

  private cancel(): void {
    this.abort.abort();
    this.abort = new AbortController();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async process(target: SoftwareTarget): Promise<void> {
    const signal = this.abort.signal;
    try {
      this.precheck(target);
      if (target.version === this.o.running) {
        this.committed(target); // already running it (a report the cloud did not get)
        return;
      }
      if (!this.alreadyUnpacked(target)) {
        const manifestPath = await this.download(target, signal);
        if (signal.aborted) return;
        await this.unpack(target, manifestPath);
      }
      if (this.state.step !== 'installed') {
        this.setStep('installed');
        this.report(target, 'installed');
      }
      await this.awaitWindowAndSwitch(target, signal);
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof UpdateRefused) return this.failed(target, err.code, err.message);
      throw err;
    }
  }

  private precheck(target: SoftwareTarget): void {
    if (!this.o.publicKey)
      throw new UpdateRefused('signature', 'this box has no release public key to check a bundle with');
    if (target.platform !== this.o.platform)
      throw new UpdateRefused(
        'platform',
        `the release is for ${target.platform}, this box is ${this.o.platform}`,
      );
    if (compareVersions(target.version, this.o.running) < 0 && !target.allowDowngrade)
      throw new UpdateRefused(
        'downgrade',
        `${target.version} is older than the running ${this.o.running}: refused unless an admin allows a downgrade`,
      );
    const max = this.o.maxBundleBytes ?? UPDATE_BUNDLE_MAX_BYTES;
    if (target.size > max)
      throw new UpdateRefused(
        'size',
        `the bundle has ${target.size} bytes, more than the ${max} a box takes`,
      );
  }

  /** True when <root>/<V> holds this very bundle (a run cut after the unpack); refused when another. */
  private alreadyUnpacked(target: SoftwareTarget): boolean {
    const dir = versionDir(this.o.paths, target.version);
    if (!existsSync(dir)) return false;
    let sha = '';
    try {
      sha =
        (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { sha256?: string }).sha256 ?? '';
    } catch {
      // no manifest: installed by hand or by an old installer
    }
    if (sha === target.sha256) return true;
    throw new UpdateRefused(
      'exists',
      `${dir} already holds version ${target.version} from another bundle: release it under a new version`,
    );
  }

  private http(): Got {
    const cloud = this.o.cloud();
    if (!cloud) throw new Error('no cloud to download from');
    return got.extend({
      headers: { authorization: `Bearer ${boxToken(cloud.boxId, cloud.secret)}` },
    });
  }

  private key(): KeyObject {
    if (!this.o.publicKey) throw new UpdateRefused('signature', 'no release public key');
    return this.o.publicKey;
  }

  private url(path: string): string {
    const cloud = this.o.cloud();
    if (!cloud) throw new Error('no cloud to download from');
    return new URL(path, `${cloud.url.replace(/\/+$/, '')}/`).toString();
  }

  /** Downloads the manifest and signature (checked at once), then the tarball; resolves with the manifest's path. */
  private async download(target: SoftwareTarget, signal: AbortSignal): Promise<string> {
    if (this.state.step !== 'downloading') {
      this.setStep('downloading');
      this.report(target, 'downloading', { progress: { bytes: 0, total: target.size } });
    }
    const dir = join(downloadDir(this.o.paths), target.rolloutId.replace(/[^A-Za-z0-9_-]/g, '_'));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.downloadOnce(target, dir, signal);
      } catch (err) {
        if (signal.aborted || err instanceof UpdateRefused) throw err;
        if (attempt === 1 || attempt % 10 === 0)
          this.o.log.warn({ err: (err as Error).message, attempt }, 'update: download interrupted; resuming');
        await this.sleep(backoffDelay(attempt, this.retry.baseMs, this.retry.capMs), signal);
      }
    }
  }

  private async downloadOnce(target: SoftwareTarget, dir: string, signal: AbortSignal): Promise<string> {
    const http = this.http();
    const small = async (path: string) => {
      const res = await http.get(this.url(path), {
        responseType: 'buffer',
        throwHttpErrors: false,
        retry: { limit: 0 },
        timeout: { request: 30_000 },
        signal,
      });
      if (res.statusCode !== 200) throw new Error(`${path}: HTTP ${res.statusCode}`);
      if (res.rawBody.length > UPDATE_MANIFEST_MAX_BYTES)
        throw new UpdateRefused('manifest', `${path} has more than ${UPDATE_MANIFEST_MAX_BYTES} bytes`);
      return res.rawBody;
    };
    const manifestBytes = await small(target.manifestUrl);
    const signature = await small(target.signatureUrl);
    let manifest;
    try {
      manifest = verifyManifestFile(manifestBytes, signature, this.key(), this.o.platform);
    } catch (err) {
      if (err instanceof BundleRefused) throw new UpdateRefused(err.reason, err.message);
      throw err;
    }
    if (
      manifest.version !== target.version ||
      manifest.size !== target.size ||
      manifest.sha256 !== target.sha256
    )
      throw new UpdateRefused(
        'manifest',
        `the signed manifest (${manifest.version}, ${manifest.size} bytes) is not the release announced ` +
          `(${target.version}, ${target.size} bytes)`,
      );
    const manifestPath = join(dir, 'bundle.manifest.json');
    writeFileSync(manifestPath, manifestBytes, { mode: 0o600 });
    writeFileSync(join(dir, 'bundle.manifest.sig'), signature, { mode: 0o600 });
    const tarball = join(dir, manifest.file);
    this.o.onStep?.('downloading');
    try {
      await resumeDownload({
        http,
        url: this.url(target.bundleUrl),
        file: tarball,
        size: target.size,
        signal,
      });
    } catch (err) {
      if (err instanceof DownloadTooLarge) {
        rmSync(tarball, { force: true });
        throw new UpdateRefused('size', err.message);
      }
      throw err;
    }
    try {
      await verifyBundle(manifestPath, this.key(), this.o.platform);
    } catch (err) {
      if (!(err instanceof BundleRefused)) throw err;
      // A damaged download is not resumed: the next target starts from nothing.
      rmSync(dir, { recursive: true, force: true });
      throw new UpdateRefused(err.reason, err.message);
    }
    return manifestPath;
  }

  private async unpack(target: SoftwareTarget, manifestPath: string): Promise<void> {
    this.o.onStep?.('unpacking');
    const dest = versionDir(this.o.paths, target.version);
    try {
      await unpackVerified(manifestPath, this.key(), dest, this.o.platform, { keepManifest: true });
    } catch (err) {
      if (err instanceof BundleRefused) throw new UpdateRefused(err.reason, err.message);
      const text = `${(err as Error).message} ${(err as { stderr?: string }).stderr ?? ''}`;
      const disk = /ENOSPC|No space left/i.test(text);
      throw new UpdateRefused(
        disk ? 'disk' : 'unpack',
        disk
          ? `no space left on ${this.o.paths.root} to unpack ${target.version}: free some space; the running version is untouched`
          : `unpacking ${target.version} failed: ${text.trim().slice(0, 600)}`,
      );
    }
    rmSync(downloadDir(this.o.paths), { recursive: true, force: true });
    this.o.log.info({ version: target.version, dir: dest }, 'update: verified and unpacked');
  }

  private async awaitWindowAndSwitch(target: SoftwareTarget, signal: AbortSignal): Promise<void> {
    try {
      while (!signal.aborted) {
        const trial = readTrial(this.o.paths);
        const { config, state } = this.o.office();
        const refusal = trial
          ? { code: 'trial', reason: `version ${trial.version} is still proving itself` }
          : switchRefusal(config, state, this.clock(), target.force);
        if (!refusal) {
          this.waiting = null;
          return await this.switchTo(target);
        }
        if (refusal.code !== this.waiting?.code)
          this.o.log.info(
            { version: target.version, reason: refusal.reason },
            'update: installed, not switching yet',
          );
        this.waiting = { code: refusal.code, reason: refusal.reason };
        await this.sleep(this.o.windowCheckMs ?? 30_000, signal);
      }
    } finally {
      this.waiting = null;
    }
  }

  /** The switch: marker first (durable), then `previous`, then `current`, each in one rename; then a restart. */
  private async switchTo(target: SoftwareTarget): Promise<void> {
    const p = this.o.paths;
    this.setStep('switching');
    this.report(target, 'switching');
    const marker: TrialMarker = {
      version: target.version,
      previous: this.o.running,
      rolloutId: target.rolloutId,
      switchedAt: Math.floor(this.clock() / 1000),
      trialSeconds: this.o.trialSeconds ?? UPDATE_TRIAL_SECONDS,
      graceSeconds: this.o.graceSeconds ?? UPDATE_START_GRACE_SECONDS,
      maxStarts: this.o.maxStarts ?? UPDATE_TRIAL_MAX_STARTS,
    };
    mkdirSync(join(p.dir, 'logs'), { recursive: true, mode: 0o700 });
    removeDurably(trialStartsFile(p), trialTimeoutFile(p), rolledBackFile(p), versionLog(p, target.version));
    writeKeyValues(trialFile(p), { ...marker });
    this.o.onStep?.('marker-written');
    pointLink(p, 'previous', this.o.running);
    pointLink(p, 'current', target.version);
    this.o.onStep?.('switched');
    this.o.log.info(
      { from: this.o.running, to: target.version },
      'update: switched; restarting into the new version for its trial',
    );
    // Not awaited: stopping the box stops this agent, which waits for this step to end.
    void this.o.restart().catch((err: unknown) => this.o.log.error({ err }, 'update: restart failed'));
  }

  /** This version is on trial: once it ran long enough with /healthz ok, it is committed. */
  private async prove(trial: TrialMarker): Promise<void> {
    const signal = this.abort.signal;
    const needMs = (trial.trialSeconds > 0 ? trial.trialSeconds : UPDATE_TRIAL_SECONDS) * 1000;
    this.o.log.info(
      { version: trial.version, previous: trial.previous, trialSeconds: needMs / 1000 },
      'update: this version is on trial',
    );
    while (!signal.aborted) {
      if (this.clock() - this.startedAt >= needMs && (await this.o.healthy().catch(() => false))) break;
      await this.sleep(this.o.trialCheckMs ?? 1000, signal);
    }
    if (signal.aborted) return;
    this.o.onStep?.('committing');
    const target = this.state.target;
    const committed =
      target?.version === trial.version
        ? target
        : // state.json lost or older: what the marker says is enough to report
          ({ rolloutId: trial.rolloutId, version: trial.version } as SoftwareTarget);
    this.committed(committed);
    removeDurably(trialFile(this.o.paths), trialStartsFile(this.o.paths), trialTimeoutFile(this.o.paths));
    this.trialOf = null;
    this.pruneVersions(trial.previous);
    this.o.log.info({ version: trial.version }, 'update: the new version proved itself: committed');
  }

  private committed(target: Pick<SoftwareTarget, 'rolloutId' | 'version'>): void {
    this.setStep('healthy');
    this.report(target, 'healthy');
  }

  /** The launcher went back to this version: tell the cloud why, with the failed version's last lines. */
  private rolledBack(rb: RollbackRecord): void {
    const why: Record<string, [string, string]> = {
      start: ['start', `version ${rb.version} failed to start ${rb.starts} times`],
      health: ['health', `version ${rb.version} did not pass its health check in time`],
      'refused-log': ['log', `version ${rb.version} refused the event log at start (exit 3)`],
    };
    const [code, reason] = why[rb.reason] ?? [
      'start',
      `version ${rb.version} failed its trial (${rb.reason})`,
    ];
    const logTail = tailLines(
      versionLog(this.o.paths, rb.version),
      UPDATE_REPORT_MAX_LOG_LINES,
      LOG_LINE_MAX,
    );
    const target = this.state.target?.version === rb.version ? this.state.target : null;
    if (target) this.state.step = 'rolled_back';
    this.report(target ?? { rolloutId: '', version: rb.version }, 'rolled_back', {
      code,
      reason: `${reason}; the box went back to ${this.o.running} by itself`,
      logTail,
    });
    removeDurably(rolledBackFile(this.o.paths));
    this.o.log.error(
      { version: rb.version, running: this.o.running, code },
      `update: rolled back: ${reason}`,
    );
  }

  private failed(target: SoftwareTarget, code: string, reason: string): void {
    this.setStep('failed');
    this.report(target, 'failed', { code, reason });
    this.o.log.warn(
      { version: target.version, code, reason },
      'update: refused; the running version keeps serving',
    );
  }

  // ---- housekeeping ------------------------------------------------------------------------------------

  /** Half-unpacked folders and temporary links a power cut left in the root. */
  private removeLeftovers(): void {
    let names: string[];
    try {
      names = readdirSync(this.o.paths.root);
    } catch {
      return;
    }
    for (const n of names)
      if (n.startsWith(PARTIAL_PREFIX) || /^\.(current|previous)-\d+$/.test(n))
        rmSync(join(this.o.paths.root, n), { recursive: true, force: true });
  }

  /** Keeps the running version, the one to go back to, and the one held; removes older ones it may. */
  private pruneVersions(previous: string): void {
    const keep = new Set([
      this.o.running,
      previous,
      linkTarget(this.o.paths, 'current'),
      linkTarget(this.o.paths, 'previous'),
    ]);
    for (const n of readdirSync(this.o.paths.root)) {
      if (keep.has(n) || !/^\d+\.\d+\.\d+/.test(n)) continue;
      try {
        rmSync(join(this.o.paths.root, n), { recursive: true });
        this.o.log.info({ version: n }, 'update: removed an old version');
      } catch (err) {
        this.o.log.debug(
          { version: n, err: (err as Error).message },
          'update: an old version could not be removed',
        );
      }
    }
  }

  private setStep(step: AgentState['step']): void {
    this.state.step = step;
    this.save();
  }

  private report(
    target: Pick<SoftwareTarget, 'rolloutId' | 'version'>,
    state: SoftwareReport['state'],
    extra: Partial<Pick<SoftwareReport, 'code' | 'reason' | 'logTail' | 'progress'>> = {},
  ): void {
    const r: SoftwareReport = {
      rolloutId: target.rolloutId,
      version: target.version,
      running: this.o.running,
      state,
      ...extra,
      at: new Date(this.clock()).toISOString(),
    };
    this.state.reports = [...this.state.reports, r].slice(-REPORT_QUEUE_MAX);
    if (state === 'healthy' || state === 'rolled_back' || state === 'failed')
      this.state.last = {
        version: r.version,
        rolloutId: r.rolloutId,
        state,
        at: r.at,
        ...(r.reason ? { reason: r.reason } : {}),
      };
    this.save();
    this.sender?.wake();
  }

  private save(): void {
    writeAgentState(this.o.paths, this.state);
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      this.timers.add(t);
      signal.addEventListener('abort', done, { once: true });
      const timers = this.timers;
      function done() {
        clearTimeout(t);
        timers.delete(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}
