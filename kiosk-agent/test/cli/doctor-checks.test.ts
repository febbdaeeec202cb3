/** The kiosk's own doctor checks with made-up findings: the printer and the cash devices. */
import { describe, expect, it } from 'vitest';
import type { doctor } from '@stile/gate-agent';
import { checkCash, checkPrinter, HOPPER_LOW_COINS } from '../../src/cli/doctor-checks.js';

const role: doctor.Role = { unit: 'stile-kiosk', ctl: 'kioskctl', config: '/etc/stile/kiosk.yaml', user: 'stile' };

describe('printer', () => {
  it('through the daemon: ready, a fault named, no answer', () => {
    expect(checkPrinter({ source: 'daemon', ready: true, fault: null }, role)).toMatchObject({ status: 'pass', detail: 'ready (asked through stile-kiosk)' });
    expect(checkPrinter({ source: 'daemon', ready: false, fault: 'cover_open' }, role)).toMatchObject({ status: 'fail', problem: 'printer.fault', detail: 'not ready: cover_open (asked through stile-kiosk)' });
    expect(checkPrinter({ source: 'daemon', ready: false, fault: 'disconnected' }, role)).toMatchObject({ status: 'fail', problem: 'printer.silent' });
  });

  it('on its port: paper near its end warns, a jam fails, silence fails with the cabling fix', () => {
    const dev = { source: 'device' as const, ready: true, faults: [], paperNearEnd: false, detail: null };
    expect(checkPrinter(dev, role).status).toBe('pass');
    expect(checkPrinter({ ...dev, paperNearEnd: true }, role)).toMatchObject({ status: 'warn', problem: 'printer.paper_low' });
    expect(checkPrinter({ ...dev, ready: false, faults: ['cutter_jam'] }, role)).toMatchObject({ status: 'fail', problem: 'printer.fault', detail: 'cutter_jam (asked on its port)' });
    const silent = checkPrinter({ ...dev, ready: false, faults: ['no_answer'], detail: 'no answer to DLE EOT within 500 ms' }, role);
    expect(silent).toMatchObject({ status: 'fail', problem: 'printer.silent' });
    expect(silent.fix).toContain('/etc/stile/kiosk.yaml');
  });
});

describe('cash', () => {
  const ok = { configured: true as const, source: 'device' as const, validator: { ready: true, error: null }, hopper: { ready: true, error: null, low: false }, coins: 200 };

  it('passes with both devices answering and coins enough; a kiosk without cash devices passes', () => {
    expect(checkCash(ok, role)).toMatchObject({ status: 'pass', detail: 'bill validator ready, hopper ready, 200 coin(s) counted (polled on the ccTalk line)' });
    expect(checkCash({ configured: false }, role).status).toBe('pass');
  });

  it('a validator or hopper that does not answer fails; few coins or the low sensor warn', () => {
    expect(checkCash({ ...ok, validator: { ready: false, error: 'no answer to simple poll' } }, role)).toMatchObject({ status: 'fail', problem: 'cash.validator' });
    expect(checkCash({ ...ok, hopper: { ready: false, error: 'timeout', low: null } }, role)).toMatchObject({ status: 'fail', problem: 'cash.hopper' });
    expect(checkCash({ ...ok, coins: HOPPER_LOW_COINS - 1 }, role)).toMatchObject({ status: 'warn', problem: 'cash.hopper_low' });
    expect(checkCash({ ...ok, hopper: { ready: true, error: null, low: true } }, role)).toMatchObject({ status: 'warn', problem: 'cash.hopper_low', detail: expect.stringContaining('low-level sensor is on') });
    expect(checkCash({ ...ok, hopper: null, coins: null }, role).detail).toContain('no hopper');
  });
});
