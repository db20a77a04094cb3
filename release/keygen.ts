// `npm run release:keygen -- --out DIR`: the project's release key, made once, kept off the build tree.
// Writes the Ed25519 private key (PKCS#8 PEM, mode 0600, encrypted with a passphrase when one is given) and
// its public key, prints the key id every manifest carries, and refuses to overwrite a key: losing the old
// one would leave every box in the field trusting a key nobody holds.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { keyIdOf } from '../protocol/release-bundle.js';
import { PASSPHRASE_ENV } from './bundle.js';

/** Passphrases shorter than this are refused: the encrypted key file may leak with a backup. */
export const RELEASE_KEY_PASSPHRASE_MIN = 12;

export interface KeygenResult {
  privateFile: string;
  publicFile: string;
  keyId: string;
  encrypted: boolean;
}

export function generateReleaseKey(outDir: string, passphrase?: string): KeygenResult {
  const dir = resolve(outDir);
  const privateFile = join(dir, 'release-key.pem');
  const publicFile = join(dir, 'release-key.pub.pem');
  for (const f of [privateFile, publicFile])
    if (existsSync(f))
      throw new Error(
        `${f} exists: a release key is made once (boxes in the field trust it). Keep it, or choose another --out`,
      );
  if (passphrase !== undefined && passphrase.length < RELEASE_KEY_PASSPHRASE_MIN)
    throw new Error(
      `the passphrase in ${PASSPHRASE_ENV} is shorter than ${RELEASE_KEY_PASSPHRASE_MIN} characters`,
    );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = passphrase
    ? privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
    : privateKey.export({ type: 'pkcs8', format: 'pem' });
  // 'wx': never replace a file that appeared meanwhile.
  writeFileSync(privateFile, pem, { mode: 0o600, flag: 'wx' });
  writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag: 'wx' });
  return { privateFile, publicFile, keyId: keyIdOf(publicKey), encrypted: Boolean(passphrase) };
}

function main(): void {
  const o = new Command('release:keygen')
    .description('make the release signing key (once): an Ed25519 key pair in --out')
    .requiredOption(
      '--out <dir>',
      'where to write release-key.pem and release-key.pub.pem (off the build tree)',
    )
    .option('--no-passphrase', `do not encrypt the private key even when ${PASSPHRASE_ENV} is set`)
    .parse()
    .opts<{ out: string; passphrase: boolean }>();
  const passphrase = o.passphrase ? process.env[PASSPHRASE_ENV] || undefined : undefined;
  try {
    const r = generateReleaseKey(o.out, passphrase);
    console.log(`release key ${r.keyId}
  private  ${r.privateFile}  (0600${r.encrypted ? `, encrypted: ${PASSPHRASE_ENV} unlocks it` : ', NOT encrypted: set ' + PASSPHRASE_ENV + ' to encrypt it'})
  public   ${r.publicFile}

Sign releases:        npm run release -- --key ${r.privateFile}
The cloud checks uploads with the public key:   lobby cloud start … --release-key ${r.publicFile}
Boxes get the public key from install.sh (written into it by npm run release).
Keep a copy of the private key offline; a box trusts only this key, so a lost key means reinstalling every box.`);
  } catch (err) {
    console.error(`release:keygen: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
