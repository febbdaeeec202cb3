import { readFileSync, writeFileSync } from 'node:fs';
import {
  generateSigningKeyPair, loadSigningKey, loadTrustedKeys, signSnapshot, SnapshotDigest,
  type SigningKey, type SnapshotTicket, type TrustedKeys,
} from '@stile/config';

/** A site control key pair as a test needs it: the private half signs, the public half goes in keys.control. */
export interface ControlKey {
  key: SigningKey;
  publicKey: string;
  trusted: TrustedKeys;
}

export function controlKey(id = 'c1'): ControlKey {
  const pair = generateSigningKeyPair(id);
  return { key: loadSigningKey(id, pair.privateKeyPem), publicKey: pair.publicKey, trusted: loadTrustedKeys([{ id, publicKey: pair.publicKey }]) };
}

/** The signature line over `lines` (ticket lines, exact text) as cloud-bridge writes it. */
export function signatureLine(key: SigningKey, site: string, asOfSeq: string, lines: readonly string[]): string {
  const digest = new SnapshotDigest();
  for (const l of lines) digest.line(l);
  return JSON.stringify({ signature: signSnapshot(key, { site, asOfSeq, tickets: digest.tickets, sha256: digest.hex() }) });
}

/** NDJSON as the cloud serves it: header, one ticket per line, the signature line last. */
export function signedSnapshot(key: SigningKey, s: { site: string; asOfSeq: string; tickets: readonly (Partial<SnapshotTicket> | string)[] }): string {
  const lines = s.tickets.map((t) => (typeof t === 'string' ? t : JSON.stringify(t)));
  return `${[JSON.stringify({ snapshot: { site: s.site, asOfSeq: s.asOfSeq } }), ...lines, signatureLine(key, s.site, s.asOfSeq, lines)].join('\n')}\n`;
}

/** Append a signature line to an NDJSON file with a header (e.g. one from writeWhitelist). */
export function signSnapshotFile(file: string, key: SigningKey): void {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const header = JSON.parse(lines[0]!) as { snapshot: { site: string; asOfSeq: string } };
  writeFileSync(file, `${lines.join('\n')}\n${signatureLine(key, header.snapshot.site, header.snapshot.asOfSeq, lines.slice(1))}\n`);
}
