import { describe, expect, it } from 'vitest';
import { loadTrustedKeys } from '@stile/config';
import { Announcer } from '../src/announcer.js';
import { planFor, AbortedError, type Speaker, type Utterance } from '../src/speech.js';
import { announce, capacity, captureLog, controlKey, sleep, waitFor } from './helpers.js';

// The announcer's rules without a broker: a speaker that "plays" each part for `ms` and
// records what overlapped.

class SlowSpeaker implements Speaker {
  playing = 0;
  maxPlaying = 0;
  readonly said: { level: string; done: boolean }[] = [];
  constructor(private readonly ms: number) {}

  async say(plan: readonly Utterance[], signal: AbortSignal): Promise<void> {
    const entry = { level: plan[0]?.kind === 'tts' ? plan[0].text : 'clip', done: false };
    this.said.push(entry);
    this.playing++;
    this.maxPlaying = Math.max(this.maxPlaying, this.playing);
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, this.ms);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new AbortedError('interrupted'));
        });
      });
      entry.done = true;
    } finally {
      this.playing--;
    }
  }
}

const SITE = 'unit-park';
const k = controlKey('ctl-1');
const trusted = loadTrustedKeys([{ id: 'ctl-1', publicKey: k.publicKey }]);

function make(speaker: Speaker, repeatMs = 0) {
  const { log, lines } = captureLog();
  const cfg = { speech: { languages: ['en' as const], voices: { zh: 'cmn', en: 'en' } }, clips: {} } as Parameters<typeof planFor>[0];
  const a = new Announcer({ site: SITE, timeZone: 'Asia/Shanghai', trusted, maxAgeMs: 600_000, repeatMs, repeatLevels: ['yellow', 'orange', 'red'], plan: (l, t) => planFor(cfg, l, t), speaker, log });
  return { a, lines };
}

describe('Announcer', () => {
  it('rapid level changes: each interrupts the last, the newest is said in full, never two at once', async () => {
    const sp = new SlowSpeaker(300);
    const { a } = make(sp);
    const t0 = Date.now();
    for (const [i, level] of (['yellow', 'orange', 'red'] as const).entries()) {
      expect(a.handleAnnounce(JSON.stringify(announce(SITE, level, k.key, { at: new Date(t0 + i) })))).toEqual({ ok: true, action: 'spoken' });
      await sleep(20);
    }
    await waitFor(() => sp.said.some((s) => s.done), 'one said in full');
    await sleep(100);
    expect(sp.maxPlaying).toBe(1);
    expect(sp.said.filter((s) => s.done).map((s) => s.level)).toEqual([expect.stringMatching(/full for today/)]);
    await a.stop();
  });

  it('an announcement whose level a newer capacity already replaced is not said', async () => {
    const sp = new SlowSpeaker(10);
    const { a, lines } = make(sp);
    const now = Date.now();
    a.handleCapacity(JSON.stringify(capacity(SITE, 'orange', k.key, { at: new Date(now) })));
    const late = a.handleAnnounce(JSON.stringify(announce(SITE, 'red', k.key, { at: new Date(now - 5000) })));
    expect(late).toMatchObject({ ok: false, reason: 'superseded' });
    expect(lines.find((l) => l.event === 'announcement_refused')).toMatchObject({ reason: 'superseded', level: 'red' });
    // The same level, a little late (the monitor publishes capacity first): still said.
    expect(a.handleAnnounce(JSON.stringify(announce(SITE, 'orange', k.key, { at: new Date(now - 1000) })))).toMatchObject({ ok: true });
    await waitFor(() => sp.said.length === 1, 'said');
    await a.stop();
  });

  it('a stale capacity does not end the repeat', async () => {
    const sp = new SlowSpeaker(10);
    const { a } = make(sp, 50);
    const now = Date.now();
    a.handleAnnounce(JSON.stringify(announce(SITE, 'red', k.key, { at: new Date(now) })));
    expect(a.handleCapacity(JSON.stringify(capacity(SITE, 'green', k.key, { at: new Date(now - 60_000) })))).toEqual({ ok: true, action: 'ignored' });
    expect(a.holding).toBe('red');
    await waitFor(() => sp.said.length >= 3, 'repeats');
    await a.stop();
    const n = sp.said.length;
    await sleep(150);
    expect(sp.said.length).toBe(n); // stop() ends the repeat
  });
});
