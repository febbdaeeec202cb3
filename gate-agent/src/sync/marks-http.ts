import { GateMarksDocumentSchema, verifySiteDocument, StileError, StileErrorCode, type TrustedKeys } from '@stile/config';
import { authHeaders, httpError, readCapped, type CloudCredential } from './resync-http.js';

/** The marks document is tiny; anything large is not one. */
const MARKS_MAX_BYTES = 64 * 1024;

/**
 * GET {base}/v1/sites/{site}/gates/{gate}/marks with the gate's credential: the highest entry
 * seq the cloud stored for this gate and its newest epoch, signed for the site and checked
 * against keys.control (gatectl restore, gatectl resend; docs/backup.md). A gate the cloud
 * has never heard of (404) stands at 0/0.
 */
export async function fetchMarks(base: string, site: string, gate: string, credential: CloudCredential | null, trusted: TrustedKeys, today: string): Promise<{ highSeq: bigint; epoch: number }> {
  const url = `${base}/v1/sites/${encodeURIComponent(site)}/gates/${encodeURIComponent(gate)}/marks`;
  let body: unknown;
  try {
    const res = await fetch(url, { headers: authHeaders(credential), redirect: 'error', signal: AbortSignal.timeout(30_000) });
    if (res.status === 404) {
      await res.body?.cancel();
      return { highSeq: 0n, epoch: 0 };
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw httpError('GET marks', res.status, credential);
    }
    body = JSON.parse((await readCapped(res, MARKS_MAX_BYTES, 'GET marks')).toString('utf8'));
  } catch (err) {
    throw new StileError(StileErrorCode.StoreUnavailable, `cannot reach the cloud at ${base}: ${(err as Error).message}; gate database unchanged`);
  }
  const verdict = verifySiteDocument(body, GateMarksDocumentSchema, site, trusted, today);
  if (!verdict.ok) throw new StileError(StileErrorCode.StoreUnavailable, `${url}: refused: ${verdict.reason}: ${verdict.detail}; gate database unchanged`);
  if (verdict.doc.gate !== gate) throw new StileError(StileErrorCode.StoreUnavailable, `${url}: signed for gate "${verdict.doc.gate}", not ${gate}; gate database unchanged`);
  return { highSeq: BigInt(verdict.doc.highSeq), epoch: verdict.doc.epoch };
}
