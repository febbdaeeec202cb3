import { formatZodIssue, verifyControl, type TrustedKeys } from '@stile/config';

/** The part of a zod schema used here (gate-agent does not depend on zod itself). */
export interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

export type ControlCheck<T> = { ok: true; msg: T; raw: Record<string, unknown> } | { ok: false; reason: string; detail: string; raw?: Record<string, unknown> };

/**
 * Parse, validate and verify a signed cloud → gate message. The signature is checked on
 * the raw JSON object: zod fills defaults, which would change the signed bytes.
 */
export function checkControl<T>(payload: Buffer, schema: Schema<T>, trusted: TrustedKeys, today: string): ControlCheck<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'bad_json', detail: (err as Error).message };
  }
  return checkControlObject(raw, schema, trusted, today);
}

/** As checkControl, for a message already parsed from JSON (a delta inside a changes response). */
export function checkControlObject<T>(raw: unknown, schema: Schema<T>, trusted: TrustedKeys, today: string): ControlCheck<T> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'invalid', detail: 'not a JSON object' };
  const obj = raw as Record<string, unknown>;
  const parsed = schema.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: 'invalid', detail: issue ? formatZodIssue(issue, { root: '(message)' }) : 'invalid', raw: obj };
  }
  const verdict = verifyControl(obj, trusted, today);
  if (!verdict.ok) return { ok: false, reason: verdict.reason, detail: verdict.detail, raw: obj };
  return { ok: true, msg: parsed.data, raw: obj };
}
