import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../src/core/device-registry.js';
import { CloudStore } from '../src/core/db/store.js';

/**
 * Site and device ids may hold dashes, so gate `1` at site `park-east` and gate `east-1` at
 * site `park` would both default to the MQTT client id `stile-park-east-1`: whoever connects
 * with it can resume the other's persistent session. The registry refuses the second one.
 */
describe('device registry: one default MQTT client id per device', () => {
  let dir: string;
  let store: CloudStore;
  let registry: DeviceRegistry;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stile-clientid-'));
    store = await CloudStore.open({ sqlitePath: join(dir, 'cloud.db') });
    for (const s of ['park', 'park-east', 'screen']) await store.ensureSite(s, 'ck1');
    registry = new DeviceRegistry(store);
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a gate whose client id is another site’s gate’s, and says which device has it', async () => {
    await registry.issue('park-east', 'gate', '1');
    await expect(registry.issue('park', 'gate', 'east-1')).rejects.toThrow(/client id "stile-park-east-1" of gate "1" at park-east; choose another id/);
    expect((await registry.list('park')).map((r) => r.device)).not.toContain('east-1');
  });

  it('refuses a gate that would take a screen’s client id across kinds', async () => {
    await registry.issue('park', 'screen', 'entrance');
    await expect(registry.issue('screen', 'gate', 'park-entrance')).rejects.toThrow(/of screen "entrance" at park/);
  });

  it('re-issuing the same device (rotation) is not a clash, and a revoked holder frees the id', async () => {
    await expect(registry.issue('park-east', 'gate', '1')).resolves.toMatchObject({ username: 'gate.park-east.1' });
    await registry.revoke('park-east', 'gate', '1');
    await expect(registry.issue('park', 'gate', 'east-1')).resolves.toMatchObject({ username: 'gate.park.east-1' });
  });
});
