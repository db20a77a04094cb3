// Downloading a file from the cloud with the box's credential, resumed after an interruption (HTTP Range
// from the bytes already on disk), never past the size the caller expects. got streams the body; the file
// is appended to and fsynced at the end, so a power cut loses at most the last unsynced bytes (the hash
// check after the download catches any damage).
import { statSync, truncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Got } from 'got';

export class DownloadTooLarge extends Error {}

export interface DownloadOptions {
  http: Got;
  url: string;
  file: string;
  /** The exact size expected: the download stops with DownloadTooLarge past it. */
  size: number;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
}

function sizeOnDisk(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Resumes (or starts) the download of `url` into `file`; resolves with the bytes on disk. */
export async function resumeDownload(o: DownloadOptions): Promise<number> {
  let have = sizeOnDisk(o.file);
  if (have > o.size) {
    truncateSync(o.file, 0);
    have = 0;
  }
  if (have === o.size) return have;
  const stream = o.http.stream(o.url, {
    headers: have > 0 ? { range: `bytes=${have}-` } : {},
    throwHttpErrors: false,
    retry: { limit: 0 },
    timeout: { connect: 15_000, response: 30_000, read: 60_000 },
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const response = await new Promise<{ statusCode: number; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
    },
  );
  let append = have > 0;
  if (response.statusCode === 200)
    append = false; // the server ignored the range: the whole file again
  else if (response.statusCode === 206) {
    const start = /^bytes (\d+)-/.exec(String(response.headers['content-range'] ?? ''))?.[1];
    if (Number(start) !== have) {
      stream.destroy();
      throw new Error(`the server resumed at ${start ?? '?'}, the box has ${have} bytes`);
    }
  } else if (response.statusCode === 416 && have > 0) {
    // Nothing after our bytes: what we have may be complete or stale; the hash check decides.
    stream.destroy();
    return have;
  } else {
    stream.destroy();
    throw new Error(`download ${o.url}: HTTP ${response.statusCode}`);
  }
  // Each chunk is written (awaited) as it comes: when the connection breaks, every byte received is on
  // disk for the next Range request (a piped write stream would drop its buffer when destroyed).
  let bytes = append ? have : 0;
  const file = await open(o.file, append ? 'a' : 'w', 0o600);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (bytes + chunk.length > o.size)
        throw new DownloadTooLarge(`the server sent more than the ${o.size} bytes announced`);
      await file.write(chunk);
      bytes += chunk.length;
      o.onProgress?.(bytes);
    }
  } finally {
    await file.sync().catch(() => undefined);
    await file.close();
  }
  return bytes;
}
