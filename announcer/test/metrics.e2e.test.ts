/**
 * stile-announcer's Prometheus metrics (docs/metrics.md), scraped over HTTP from the built
 * daemon (--dry-run: it says what it would say) on the real Mosquitto.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { scrape, valueOf } from '../../service/test/prom-text.js';
import { BIN, announce, controlKey, publish, publisher, tempDir, uniqueSiteId, waitFor, writeConfig } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('stile-announcer /metrics', () => {
  it('one announcement said, one forged refused: played 1, refused{bad_signature} 1, level orange', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const site = uniqueSiteId();
    const keys = controlKey('ctl-1');
    const { file } = writeConfig(dir, site, [{ id: 'ctl-1', publicKey: keys.publicKey }], { metrics: { listen: '127.0.0.1:0' } });
    const child = spawn(process.execPath, [BIN, '--config', file, '--dry-run'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const logs: Record<string, unknown>[] = [];
    let said = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (said += d.split('\n').filter((l) => l.startsWith('would say')).length));
    let buf = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        logs.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
        buf = buf.slice(i + 1);
      }
    });
    const pub = await publisher();
    try {
      await waitFor(() => logs.some((l) => l.event === 'subscribed') && logs.some((l) => l.event === 'metrics_started'), 'subscribed with metrics');
      const url = logs.find((l) => l.event === 'metrics_started')!.url as string;
      const before = await scrape(url);
      expect(valueOf(before, 'stile_announcer_info', { site, device: 'pa-1' })).toBe(1);
      expect(valueOf(before, 'stile_announcer_broker_connected')).toBe(1);
      expect(valueOf(before, 'stile_announcer_played_total')).toBe(0);
      expect(valueOf(before, 'stile_announcer_last_played_timestamp_seconds')).toBeNaN();

      await publish(pub, site, 'announce', announce(site, 'red', controlKey('ctl-1').key)); // same id, another key: forged
      await waitFor(() => logs.some((l) => l.event === 'announcement_refused'), 'the forged one refused');
      await publish(pub, site, 'announce', announce(site, 'orange', keys.key));
      await waitFor(() => logs.some((l) => l.event === 'spoken'), 'the orange one said');
      const m = await scrape(url);
      expect(said).toBe(2); // zh and en
      expect(valueOf(m, 'stile_announcer_played_total')).toBe(1);
      expect(valueOf(m, 'stile_announcer_failed_total')).toBe(0);
      expect(valueOf(m, 'stile_announcer_refused_total', { reason: 'bad_signature' })).toBe(1);
      expect(valueOf(m, 'stile_announcer_level', { level: 'orange' })).toBe(1);
      expect(valueOf(m, 'stile_announcer_level', { level: 'red' })).toBe(0);
      expect(valueOf(m, 'stile_announcer_repeating')).toBe(1); // orange repeats while it holds
      expect(Math.abs(valueOf(m, 'stile_announcer_last_played_timestamp_seconds')! - Date.now() / 1000)).toBeLessThan(60);
    } finally {
      await pub.endAsync();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
