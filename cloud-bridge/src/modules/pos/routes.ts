import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { errorResponses, json } from '../../core/http/openapi.js';
import { refusalBody, type RefusalCode } from '../../core/http/refusals.js';
import { bearer } from '../../core/http/staff-auth.js';
import type { CloudApp } from '../../core/module.js';
import { csvToLines, CSV_COLUMNS } from './csv.js';
import { MAX_LINES } from './lines.js';
import { PosDayQuerySchema, PosDaySchema, PosLinesBodySchema, SubmissionSchema } from './schemas.js';
import type { LineInput, PosService } from './service.js';

/** The POS system a key belongs to. */
export interface PosCaller {
  site: string;
  source: string;
  timeZone: string;
}

/** Each POS route's refusals (besides 413 and 500). */
export const POS_ROUTE_CODES = {
  submit: ['unknown_api_key', 'invalid_request'],
  submitCsv: ['unknown_api_key', 'invalid_request'],
  day: ['unknown_api_key', 'invalid_request', 'invalid_date'],
} satisfies Record<string, RefusalCode[]>;

/** `/v1/pos/…`: each POS system sends its lines with its own key, which names its site and source. */
export function posRoutes(app: CloudApp, service: PosService, callerForKey: (key: string) => PosCaller | undefined): void {
  const security = [{ posKey: [] }];
  const tags = ['pos'];
  app.openAPIRegistry.registerComponent('securitySchemes', 'posKey', { type: 'http', scheme: 'bearer', description: "The POS system's API key (cloud.yaml sites[].pos.sources[].apiKeySha256)" });
  // The key is checked before the body is read or validated: an unknown caller learns nothing about the body.
  const callers = new WeakMap<Request, PosCaller>();
  app.use('/v1/pos/*', async (c, next) => {
    const key = bearer(c);
    const found = key ? callerForKey(key) : undefined;
    if (!found) return c.json(refusalBody('unknown_api_key', 'send the POS API key as Authorization: Bearer <key>'), 401);
    callers.set(c.req.raw, found);
    await next();
    return undefined;
  });
  const caller = (c: Context): PosCaller | Response => callers.get(c.req.raw) ?? c.json(refusalBody('unknown_api_key', 'send the POS API key as Authorization: Bearer <key>'), 401);
  const answer = async (c: Context, who: PosCaller, inputs: LineInput[]) => c.json({ source: who.source, ...(await service.submit(who.site, who.source, who.timeZone, inputs)) }, 200);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/pos/lines',
      tags,
      security,
      summary: `Secondary spending: up to ${MAX_LINES} sale lines, each linked to its visit; an answer per line`,
      description:
        'Each line is accepted (stored, the spend on the visitor\'s profile, a coupon redeemed in the same transaction), `duplicate` (this POS sent this lineId before with the same content: counted once, also when two requests race) or refused with a `reason`: `unknown_visit` (nothing stored), `invalid_line`, `line_conflict`, or the coupon\'s `coupon_*`. A refused line does not stop the others. No Idempotency-Key: the lineId is the key.',
      request: { body: { content: { 'application/json': { schema: PosLinesBodySchema } }, required: true } },
      responses: { 200: json(SubmissionSchema, 'An answer per line'), ...errorResponses(POS_ROUTE_CODES.submit) },
    }),
    async (c) => {
      const who = caller(c);
      if (who instanceof Response) return who as never;
      return (await answer(c, who, c.req.valid('json').lines.map((raw) => ({ raw })))) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/pos/lines.csv',
      tags,
      security,
      summary: `The same as POST /v1/pos/lines, as CSV (a header row, up to ${MAX_LINES} lines); each answer names its CSV line`,
      description: `Columns (header names match case-insensitively, _ ignored): ${CSV_COLUMNS.join(', ')}. lineId, at, category and one of amountFen / amountYuan ("48.50") are required, and one of memberCode / ticketCode / phone. A file that is not CSV or has an unknown column is \`400 invalid_request\` naming the line; a bad row is refused on its own (\`csvLine\`). A day's export: \`stile-cloud pos import\`.`,
      request: { body: { content: { 'text/csv': { schema: z.string().openapi({ example: 'lineId,at,amountFen,category,item,ticketCode,couponCode\nR1-0042,2027-03-10 12:31:05,4800,restaurant,noodles,ST1:…,\n' }) } }, required: true } },
      responses: { 200: json(SubmissionSchema, 'An answer per line'), ...errorResponses(POS_ROUTE_CODES.submitCsv) },
    }),
    async (c) => {
      const who = caller(c);
      if (who instanceof Response) return who as never;
      const parsed = csvToLines(await c.req.text());
      if (!parsed.ok) return c.json(refusalBody('invalid_request', parsed.error), 400) as never;
      if (parsed.lines.length === 0) return c.json(refusalBody('invalid_request', 'no lines under the header'), 400) as never;
      if (parsed.lines.length > MAX_LINES) return c.json(refusalBody('invalid_request', `${parsed.lines.length} lines: at most ${MAX_LINES} per request (a day's export: stile-cloud pos import)`), 400) as never;
      return (await answer(c, who, parsed.lines)) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/pos/lines',
      tags,
      security,
      summary: "This POS's own stored lines of a park-local day, with totals, to reconcile",
      request: { query: PosDayQuerySchema },
      responses: { 200: json(PosDaySchema, 'Lines of the day'), ...errorResponses(POS_ROUTE_CODES.day) },
    }),
    async (c) => {
      const who = caller(c);
      if (who instanceof Response) return who as never;
      const { date } = c.req.valid('query');
      const lines = await service.linesOfDay(who.site, who.source, date);
      return c.json(
        {
          source: who.source,
          date,
          count: lines.length,
          amountFen: lines.reduce((s, l) => s + l.amountFen, 0),
          discountFen: lines.reduce((s, l) => s + l.discountFen, 0),
          lines: lines.map((l) => ({ lineId: l.lineId, at: l.at, amountFen: l.amountFen, discountFen: l.discountFen, category: l.category, item: l.item, link: l.link, couponCode: l.couponCode, receivedAt: l.receivedAt })),
        },
        200,
      ) as never;
    },
  );
}
