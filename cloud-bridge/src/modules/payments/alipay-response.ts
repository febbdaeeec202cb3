/**
 * Alipay gateway answers: `{"<method with _>_response":{…},"sign":"…"}` (or
 * `"error_response"`). The signature covers the exact text of the response value as sent —
 * Alipay writes `\/` for `/`, and a re-serialised object would not verify — so the raw text
 * is cut out of the body by a JSON scanner (string-aware, not indexOf), and a body with the
 * same top-level key twice is refused rather than guessed at.
 */
import { CloudError } from '../../core/errors.js';
import { alipayRsa2Verify } from './alipay-sign.js';
import type { KeyObject } from 'node:crypto';

/** Top-level keys of a JSON object text and the raw text of each value; undefined if not one well-formed object or a key repeats. */
export function topLevelRawValues(text: string): Map<string, string> | undefined {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const skipString = (): boolean => {
    if (text[i] !== '"') return false;
    i++;
    while (i < n) {
      const c = text[i];
      if (c === '\\') i += 2;
      else if (c === '"') {
        i++;
        return true;
      } else i++;
    }
    return false;
  };
  const skipValue = (): boolean => {
    ws();
    const c = text[i];
    if (c === '"') return skipString();
    if (c === '{' || c === '[') {
      let depth = 0;
      while (i < n) {
        const d = text[i];
        if (d === '"') {
          if (!skipString()) return false;
          continue;
        }
        if (d === '{' || d === '[') depth++;
        else if (d === '}' || d === ']') {
          depth--;
          if (depth === 0) {
            i++;
            return true;
          }
        }
        i++;
      }
      return false;
    }
    const start = i;
    while (i < n && !',}] \n\r\t'.includes(text[i]!)) i++;
    return i > start;
  };
  const out = new Map<string, string>();
  ws();
  if (text[i] !== '{') return undefined;
  i++;
  ws();
  if (text[i] === '}') {
    i++;
    ws();
    return i === n ? out : undefined;
  }
  while (i < n) {
    ws();
    const keyStart = i;
    if (!skipString()) return undefined;
    let key: string;
    try {
      key = JSON.parse(text.slice(keyStart, i)) as string;
    } catch {
      return undefined;
    }
    ws();
    if (text[i] !== ':') return undefined;
    i++;
    ws();
    const valueStart = i;
    if (!skipValue()) return undefined;
    if (out.has(key)) return undefined;
    out.set(key, text.slice(valueStart, i));
    ws();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') {
      i++;
      ws();
      return i === n ? out : undefined;
    }
    return undefined;
  }
  return undefined;
}

export interface AlipayAnswer {
  /** `<method>_response` or `error_response`. */
  key: string;
  /** The signed text. */
  raw: string;
  body: Record<string, unknown>;
  signed: boolean;
}

/** The response key of a method: alipay.trade.query → alipay_trade_query_response. */
export function alipayResponseKey(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

/**
 * Cut the answer out of a gateway body and verify it. Throws payment_malformed (not one JSON
 * object, no response value, value not an object) and payment_bad_signature (a sign that
 * does not verify). An answer without `sign` comes back with `signed: false`: the caller
 * may read an error code from it but never act on a success.
 */
export function readAlipayAnswer(text: string, method: string, alipayPublicKey: KeyObject): AlipayAnswer {
  const values = topLevelRawValues(text);
  if (values === undefined) throw new CloudError('payment_malformed', 'Alipay: the answer is not one JSON object', { reason: 'not_json' });
  const responseKey = alipayResponseKey(method);
  const key = values.has(responseKey) ? responseKey : values.has('error_response') ? 'error_response' : undefined;
  if (key === undefined) throw new CloudError('payment_malformed', `Alipay: the answer has no ${responseKey}`, { reason: 'no_response' });
  const raw = values.get(key)!;
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CloudError('payment_malformed', `Alipay: ${key} is not an object`, { reason: 'not_object' });
  const signRaw = values.get('sign');
  if (signRaw === undefined) return { key, raw, body: body as Record<string, unknown>, signed: false };
  let sign: unknown;
  try {
    sign = JSON.parse(signRaw);
  } catch {
    sign = undefined;
  }
  if (typeof sign !== 'string' || !alipayRsa2Verify(raw, sign, alipayPublicKey)) {
    throw new CloudError('payment_bad_signature', `Alipay: the ${key} signature does not verify`, { reason: 'bad_signature' });
  }
  return { key, raw, body: body as Record<string, unknown>, signed: true };
}
