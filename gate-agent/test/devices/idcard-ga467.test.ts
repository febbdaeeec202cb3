import { describe, expect, it } from 'vitest';
import { hashIdNumber, type IdCardGa467Config } from '@stile/config';
import type { Credential } from '../../src/gate/credential.js';
import { IdCardReader } from '../../src/devices/idcard-ga467.js';
import { encodeCardData, encodeIdText, encodeResponse, Ga467Framer } from '../../src/protocol/ga467.js';
import { fakeOpener, until, type FakeSerial } from '../helpers/fake-serial.js';
import { silent } from '../helpers/site.js';

const KEY = 'k'.repeat(32);
const ID = '11010519491231002X';
const cfg: IdCardGa467Config = { type: 'idcard-ga467', name: 'idcard', path: '/dev/fake', baudRate: 115200, pollMs: 200, timeoutMs: 150 };

const text = encodeIdText({
  cardType: 'resident', name: '张三', genderCode: '1', nationCode: '01', birthDate: '19491231',
  address: '北京市西城区某街1号', idNumber: ID, authority: '北京市公安局西城分局', validFrom: '20200101', validTo: '长期',
});

/** Answers like a GA/T 467 module: 0x9F/0x80 to find, 0x90/0x81 to select, text+photo to read. */
function reader(port: FakeSerial, state: { card: boolean; mute: boolean; corrupt: boolean }) {
  const framer = new Ga467Framer();
  port.responder = (bytes) => {
    if (state.mute) return undefined;
    for (const f of framer.push(bytes)) {
      if (f.type !== 'frame') return encodeResponse(0x10);
      const [cmd, para] = f.payload;
      let out: Buffer;
      if (cmd === 0x20 && para === 0x01) out = state.card ? encodeResponse(0x9f, Buffer.alloc(4)) : encodeResponse(0x80);
      else if (cmd === 0x20 && para === 0x02) out = state.card ? encodeResponse(0x90, Buffer.alloc(8)) : encodeResponse(0x81);
      else if (cmd === 0x30) out = encodeResponse(0x90, encodeCardData(text, Buffer.alloc(1024, 0x55)));
      else out = encodeResponse(0x21);
      if (state.corrupt) out[out.length - 1] = out[out.length - 1]! ^ 0xff;
      return out;
    }
    return undefined;
  };
}

async function setup() {
  const fake = fakeOpener();
  const state = { card: false, mute: false, corrupt: false };
  fake.setup = (p) => reader(p, state);
  const r = new IdCardReader(cfg, KEY, silent, fake.open);
  const taps: Credential[] = [];
  r.on('credential', (c) => taps.push(c));
  r.start();
  await until(() => r.health.state === 'ok');
  return { r, state, taps, fake };
}

describe('GA/T 467 ID-card reader', () => {
  it('a card on the reader is one tap, however long it stays; only hash and masked number leave', async () => {
    const { r, state, taps } = await setup();
    state.card = true;
    await until(() => taps.length === 1);
    await new Promise((res) => setTimeout(res, 900)); // several more polls read the same card
    expect(taps).toEqual([{ kind: 'idcard', idHash: hashIdNumber(KEY, ID), masked: '**************002X' }]);
    expect(JSON.stringify(taps)).not.toContain('张三');
    await r.close();
  });

  it('reports a reader that stops answering and recovers when it answers again', async () => {
    const { r, state, taps } = await setup();
    state.mute = true;
    await until(() => r.health.state === 'degraded', 3000);
    expect(r.health.error).toMatch(/no answer/);
    state.mute = false;
    state.card = true;
    await until(() => taps.length === 1, 3000);
    expect(r.health.state).toBe('ok');
    await r.close();
  });

  it('a corrupt answer is counted and never becomes a tap', async () => {
    const { r, state, taps } = await setup();
    state.corrupt = true;
    state.card = true;
    await until(() => (r.health.discarded.bad_checksum ?? 0) >= 2);
    expect(taps).toEqual([]);
    state.corrupt = false;
    await until(() => taps.length === 1);
    await r.close();
  });

  it('reopens the port after an unplug and reads again', async () => {
    const { r, state, taps, fake } = await setup();
    fake.ports[0]!.unplug();
    expect(r.health.state).toBe('reconnecting');
    await until(() => r.health.state === 'ok' && fake.ports.length === 2);
    state.card = true;
    await until(() => taps.length === 1);
    await r.close();
  });
});
