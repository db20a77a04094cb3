// `lobby cloud …` (the control plane and its bootstrap commands) and `lobby provision box` (enroll a box).
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import {
  ROLES,
  createAdmin,
  createBoxClaim,
  createIntegration,
  createOffice,
  createUnit,
  resetPassword,
  type AdminRole,
} from '../cloud/admin/provisioning.js';
import { verifyAuditChain } from '../cloud/audit/chain.js';
import { isPostgresUrl, openDatabase, type CloudDatabase } from '../cloud/db/database.js';
import { createAudit, HttpError } from '../cloud/http/context.js';
import { loadOrCreateKeyFile, startCloud } from '../cloud/service.js';
import { enrollBox } from '../device/uplink/index.js';
import { pino } from 'pino';
import { loginToCloud, uploadRelease } from './release-upload.js';
import { stopOnSignals } from './signals.js';

interface DbOpts {
  db: string;
  dbSchema?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

const PROXY = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)(\/\d{1,3})?$/;

/** "10.0.0.1, 10.1.0.0/16" → the list fastify's trustProxy takes; refuses names and junk. */
function proxyList(value: string): string[] {
  const list = value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  for (const p of list)
    if (!PROXY.test(p))
      throw new InvalidArgumentError(`"${p}" is not an IP address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/24)`);
  return list;
}

const dbOptions = (cmd: Command): Command =>
  cmd
    .addOption(
      new Option('--db <url-or-file>', 'postgres://… or a SQLite file')
        .env('DATABASE_URL')
        .default('./cloud-data/cloud.db'),
    )
    .addOption(
      new Option('--db-schema <name>', 'PostgreSQL schema (created if missing)').env('DATABASE_SCHEMA'),
    );

async function withDb<T>(o: DbOpts, fn: (store: CloudDatabase) => Promise<T>): Promise<T> {
  const store = await openDatabase({ url: o.db, ...(o.dbSchema ? { schema: o.dbSchema } : {}) });
  try {
    return await fn(store);
  } catch (err) {
    if (err instanceof HttpError) throw new InvalidArgumentError(`${err.code}: ${err.message}`);
    throw err;
  } finally {
    await store.close();
  }
}

/** The master key: LOBBY_CLOUD_KEY (base64url), else a key file; with SQLite one is created beside the DB. */
function masterKey(o: DbOpts & { keyFile?: string }): Buffer {
  const env = process.env.LOBBY_CLOUD_KEY;
  if (env) {
    const k = Buffer.from(env, 'base64url');
    if (k.length < 32)
      throw new InvalidArgumentError('LOBBY_CLOUD_KEY must hold at least 32 bytes (base64url)');
    return k;
  }
  if (o.keyFile) return loadOrCreateKeyFile(o.keyFile);
  if (isPostgresUrl(o.db))
    throw new InvalidArgumentError(
      'with PostgreSQL every replica needs the same master key: set LOBBY_CLOUD_KEY or --key-file',
    );
  return loadOrCreateKeyFile(join(dirname(resolve(o.db)), 'master.key'));
}

async function firstLineOfStdin(): Promise<string> {
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

const cliActor = () => `cli:${userInfo().username}`;

export function registerCloudCommands(program: Command): void {
  const cloud = program
    .command('cloud')
    .description('the cloud control plane: ingest, dossiers, reports, admin console');

  dbOptions(
    cloud
      .command('run', { isDefault: true })
      .description('run the cloud service (stateless: run as many replicas as you like on PostgreSQL)'),
  )
    .addOption(new Option('-p, --port <port>', 'HTTP port').env('PORT').default(8090).argParser(port))
    .addOption(new Option('--host <host>', 'listen address').env('HOST').default('0.0.0.0'))
    .addOption(
      new Option('--public-url <url>', 'how citizens reach this service (ticket QR codes)').env(
        'LOBBY_PUBLIC_URL',
      ),
    )
    .addOption(
      new Option('--key-file <file>', 'master key file (HMAC keys of integrations)').env(
        'LOBBY_CLOUD_KEY_FILE',
      ),
    )
    .option('--wait-target-min <n>', 'default wait target of the reports, minutes', (v) => Number(v), 15)
    .addOption(
      new Option(
        '--trusted-proxies <list>',
        'comma-separated addresses/CIDRs of the load balancers whose X-Forwarded-For is believed (default: none)',
      )
        .env('LOBBY_TRUSTED_PROXIES')
        .argParser(proxyList),
    )
    .addOption(
      new Option(
        '--release-key <file>',
        'the release public key (release-out/release-key.pub.pem): uploaded bundles are checked against it',
      ).env('LOBBY_RELEASE_KEY_FILE'),
    )
    .addOption(
      new Option(
        '--releases-dir <dir>',
        'where uploaded bundles are kept (shared by every replica; default: releases/ beside a SQLite file)',
      ).env('LOBBY_RELEASES_DIR'),
    )
    .addOption(
      new Option(
        '--redis <url>',
        "redis://… : rate limits shared by every replica (default: counted in each replica's memory)",
      ).env('REDIS_URL'),
    )
    .action(
      async (
        o: DbOpts & {
          port: number;
          host: string;
          publicUrl?: string;
          keyFile?: string;
          waitTargetMin: number;
          trustedProxies?: string[];
          redis?: string;
          releaseKey?: string;
          releasesDir?: string;
        },
      ) => {
        const service = startCloud({
          databaseUrl: o.db,
          ...(o.dbSchema ? { databaseSchema: o.dbSchema } : {}),
          port: o.port,
          host: o.host,
          ...(o.redis ? { redisUrl: o.redis } : {}),
          settings: {
            masterKey: masterKey(o),
            trustedProxies: o.trustedProxies ?? [],
            waitTargetMin: o.waitTargetMin,
            ...(o.publicUrl ? { publicUrl: o.publicUrl.replace(/\/+$/, '') } : {}),
            ...(o.releaseKey ? { releasePublicKey: readFileSync(o.releaseKey, 'utf8') } : {}),
            ...(o.releasesDir ? { releasesDir: resolve(o.releasesDir) } : {}),
          },
        });
        stopOnSignals(service); // before it resolves: the cloud logs that it listens earlier
        await service;
      },
    );

  dbOptions(cloud.command('migrate').description('create or upgrade the database schema, then exit')).action(
    async (o: DbOpts) => {
      await withDb(o, async (s) => console.log(`${s.describe}: schema up to date`));
    },
  );

  const unit = cloud.command('unit').description('the unit tree (province → district → commune, any depth)');
  dbOptions(unit.command('create').description('add a unit'))
    .requiredOption('--id <id>', 'e.g. da-nang, lien-chieu, hoa-khanh-bac')
    .requiredOption('--name <name>', 'e.g. "Thành phố Đà Nẵng"')
    .option('--kind <kind>', 'province, district, commune, …', 'province')
    .option('--parent <id>', 'the parent unit (none: a root)')
    .action(async (o: DbOpts & { id: string; name: string; kind: string; parent?: string }) => {
      await withDb(o, async (s) => {
        const u = await createUnit(
          s.db,
          { id: o.id, name: o.name, kind: o.kind, parentId: o.parent ?? null },
          Date.now(),
        );
        await createAudit(
          s,
          Date.now,
          pino({ level: 'silent' }),
        )({ actor: cliActor(), action: 'unit.created', target: u.id, unitId: u.id });
        console.log(`Unit ${u.id} (${u.path})`);
      });
    });

  const office = cloud.command('office').description('one-stop offices (one box each)');
  dbOptions(office.command('create').description('add an office to a unit'))
    .requiredOption('--id <id>', 'the office id of its box config (office.id)')
    .requiredOption('--name <name>', 'e.g. "Bộ phận một cửa phường Hòa Khánh Bắc"')
    .requiredOption('--unit <id>', 'the unit it belongs to')
    .option('--timezone <tz>', 'IANA time zone', 'Asia/Ho_Chi_Minh')
    .action(async (o: DbOpts & { id: string; name: string; unit: string; timezone: string }) => {
      await withDb(o, async (s) => {
        const row = await createOffice(
          s.db,
          { id: o.id, name: o.name, unitId: o.unit, timezone: o.timezone },
          Date.now(),
        );
        await createAudit(
          s,
          Date.now,
          pino({ level: 'silent' }),
        )({ actor: cliActor(), action: 'office.created', target: row.id, unitId: o.unit });
        console.log(`Office ${row.id} in ${row.unit_id}`);
      });
    });

  const box = cloud.command('box').description('office boxes');
  dbOptions(
    box.command('create').description('a box for an office: prints its one-time claim code (valid 72 h)'),
  )
    .requiredOption('--office <id>', 'the office')
    .action(async (o: DbOpts & { office: string }) => {
      await withDb(o, async (s) => {
        const c = await createBoxClaim(s.db, o.office, Date.now());
        await createAudit(
          s,
          Date.now,
          pino({ level: 'silent' }),
        )({ actor: cliActor(), action: 'box.created', target: c.boxId });
        console.log(`Box ${c.boxId} for office ${o.office}.`);
        console.log(`Claim code (one use, until ${new Date(c.expiresAt).toISOString()}): ${c.claimCode}`);
        console.log(
          `On the box: lobby provision box --config office.yaml --cloud <cloud url> --claim ${c.claimCode}`,
        );
      });
    });

  const admin = cloud.command('admin').description('admin accounts');
  dbOptions(admin.command('create').description('create an admin; prints a generated password once'))
    .requiredOption('--username <name>', 'login name')
    .requiredOption('--unit <id>', 'the unit subtree the admin may see and manage')
    .addOption(
      new Option('--role <role>', 'admin: manage and report; viewer: reports only')
        .choices([...ROLES])
        .default('admin'),
    )
    .action(async (o: DbOpts & { username: string; unit: string; role: AdminRole }) => {
      await withDb(o, async (s) => {
        const a = await createAdmin(s.db, { username: o.username, unitId: o.unit, role: o.role }, Date.now());
        await createAudit(
          s,
          Date.now,
          pino({ level: 'silent' }),
        )({ actor: cliActor(), action: 'admin.created', target: a.username, unitId: o.unit });
        console.log(`Admin "${a.username}" (${o.role}) for unit ${o.unit}.`);
        console.log(`Password (shown once; only its scrypt hash is stored): ${a.password}`);
      });
    });
  dbOptions(
    admin.command('reset-password').description('a new generated password (printed once); ends sessions'),
  )
    .requiredOption('--username <name>', 'login name')
    .action(async (o: DbOpts & { username: string }) => {
      await withDb(o, async (s) => {
        const password = await resetPassword(s.db, o.username);
        await createAudit(
          s,
          Date.now,
          pino({ level: 'silent' }),
        )({ actor: cliActor(), action: 'admin.password_reset', target: o.username });
        console.log(`New password for "${o.username}" (shown once): ${password}`);
      });
    });

  const integration = cloud.command('integration').description("the province one-stop software's API keys");
  dbOptions(integration.command('create').description('an HMAC key for the dossier API (printed once)'))
    .requiredOption('--name <name>', 'e.g. "Một cửa điện tử Đà Nẵng"')
    .requiredOption('--unit <id>', 'the unit subtree whose dossiers it may write')
    .addOption(new Option('--key-file <file>', 'master key file').env('LOBBY_CLOUD_KEY_FILE'))
    .action(async (o: DbOpts & { name: string; unit: string; keyFile?: string }) => {
      const key = masterKey(o);
      await withDb(o, async (s) => {
        const i = await createIntegration(s.db, key, { name: o.name, unitId: o.unit }, Date.now());
        await createAudit(
          s,
          Date.now,
          pino({ level: 'silent' }),
        )({ actor: cliActor(), action: 'integration.created', target: i.keyId, unitId: o.unit });
        console.log(`Integration ${i.keyId}: send it as x-lobby-key.`);
        console.log(`HMAC key (shown once; derived from the master key, not stored): ${i.secret}`);
      });
    });

  const audit = cloud.command('audit').description('the audit log (a hash chain)');
  dbOptions(
    audit
      .command('verify')
      .description('check the hash chain of the audit log; names the first broken row (exit code 1)'),
  ).action(async (o: DbOpts) => {
    await withDb(o, async (s) => {
      const v = await verifyAuditChain(s.db);
      if (v.ok) {
        console.log(`Audit log intact: ${v.rows} row(s).`);
        if (v.head)
          console.log(
            `Head: seq ${v.head.seq}, id ${v.head.id}, hash ${v.head.hash} (keep it elsewhere to notice removed newest rows)`,
          );
        return;
      }
      const b = v.broken as NonNullable<typeof v.broken>;
      console.error(
        `Audit log BROKEN at row id ${b.id}${b.seq === null ? '' : ` (seq ${b.seq})`}: ${b.reason}. ${v.rows} row(s) before it are intact.`,
      );
      process.exitCode = 1;
    });
  });

  const release = cloud.command('release').description('box software releases (over-the-air updates)');
  release
    .command('upload')
    .description("upload a release's bundles (one per platform) with its notes; the cloud verifies each")
    .requiredOption('--cloud <url>', 'the cloud base URL, e.g. https://motcua.example.gov.vn')
    .option('--dir <dir>', 'where `npm run release` wrote the bundles', 'release-out')
    .requiredOption('--version <version>', 'the release version, e.g. 0.2.0')
    .option('--notes <text>', 'release notes (what changed, for admins and boxes)', '')
    .option('--notes-file <file>', 'release notes from a file')
    .option(
      '--username <name>',
      'admin login (password from LOBBY_ADMIN_PASSWORD or the first line of stdin)',
    )
    .addOption(new Option('--token <token>', 'an admin session token instead').env('LOBBY_ADMIN_TOKEN'))
    .action(
      async (o: {
        cloud: string;
        dir: string;
        version: string;
        notes: string;
        notesFile?: string;
        username?: string;
        token?: string;
      }) => {
        let token = o.token;
        if (!token) {
          if (!o.username) throw new InvalidArgumentError('give --username (or --token / LOBBY_ADMIN_TOKEN)');
          const password = process.env.LOBBY_ADMIN_PASSWORD ?? (await firstLineOfStdin());
          token = await loginToCloud(o.cloud, o.username, password);
        }
        const notes = o.notesFile ? readFileSync(o.notesFile, 'utf8') : o.notes;
        try {
          await uploadRelease({
            cloud: o.cloud,
            token,
            dir: o.dir,
            version: o.version,
            notes,
            log: (line) => console.log(line),
          });
        } catch (err) {
          console.error(`lobby cloud release upload: ${(err as Error).message}`);
          process.exitCode = 1;
          return;
        }
        console.log(
          `Release ${o.version} is on ${o.cloud}: start a rollout from the console or POST /api/v1/rollouts.`,
        );
      },
    );

  const provision = program.command('provision').description('enroll devices with the cloud');
  provision
    .command('box')
    .description(
      'enroll this box with the cloud using a claim code; writes the credential file (0600) and the config',
    )
    .addOption(new Option('-c, --config <file>', 'box config file').env('LOBBY_CONFIG').makeOptionMandatory())
    .addOption(
      new Option('-d, --data-dir <dir>', 'the box data directory')
        .env('LOBBY_DATA_DIR')
        .default('./lobby-data'),
    )
    .requiredOption('--cloud <url>', 'the cloud base URL, e.g. https://motcua.example.gov.vn')
    .requiredOption('--claim <code>', 'the claim code from `lobby cloud box create` or the admin console')
    .action(async (o: { config: string; dataDir: string; cloud: string; claim: string }) => {
      const c = await enrollBox({
        configFile: o.config,
        dataDir: o.dataDir,
        cloudUrl: o.cloud,
        claimCode: o.claim,
      });
      console.log(
        `Enrolled as ${c.boxId} (office ${c.officeId}). Credential written (mode 0600); ${o.config} has cloud.url.`,
      );
      console.log('Restart the box to start the uplink.');
    });
}
