import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, loadSigningKey, loadTrustedKeys, parseTicketCode, signControl, verifyOfflineTicket, type KioskPack } from '@stile/config';
import { checkPack, KioskOutbox, OfflineSeller, PackStore } from '../../src/sync/index.js';

const control = generateSigningKeyPair('ck1');
const controlKey = loadSigningKey('ck1', control.privateKeyPem);
const trusted = loadTrustedKeys([{ id: 'ck1', publicKey: control.publicKey }]);
const kioskPair = generateSigningKeyPair('kk1');
const kioskKey = loadSigningKey('kk1', kioskPair.privateKeyPem);
const NOON = new Date('2027-03-10T04:00:00Z'); // 12:00 in Shanghai
const who = { site: 'park', kiosk: 'k1' };

function pack(over: Partial<KioskPack> = {}): KioskPack {
  return signControl(
    {
      v: 1 as const, site: 'park', kiosk: 'k1', date: '2027-03-10', timeZone: 'Asia/Shanghai', issuedAt: '2027-03-10T00:00:00Z', expiresAt: '2027-03-10T16:00:00Z',
      keyId: 'kk1', offlineCap: 5, types: [{ id: 'adult', name: { 'zh-CN': '成人', en: 'Adult' }, priceFen: 8000, persons: 1 }, { id: 'family', name: { 'zh-CN': '家庭', en: 'Family' }, priceFen: 20000, persons: 3 }], slots: [],
      ...over,
    },
    controlKey,
  );
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function open(): { outbox: KioskOutbox; packs: PackStore; seller: OfflineSeller; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stile-kiosk-'));
  dirs.push(dir);
  return reopen(join(dir, 'kiosk.db'));
}
function reopen(path: string) {
  const outbox = new KioskOutbox(path);
  const packs = new PackStore(outbox, who, trusted);
  return { outbox, packs, seller: new OfflineSeller({ outbox, packs, key: kioskKey, site: 'park', idHashKey: 'k'.repeat(64) }), path };
}
const sale = (count: number, typeId = 'adult') => ({ saleId: `S${Math.random().toString(36).slice(2, 10)}`, typeId, date: '2027-03-10', count, cash: [], at: NOON, visitors: [{ name: '张三', idNumber: '11010519491231002X' }] });

describe('the offline pack', () => {
  it('is kept only when signed by the control key for this site and kiosk', () => {
    const intruder = loadSigningKey('ck1', generateSigningKeyPair('ck1').privateKeyPem);
    expect(checkPack(pack(), who, trusted, NOON.getTime())).toMatchObject({ ok: true });
    expect(checkPack({ ...pack(), offlineCap: 500 }, who, trusted, NOON.getTime())).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(checkPack(signControl({ ...pack(), sig: undefined }, intruder), who, trusted, NOON.getTime())).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(checkPack(pack({ kiosk: 'k2' }), who, trusted, NOON.getTime())).toMatchObject({ ok: false, reason: 'wrong_kiosk' });
    expect(checkPack(pack({ site: 'other' }), who, trusted, NOON.getTime())).toMatchObject({ ok: false, reason: 'wrong_site' });
  });

  it('survives a restart (on disk) and an older pack does not replace a newer one', () => {
    const k = open();
    expect(k.packs.offer(pack({ issuedAt: '2027-03-10T01:00:00Z' })).ok).toBe(true);
    expect(k.packs.offer(pack({ issuedAt: '2027-03-10T00:30:00Z', offlineCap: 50 }))).toMatchObject({ ok: false, reason: 'older' });
    k.outbox.close();
    expect(reopen(k.path).packs.pack?.offlineCap).toBe(5);
  });
});

describe('OfflineSeller', () => {
  it('refuses without a pack, with an expired one, on another day, and with a key the pack does not name', () => {
    const k = open();
    expect(k.seller.canSell(1, NOON)).toMatchObject({ ok: false, reason: 'no_pack' });
    k.packs.offer(pack());
    expect(k.seller.canSell(1, new Date('2027-03-10T16:00:00Z'))).toMatchObject({ ok: false, reason: 'pack_expired' });
    k.packs.offer(pack({ issuedAt: '2027-03-10T00:01:00Z', date: '2027-03-09' }));
    expect(k.seller.canSell(1, NOON)).toMatchObject({ ok: false, reason: 'pack_not_today' });
    k.packs.offer(pack({ issuedAt: '2027-03-10T00:02:00Z', keyId: 'kk9' }));
    expect(k.seller.canSell(1, NOON)).toMatchObject({ ok: false, reason: 'wrong_key' });
  });

  it('sells up to the cap in persons (a family ticket counts 3), keeps the count across a restart, and signs codes the kiosk key verifies', () => {
    const k = open();
    k.packs.offer(pack());
    const fam = k.seller.issue(sale(1, 'family'));
    expect(fam).toMatchObject({ amountFen: 20000, codes: [{ persons: 3 }] });
    const parsed = parseTicketCode(fam.codes[0]!.code);
    expect(parsed.ok && parsed.kind === 'st2' && verifyOfflineTicket(parsed, loadTrustedKeys([{ id: 'kk1', publicKey: kioskPair.publicKey }]), '2027-03-10')).toMatchObject({ ok: true, payload: { site: 'park', typeId: 'family', visitDate: '2027-03-10', persons: 3 } });
    expect(fam.record).toMatchObject({ kind: 'sale', seq: '1', payment: 'offline-cash', persons: 3, print: 'not_printed', visitors: [{ name: '张三', idMasked: '**************002X' }] });
    expect(JSON.stringify(fam.record)).not.toContain('11010519491231002X');
    expect(k.seller.canSell(3, NOON)).toEqual({ ok: false, reason: 'over_cap', left: 2 });
    expect(() => k.seller.issue(sale(3))).toThrow(/over_cap/);
    expect(k.outbox.outboxDepth()).toBe(1); // the refused sale left nothing behind
    k.outbox.close();
    const again = reopen(k.path);
    expect(again.seller.issue(sale(2)).record.seq).toBe('2');
    expect(again.seller.canSell(1, NOON)).toEqual({ ok: false, reason: 'over_cap', left: 0 });
    again.outbox.close();
  });
});
