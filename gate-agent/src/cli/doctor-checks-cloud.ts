/**
 * The doctor's checks of the link to the cloud: broker, snapshot, whitelist. Pure, like
 * doctor-checks.ts; the connection attempts are in doctor-probe-cloud.ts.
 */
import { LIMITS, problem } from './doctor-checks.js';
import type { ProblemKey } from './doctor-problems.js';
import { passed, type CheckResult, type Role } from './doctor-report.js';

// ---------------------------------------------------------------- broker

export type BrokerResult =
  | { ok: true; protocol: 4 | 5; granted: boolean }
  | { ok: false; stage: 'file'; file: string; message: string }
  | { ok: false; stage: 'connack'; protocol: 4 | 5; code: number; message: string }
  | { ok: false; stage: 'network' | 'tls'; code: string; message: string }
  | { ok: false; stage: 'timeout'; message: string };

export type BrokerFacts =
  | { configured: false }
  | { configured: true; url: string; username: string | null; caFile: string | null; topic: string; result: BrokerResult };

/**
 * A CONNACK refusal in words, and which problem it is. MQTT 3.1.1 return codes 1–5 and
 * MQTT 5 reason codes 0x80 and up (OASIS MQTT 5.0, 3.2.2.2).
 */
export function connackWords(protocol: 4 | 5, code: number): { words: string; key: ProblemKey } {
  const v4: Record<number, [string, ProblemKey]> = {
    1: ['unacceptable protocol version', 'broker.protocol'],
    2: ['client identifier rejected', 'broker.client_id'],
    3: ['server unavailable', 'broker.unavailable'],
    4: ['bad user name or password', 'broker.bad_credentials'],
    5: ['not authorized', 'broker.bad_credentials'],
  };
  const v5: Record<number, [string, ProblemKey]> = {
    0x80: ['unspecified error', 'broker.unavailable'],
    0x81: ['malformed packet', 'broker.protocol'],
    0x82: ['protocol error', 'broker.protocol'],
    0x83: ['implementation specific error', 'broker.unavailable'],
    0x84: ['unsupported protocol version', 'broker.protocol'],
    0x85: ['client identifier not valid', 'broker.client_id'],
    0x86: ['bad user name or password', 'broker.bad_credentials'],
    0x87: ['not authorized', 'broker.bad_credentials'],
    0x88: ['server unavailable', 'broker.unavailable'],
    0x89: ['server busy', 'broker.unavailable'],
    0x8a: ['banned', 'broker.unavailable'],
    0x8c: ['bad authentication method', 'broker.bad_credentials'],
    0x95: ['packet too large', 'broker.protocol'],
    0x97: ['quota exceeded', 'broker.unavailable'],
    0x9c: ['use another server', 'broker.unavailable'],
    0x9d: ['server moved', 'broker.unavailable'],
    0x9f: ['connection rate exceeded', 'broker.unavailable'],
  };
  // A 3.1.1 broker answers an MQTT 5 CONNECT with return code 1; mqtt.js passes it on as is.
  const hit = (protocol === 5 && code >= 0x80 ? v5 : v4)[code] ?? v5[code] ?? v4[code];
  return hit ? { words: `${hit[0]} (CONNACK code ${code})`, key: hit[1] } : { words: `refused with CONNACK code ${code}`, key: 'broker.unavailable' };
}

export function checkBroker(f: BrokerFacts, role: Role): CheckResult {
  const id = 'broker';
  if (!f.configured) return passed(id, 'not configured: an offline device (no mqtt section)');
  let host = '';
  let port = '';
  try {
    const u = new URL(f.url);
    host = u.hostname;
    port = u.port || (u.protocol === 'mqtts:' ? '8883' : u.protocol === 'wss:' ? '443' : u.protocol === 'ws:' ? '80' : '1883');
  } catch {
    // the config check reports a bad URL
  }
  const params = { url: f.url, host, port, username: f.username ?? '(none)', caFile: f.caFile ?? 'mqtt.caFile', topic: f.topic };
  const r = f.result;
  const who = f.username ? ` as ${f.username}` : ' without a login';
  if (r.ok) {
    if (!r.granted) return problem(role, id, 'broker.not_subscribed', `connected to ${f.url}${who}, but the subscription to ${f.topic} was refused`, params);
    return passed(id, `connected to ${f.url}${who} (MQTT ${r.protocol === 5 ? '5' : '3.1.1'}${f.url.startsWith('mqtts') || f.url.startsWith('wss') ? `, TLS${f.caFile ? ` with CA ${f.caFile}` : ''}` : ''}), subscription granted`);
  }
  switch (r.stage) {
    case 'file':
      return problem(role, id, 'broker.file', `${r.file}: ${r.message}`, { ...params, file: r.file });
    case 'connack': {
      const w = connackWords(r.protocol, r.code);
      return problem(role, id, w.key, `${f.url} refused the connection${who}: ${w.words}`, { ...params, reason: w.words });
    }
    case 'tls':
      return problem(role, id, 'broker.tls', `${f.url}: TLS failed: ${r.message}`, params);
    case 'timeout':
      return problem(role, id, 'broker.unreachable', `${f.url}: no answer (${r.message})`, params);
    default:
      return problem(role, id, 'broker.unreachable', `${f.url}: ${r.message}`, params);
  }
}

// ---------------------------------------------------------------- snapshot

export type SignatureFinding =
  | { via: 'snapshot' | 'delta' | 'ticket-types'; ok: true }
  | { via: 'snapshot' | 'delta' | 'ticket-types'; ok: false; reason: string; detail: string }
  | { via: 'none'; why: string };

export type SnapshotResult =
  | { ok: false; stage: 'network'; message: string }
  | { ok: false; stage: 'http'; status: number; message: string }
  | { ok: true; header: { site: string | null; asOfSeq: string | null } | null; headerError: string | null; signature: SignatureFinding };

export type SnapshotFacts =
  | { configured: false; linked: boolean }
  | { configured: true; url: string; site: string; username: string | null; result: SnapshotResult };

export function checkSnapshot(f: SnapshotFacts, role: Role): CheckResult {
  const id = 'snapshot';
  if (!f.configured) {
    return f.linked ? problem(role, id, 'snapshot.not_configured', 'mqtt.snapshotUrl is not set') : passed(id, 'not configured: an offline gate (whitelists are imported by hand)');
  }
  const params = { url: f.url, site: f.site };
  const r = f.result;
  if (!r.ok && r.stage === 'network') return problem(role, id, 'snapshot.unreachable', `${f.url}: ${r.message}`, params);
  if (!r.ok) return problem(role, id, r.status === 401 || r.status === 403 ? 'snapshot.refused' : 'snapshot.http', `${f.url}: ${r.message}`, { ...params, username: f.username ?? '(none)' });
  if (!r.header) return problem(role, id, 'snapshot.invalid', `${f.url}: ${r.headerError ?? 'the first line is not a snapshot header'}`, params);
  if (r.header.site !== null && r.header.site !== f.site) return problem(role, id, 'snapshot.invalid', `${f.url} sent the snapshot of site "${r.header.site}", not "${f.site}"`, params);
  const head = `seq ${r.header.asOfSeq ?? '?'}`;
  const s = r.signature;
  if (s.via === 'none') return problem(role, id, 'snapshot.unverified', `${f.url} answers (${head}); ${s.why}`, params);
  const what = s.via === 'snapshot' ? 'the snapshot' : s.via === 'delta' ? 'the newest whitelist delta' : 'the ticket types';
  if (!s.ok) return problem(role, id, 'snapshot.bad_signature', `${what} from ${f.url}: ${s.reason}: ${s.detail}`, params);
  return passed(id, `${f.url} answers the gate's credential (${head}); ${what} verified under keys.control`);
}

// ---------------------------------------------------------------- whitelist

export interface WhitelistFacts {
  tickets: number;
  seq: string | null;
  importedAt: string | null;
  now: number;
  /** The gate is connected to a cloud (mqtt set). */
  linked: boolean;
  cloudHead: { seq: string; source: string } | null;
}

export function checkWhitelist(f: WhitelistFacts, role: Role): CheckResult {
  const id = 'whitelist';
  const imported = f.importedAt ? `, imported ${f.importedAt}` : '';
  const local = `${f.tickets} tickets, seq ${f.seq ?? '-'}${imported}`;
  if (f.tickets === 0 && f.seq === null) return problem(role, id, 'whitelist.empty', 'no whitelist (0 tickets, never imported)');
  if (!f.linked) {
    const age = f.importedAt ? f.now - Date.parse(f.importedAt) : null;
    if (age !== null && age > LIMITS.whitelistStaleMs) return problem(role, id, 'whitelist.stale', `${local}: ${Math.round(age / 3600_000)} h old, and an offline gate gets nothing newer by itself`);
    return passed(id, `${local} (offline gate)`);
  }
  if (!f.cloudHead) return problem(role, id, 'whitelist.head_unknown', `${local}; the cloud's head seq is unknown`);
  const here = BigInt(f.seq ?? '0');
  const there = BigInt(f.cloudHead.seq);
  if (here < there) return problem(role, id, 'whitelist.behind', `${local}; the cloud is at seq ${there} (${f.cloudHead.source}): ${there - here} change(s) behind`);
  if (here > there) return problem(role, id, 'whitelist.ahead', `${local}; the cloud is at seq ${there} (${f.cloudHead.source}), behind this gate`);
  return passed(id, `${local}; the same seq as the cloud (${f.cloudHead.source})`);
}
