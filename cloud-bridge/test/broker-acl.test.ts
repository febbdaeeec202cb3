import { describe, expect, it } from 'vitest';
import { clientIdAllowed, mayPublish, maySubscribe, type BrokerIdentity } from '../src/broker-acl.js';

const gate: BrokerIdentity = { kind: 'gate', site: 'park', id: 'east-1' };
const screen: BrokerIdentity = { kind: 'screen', site: 'park', id: 'entrance' };
const cloud: BrokerIdentity = { kind: 'cloud' };

describe('embedded broker ACL (the Mosquitto example as a pure function)', () => {
  it.each([
    [gate, 'stile/park/gates/east-1/entries', true],
    [gate, 'stile/park/gates/east-1/status', true],
    [gate, 'stile/park/gates/east-1/cmd/ack', true],
    [gate, 'stile/park/gates/west-1/entries', false], // another gate's entries
    [gate, 'stile/park/gates/east-1/entries/ack', false], // its own receipts: only the cloud empties an outbox
    [gate, 'stile/park/capacity', false],
    [gate, 'stile/park/announce', false],
    [gate, 'stile/park/whitelist/delta', false],
    [gate, 'stile/park/gates/east-1/cmd', false],
    [gate, 'stile/other/gates/east-1/entries', false],
    [screen, 'stile/park/announce', false],
    [screen, 'stile/park/capacity', false],
    [cloud, 'stile/park/announce', true],
    [cloud, 'stile/park/gates/east-1/entries/ack', true],
    [cloud, '$SYS/anything', false],
  ])('publish %o to %s: %s', (who, topic, allowed) => expect(mayPublish(who, topic)).toBe(allowed));

  it.each([
    [gate, 'stile/park/whitelist/delta', true],
    [gate, 'stile/park/whitelist/head', true],
    [gate, 'stile/park/capacity', true],
    [gate, 'stile/park/announce', true],
    [gate, 'stile/park/gates/east-1/cmd', true],
    [gate, 'stile/park/gates/east-1/entries/ack', true],
    [gate, 'stile/park/gates/west-1/cmd', false], // another gate's commands
    [gate, 'stile/park/gates/+/entries', false], // every admission of the park
    [gate, '#', false], // every new ticket id before its visitor arrives
    [gate, 'stile/#', false],
    [gate, 'stile/other/whitelist/delta', false],
    [screen, 'stile/park/capacity', true],
    [screen, 'stile/park/announce', true],
    [screen, 'stile/park/whitelist/delta', false],
    [screen, 'stile/other/capacity', false],
    [cloud, 'stile/+/gates/+/entries', true],
  ])('subscribe %o to %s: %s', (who, filter, allowed) => expect(maySubscribe(who, filter)).toBe(allowed));

  it('binds client ids to the device, so one gate cannot take over another gate’s session', () => {
    expect(clientIdAllowed(gate, 'stile-park-east-1')).toBe(true);
    expect(clientIdAllowed(gate, 'stile-park-east-1.doctor-3fa2c1')).toBe(true);
    // With a dash it would be the default id of gate "east-1-diag": taking over that gate's session.
    expect(clientIdAllowed(gate, 'stile-park-east-1-diag')).toBe(false);
    expect(clientIdAllowed(gate, 'stile-park-east-10')).toBe(false);
    expect(clientIdAllowed(gate, 'stile-park-west-1')).toBe(false);
    expect(clientIdAllowed(screen, 'stile-screen-park-entrance')).toBe(true);
    expect(clientIdAllowed(screen, 'stile-park-east-1')).toBe(false);
  });
});
