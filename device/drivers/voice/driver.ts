// The voice announcer the box drives (kind `voice`, on an `announcer` peripheral): every announcement the
// box publishes for it is said in Vietnamese through the amplifier, offline.
import { isValid, Announcement, topics } from '../../../protocol/index.js';
import type { PeripheralConfig } from '../../config/schema.js';
import { acquireChip, type OutputLine } from '../gpio/chip.js';
import { VoiceDriver } from '../gpio/config.js';
import { driverConfig } from '../gpio/driven-peripheral.js';
import type { Driver, DriverHost } from '../host.js';
import { Amplifier, CallQueue } from './announcer.js';
import { createPlayer, type Player } from './players.js';
import {
  ClipSpeech,
  EspeakSpeech,
  defaultClipsDir,
  engineWorks,
  renderCall,
  type CallAudio,
  type Speech,
} from './speech.js';

export async function startVoice(host: DriverHost, p: PeripheralConfig): Promise<Driver> {
  const cfg = driverConfig(VoiceDriver, p);
  if (p.role !== 'announcer')
    throw new Error(`${p.id}: a voice driver acts as an announcer, not a ${p.role}`);
  const log = host.log.child({ peripheral: p.id, kind: 'voice' });
  const clips = ClipSpeech.load(cfg.clips ?? defaultClipsDir('vi'));
  let speech: Speech = clips;
  if (cfg.engine) {
    if (await engineWorks(cfg.engine.command)) speech = new EspeakSpeech(cfg.engine, clips.spoken);
    else
      log.warn({ engine: cfg.engine.command }, 'speech engine not found here; calls use the recorded clips');
  }
  const player: Player = createPlayer(cfg.player);
  const chime = clips.clip('chime');
  const renderOpts = { style: cfg.reading, repeatPauseMs: cfg.repeatPauseMs };

  let relay: OutputLine | undefined;
  let releaseChip = async () => {};
  if (cfg.amplifier) {
    const acquired = await acquireChip(host);
    releaseChip = acquired.release;
    try {
      relay = await acquired.chip.output(cfg.amplifier.pin, {
        activeLow: cfg.amplifier.activeLow,
        owner: `${p.id} (amplifier relay)`,
      });
    } catch (err) {
      await releaseChip();
      throw err;
    }
  }
  const amplifier = new Amplifier(relay, cfg.amplifier?.warmUpMs ?? 0, cfg.amplifier?.idleOffMs ?? 0, log);

  const render = async (a: Announcement): Promise<CallAudio> => {
    try {
      return await renderCall(a, speech, chime, renderOpts);
    } catch (err) {
      if (speech === clips) throw err;
      log.warn({ err, callId: a.callId }, 'speech engine failed; this call uses the recorded clips');
      return renderCall(a, clips, chime, renderOpts);
    }
  };

  // The status carries the counts (extra fields are allowed), so an admin sees calls that did not play.
  let played = 0;
  let failed = 0;
  const report = (ok: boolean, detail: string) => {
    const counts = { played, failed };
    host
      .reportStatus(p.id, {
        ts: new Date(host.clock()).toISOString(),
        ok,
        detail: detail.slice(0, 200),
        ...counts,
      })
      .catch((err: unknown) => log.warn({ err }, 'status not published'));
  };

  const queue = new CallQueue({
    amplifier,
    log,
    play: async (a) => {
      const audio = await render(a);
      await player.play(audio.wav, {
        callId: a.callId,
        number: a.number,
        counter: a.counter,
        recall: a.recall,
        text: a.text.vi,
      });
      log.info(
        {
          callId: a.callId,
          number: a.number,
          counter: a.counter,
          recall: a.recall,
          repeat: a.repeat,
          ms: audio.durationMs,
        },
        `called: ${a.text.vi}`,
      );
    },
    onResult: (_a, err) => {
      if (err) failed++;
      else played++;
      report(!err, err ? `voice call not played: ${err.message}` : `speech: ${speech.kind}`);
    },
  });

  const unsubscribe = host.subscribe(topics.announce(p.id), (_t, payload) => {
    let a: unknown;
    try {
      a = JSON.parse(payload.toString());
    } catch {
      return log.warn('announcement is not JSON; ignored');
    }
    if (!isValid(Announcement, a)) return log.warn('announcement not understood; ignored');
    queue.enqueue(a);
  });
  report(true, `speech: ${speech.kind}`);
  await host.reportPresence(p.id, true);
  log.info(
    { speech: speech.kind, player: cfg.player.kind, relay: cfg.amplifier?.pin ?? null },
    'voice ready',
  );

  return {
    async close() {
      unsubscribe();
      await queue.stop();
      relay?.release();
      await releaseChip();
      await host.reportPresence(p.id, false).catch(() => undefined);
    },
  };
}
