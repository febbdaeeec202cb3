import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { REFUSALS, type RefusalCode, type Reply } from './refusals.js';

/*
 * OpenAPI helpers shared by the channel and staff routes: success bodies and, for each route,
 * its error bodies grouped by status, the `error` of each an enum of exactly the codes that
 * route can answer (core/http/refusals.ts).
 */

export const json = (schema: z.ZodType, description: string) => ({ content: { 'application/json': { schema } }, description });

/** Details some refusals carry beside `error` and `message`. */
const ErrorDetails = {
  visitor: z.number().int().min(0).optional().openapi({ description: 'Index in `visitors` of the visitor refused (0 = the first)' }),
  slotId: z.string().optional(),
  requested: z.number().int().optional().openapi({ description: 'Visitors the order asked for' }),
  remaining: z.number().int().optional().openapi({ description: 'Visitors that could still be sold there' }),
  replayed: z.literal(true).optional().openapi({ description: 'The stored answer to a retried write' }),
  attemptsLeft: z.number().int().min(0).optional().openapi({ description: '`sms_code_wrong`: tries the code has left (0: it is dead)' }),
  order: z.object({ orderId: z.string(), status: z.string() }).optional().openapi({ description: '`already_paid` answering a cancel: the order as it is now (paid meanwhile: the payment won)' }),
  retryAfterSec: z.number().int().min(1).optional().openapi({ description: '`sms_code_throttled`: seconds until a code may be asked for again (also the Retry-After header)' }),
};

/** Codes every `/v1/…` route can answer besides its own. */
export const COMMON_CODES: RefusalCode[] = ['payload_too_large', 'internal'];

/** The `responses` entries for these codes: one per status, `error` an enum of that status's codes. */
export function errorResponses(codes: readonly RefusalCode[]): Record<number, ReturnType<typeof json>> {
  const byStatus = new Map<number, RefusalCode[]>();
  for (const code of new Set([...codes, ...COMMON_CODES])) {
    const status = REFUSALS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, ReturnType<typeof json>> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const schema = z
      .object({
        error: z.enum(list as [RefusalCode, ...RefusalCode[]]).openapi({ description: 'Machine-readable reason' }),
        message: z.string().openapi({ description: 'For people' }),
        ...ErrorDetails,
      })
      .strict();
    out[status] = json(schema, list.map((c) => `\`${c}\`: ${REFUSALS[c].text}`).join('; '));
  }
  return out;
}

/** The codes a route documents, for the test that every code is documented somewhere. */
export function documentedCodes(doc: { paths?: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> }): Set<string> {
  const found = new Set<string>();
  for (const ops of Object.values(doc.paths ?? {}))
    for (const op of Object.values(ops))
      for (const r of Object.values(op.responses ?? {})) {
        const schema = r.content?.['application/json']?.schema as { properties?: { error?: { enum?: string[] } } } | undefined;
        for (const c of schema?.properties?.error?.enum ?? []) found.add(c);
      }
  return found;
}

/**
 * A Sales reply as the HTTP response. Typed `never` on purpose: the statuses come from the
 * sales rules at run time, which the per-route response typing cannot follow; the schemas
 * in the routes document them and the contract test checks them.
 */
export function send(c: Context, reply: Reply): never {
  return c.json(reply.body, reply.status as 200) as never;
}
