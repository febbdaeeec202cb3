import { describe, expect, it } from 'vitest';
import {
  LcusFramer,
  decodeRelayCommand,
  encodeRelayCommand,
  encodeRelayQuery,
  encodeRelayStatus,
  parseRelayStatus,
  type LcusFrame,
} from '../../src/protocol/lcus-relay.js';

const CH1_ON = Buffer.from([
  0xa0, // header
  0x01, // channel 1
  0x01, // state: on
  0xa2, // (A0 + 01 + 01) & FF
]);
const CH1_OFF = Buffer.from([0xa0, /* channel */ 0x01, /* off */ 0x00, /* sum */ 0xa1]);
const CH2_ON = Buffer.from([0xa0, /* channel */ 0x02, /* on */ 0x01, /* sum */ 0xa3]);

function summary(items: LcusFrame[]): string[] {
  return items.map((f) =>
    f.type === 'command' ? `ch${f.channel} ${f.on ? 'on' : 'off'}` : f.type === 'query' ? 'query' : `${f.reason} ${f.bytes.toString('hex')}`,
  );
}

describe('LCUS relay commands', () => {
  it('encodes the reference commands', () => {
    expect(encodeRelayCommand(1, true)).toEqual(CH1_ON);
    expect(encodeRelayCommand(1, false)).toEqual(CH1_OFF);
    expect(encodeRelayCommand(2, true)).toEqual(CH2_ON);
    expect(encodeRelayCommand(0xff, true)).toEqual(Buffer.from([0xa0, 0xff, 0x01, 0xa0])); // checksum wraps
    expect(encodeRelayQuery()).toEqual(Buffer.from([0xff]));
  });

  it('rejects channels outside 1..255', () => {
    for (const ch of [0, 256, 1.5, -1]) expect(() => encodeRelayCommand(ch, true)).toThrow(RangeError);
  });

  it('decodes one command and names what is wrong with a bad one', () => {
    expect(decodeRelayCommand(CH1_ON)).toEqual({ ok: true, channel: 1, on: true });
    expect(decodeRelayCommand(CH1_OFF)).toEqual({ ok: true, channel: 1, on: false });
    expect(decodeRelayCommand(CH1_ON.subarray(0, 3))).toEqual({ ok: false, reason: 'bad_length' });
    expect(decodeRelayCommand(Buffer.from([0xa1, 0x01, 0x01, 0xa3]))).toEqual({ ok: false, reason: 'bad_header' });
    expect(decodeRelayCommand(Buffer.from([0xa0, 0x01, 0x01, 0xa3]))).toEqual({ ok: false, reason: 'bad_checksum' });
    expect(decodeRelayCommand(Buffer.from([0xa0, 0x01, 0x02, 0xa3]))).toEqual({ ok: false, reason: 'bad_command' }); // vendor "toggle"
    expect(decodeRelayCommand(Buffer.from([0xa0, 0x00, 0x01, 0xa1]))).toEqual({ ok: false, reason: 'bad_command' }); // channel 0
  });
});

describe('LcusFramer', () => {
  const stream = Buffer.concat([CH1_ON, encodeRelayQuery(), CH1_OFF, CH2_ON]);
  const expected = ['ch1 on', 'query', 'ch1 off', 'ch2 on'];

  it('gives the same result for a split at every byte position', () => {
    for (let i = 0; i <= stream.length; i++) {
      const f = new LcusFramer();
      expect(summary([...f.push(stream.subarray(0, i)), ...f.push(stream.subarray(i))]), `split at ${i}`).toEqual(expected);
    }
  });

  it('reports garbage between commands', () => {
    const input = Buffer.concat([Buffer.from([0x00, 0x0d, 0x0a]), CH1_ON, Buffer.from([0x12]), CH1_OFF]);
    expect(summary(new LcusFramer().push(input))).toEqual(['garbage 000d0a', 'ch1 on', 'garbage 12', 'ch1 off']);
  });

  it('discards a bad checksum up to the next header inside it, then decodes', () => {
    const input = Buffer.concat([Buffer.from([0xa0, 0x01, 0x01]), CH1_OFF]); // a command cut short
    expect(summary(new LcusFramer().push(input))).toEqual(['bad_checksum a00101', 'ch1 off']);
    expect(summary(new LcusFramer().push(Buffer.from([0xa0, 0x01, 0x01, 0xa3])))).toEqual(['bad_checksum a00101a3']);
  });

  it('discards well-formed commands it does not support', () => {
    expect(summary(new LcusFramer().push(Buffer.from([0xa0, 0x01, 0x02, 0xa3])))).toEqual(['bad_command a00102a3']);
  });

  it('reports an incomplete command on flush', () => {
    const f = new LcusFramer();
    expect(f.push(CH2_ON.subarray(0, 2))).toEqual([]);
    expect(f.pendingLength).toBe(2);
    expect(summary(f.flush())).toEqual(['truncated a002']);
    expect(f.flush()).toEqual([]);
  });
});

describe('relay status text (FF query)', () => {
  it('round-trips and accepts common variants', () => {
    const states = [{ channel: 1, on: true }, { channel: 2, on: false }];
    expect(encodeRelayStatus(states).toString('latin1')).toBe('CH1:ON\r\nCH2:OFF\r\n');
    expect(parseRelayStatus(encodeRelayStatus(states).toString('latin1'))).toEqual(states);
    expect(parseRelayStatus('ch1: on ch2=OFF\nCH10 ON\nnoise')).toEqual([...states, { channel: 10, on: true }]);
    expect(parseRelayStatus('')).toEqual([]);
  });
});
