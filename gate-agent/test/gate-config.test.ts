import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStileError, loadGateConfig, StileErrorCode } from '@stile/config';

function write(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'stile-cfg-')), 'gate.yaml');
  writeFileSync(file, text);
  return file;
}

const VALID = `
version: 1
site: { id: west-lake, timezone: Asia/Shanghai }
gate: { id: north-2 }
store: { path: data/gate.db }
keys: { idHash: { value: "0123456789abcdef0123456789abcdef" } }
ticketTypes:
  - { id: adult, name: Adult }
inputs:
  - { type: lines, path: /run/stile/scan.fifo }
`;

describe('loadGateConfig', () => {
  it('loads a minimal config with defaults and resolves paths next to the file', () => {
    const file = write(VALID);
    const cfg = loadGateConfig(file);
    expect(cfg.gate.zone).toBe('main');
    expect(cfg.relay).toEqual({ type: 'log', pulseMs: 200, gapMs: 200 });
    expect(cfg.ticketTypes[0]!.entries).toEqual({ mode: 'single' });
    expect(cfg.store.path).toBe(join(file, '..', 'data/gate.db'));
  });

  it('names the file, every wrong field path and what was expected — all at once', () => {
    const file = write(VALID.replace('Asia/Shanghai', 'Mars/Olympus').replace('north-2', 'North 2').replace('path: /run/stile/scan.fifo', 'path: /x, baud: fast').replace('{ id: adult, name: Adult }', '{ id: adult, name: Adult, antiPassbackSec: -5 }'));
    let err: unknown;
    try {
      loadGateConfig(file);
    } catch (e) {
      err = e;
    }
    expect(isStileError(err, StileErrorCode.ConfigInvalid)).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain(`${file}: site.timezone: unknown IANA time zone`);
    expect(msg).toContain(`${file}: gate.id: expected lowercase letters`);
    expect(msg).toContain(`${file}: ticketTypes[0].antiPassbackSec:`);
    expect(msg).toMatch(/inputs\[0\]: .*baud/);
    expect(msg.split('\n').length).toBeGreaterThanOrEqual(4);
  });

  it('reports YAML syntax errors with the line', () => {
    const file = write('version: 1\nsite: { id: x\n');
    expect(() => loadGateConfig(file)).toThrow(/gate\.yaml: line \d+:/);
  });

  it('reports a missing file as unreadable', () => {
    try {
      loadGateConfig('/nonexistent/gate.yaml');
      expect.unreachable();
    } catch (err) {
      expect(isStileError(err, StileErrorCode.ConfigUnreadable)).toBe(true);
    }
  });

  it('rejects duplicate ticket type ids', () => {
    const file = write(VALID.replace('  - { id: adult, name: Adult }', '  - { id: adult, name: Adult }\n  - { id: adult, name: Again }'));
    expect(() => loadGateConfig(file)).toThrow(/ticketTypes\[1\]\.id: duplicate ticket type id "adult"/);
  });
});
