// The API contract's machinery (#15 point 5), shared by contract.test.ts and the per-module
// contract tests (#19): call a route for real and validate its status, content type and body
// against the OpenAPI document's entry for that status; remember what was answered, so a
// test can check that every route it owns answered a success and a refusal.
import { Ajv, type ValidateFunction } from 'ajv';
import { expect } from 'vitest';
import { uniqueId } from './helpers.js';

export type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>; components?: object };
export interface Answer {
  status: number;
  type: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
export interface CallOptions {
  /** Sent as `Authorization: Bearer …`. */
  key?: string;
  body?: unknown;
  idem?: boolean | string;
  /** A raw JSON body (malformed on purpose). */
  raw?: string;
  /** A raw body with its own content type (text/csv). */
  text?: { body: string; type: string };
  headers?: Record<string, string>;
}

/**
 * Paths whose contract a module's own test file checks (contract-<module>.test.ts): the main
 * contract test calls everything else. A new module's routes go under one of these prefixes.
 */
export const MODULE_CONTRACTS: Record<string, RegExp> = {
  visitors: /^\/v1\/(staff\/sites\/\{site\}\/visitors|visitor\/)/,
  pos: /^\/v1\/pos\//,
  marketing: /^\/v1\/(staff\/sites\/\{site\}\/(coupons|membership|marketing)|coupons\/)/,
  partners: /^\/v1\/(partner\/|staff\/sites\/\{site\}\/partners)/,
  insight: /^\/v1\/staff\/sites\/\{site\}\/insight/,
};

export class ContractClient {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  /** "METHOD path status" of every answer checked. */
  readonly seen = new Set<string>();

  private constructor(
    readonly base: string,
    readonly doc: Doc,
  ) {}

  static async connect(base: string): Promise<ContractClient> {
    return new ContractClient(base, (await (await fetch(`${base}/openapi.json`)).json()) as Doc);
  }

  /** Call a route (path with values), validate the answer against `template`'s document entry. */
  async call(method: string, template: string, path: string, opts: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
    if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
    if (opts.text) headers['content-type'] = opts.text.type;
    if (opts.idem !== undefined && opts.idem !== false) headers['idempotency-key'] = opts.idem === true ? uniqueId('idem') : opts.idem;
    const ac = new AbortController();
    const body = opts.text ? opts.text.body : opts.raw !== undefined ? opts.raw : opts.body !== undefined ? JSON.stringify(opts.body) : undefined;
    const res = await fetch(this.base + path, { method, headers, signal: ac.signal, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    let answer: unknown;
    if (type === 'text/event-stream') {
      ac.abort(); // the stream never ends; its headers are the answer
      answer = '';
    } else {
      const text = await res.text();
      answer = type === 'application/json' ? JSON.parse(text) : text;
    }
    const op = this.doc.paths[template]?.[method.toLowerCase()];
    expect(op, `${method} ${template} is in the document`).toBeDefined();
    const response = op!.responses[String(res.status)];
    expect(response, `${method} ${template} documents status ${res.status} (got ${JSON.stringify(answer).slice(0, 200)})`).toBeDefined();
    // A browser navigation's redirect (the WeChat OAuth routes): documented, with somewhere to go and no body.
    if (res.status >= 300 && res.status < 400) {
      expect(res.headers.get('location'), `${method} ${template} ${res.status} has a Location`).toBeTruthy();
      this.seen.add(`${method.toUpperCase()} ${template} ${res.status}`);
      return { status: res.status, type, body: { location: res.headers.get('location') } };
    }
    const media = response!.content?.[type];
    expect(media, `${method} ${template} ${res.status} documents ${type}`).toBeDefined();
    const key = `${method} ${template} ${res.status} ${type}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile({ allOf: [media!.schema], components: this.doc.components });
      this.validators.set(key, validate);
    }
    if (!validate(answer)) throw new Error(`${key}: the body does not match the document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(answer).slice(0, 500)}`);
    this.seen.add(`${method.toUpperCase()} ${template} ${res.status}`);
    return { status: res.status, type, body: answer };
  }

  /** A validator for one documented response (a check of the check). */
  schemaOf(path: string, method: string, status: string): ValidateFunction {
    return this.ajv.compile({ allOf: [this.doc.paths[path]![method]!.responses[status]!.content!['application/json']!.schema], components: this.doc.components });
  }

  /** Every route of the document that `owns` picks answered a success (or its redirect) and a refusal. */
  expectEveryRouteCalled(owns: (path: string) => boolean): void {
    let routes = 0;
    for (const [path, ops] of Object.entries(this.doc.paths)) {
      if (!owns(path)) continue;
      for (const method of Object.keys(ops)) {
        routes++;
        const got = [...this.seen].filter((k) => k.startsWith(`${method.toUpperCase()} ${path} `));
        expect(got.some((k) => /\s[23]\d\d$/.test(k)), `${method} ${path} answered a success (or, a browser navigation, its redirect)`).toBe(true);
        expect(got.some((k) => /\s[45]\d\d$/.test(k)), `${method} ${path} answered a refusal`).toBe(true);
      }
    }
    expect(routes, 'the document has routes of this kind').toBeGreaterThan(0);
  }
}

/** Paths no module contract test owns: the main contract test's. */
export const mainContract = (path: string): boolean => !Object.values(MODULE_CONTRACTS).some((re) => re.test(path));
