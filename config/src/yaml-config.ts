import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { StileError, StileErrorCode } from './errors.js';
import { issuePath } from './zod-issues.js';

/**
 * One loader for the YAML config files (gate.yaml, cloud.yaml and the files they name): read,
 * parse with line:column for syntax errors, validate with a zod schema, and report every
 * mistake at once, each with its field path (STYLE.md: "report *every* error at once").
 */

export interface ConfigIssue {
  path: string;
  message: string;
}

/** One line per problem, "file: field.path: message", so a technician sees every mistake at once. */
export function formatIssues(file: string, issues: ConfigIssue[]): string {
  return issues.map((i) => `${file}: ${i.path || '(root)'}: ${i.message}`).join('\n');
}

/** The zod issues of one validation as ConfigIssues, under `prefix` when the value sits inside a larger file. */
export function schemaIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  return error.issues.map((issue) => {
    const path = issuePath(issue.path, '');
    return { path: prefix && path ? `${prefix}${path.startsWith('[') ? '' : '.'}${path}` : prefix || path, message: issue.message };
  });
}

/** YAML text to a plain value, or its syntax errors as `line L:C` issues (`source` is prefixed, e.g. a field naming the file). */
export function parseYaml(text: string, source = ''): { ok: true; value: unknown } | { ok: false; issues: ConfigIssue[] } {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length === 0) return { ok: true, value: doc.toJS() };
  const issues = doc.errors.map((e) => {
    const pos = e.linePos?.[0];
    const at = pos ? `line ${pos.line}:${pos.col}` : 'line ?';
    return { path: source ? `${source} ${at}` : at, message: e.message.split('\n')[0] ?? e.message };
  });
  return { ok: false, issues };
}

/**
 * Collects the issues of one config file and whatever it names (key files, catalogues), then
 * throws them all together. Relative paths resolve against the file's folder, so a config
 * works wherever the daemon is started from.
 */
export class ConfigIssues {
  readonly list: ConfigIssue[] = [];
  /** The folder of the config file. */
  readonly dir: string;

  constructor(readonly file: string) {
    this.dir = dirname(resolve(file));
  }

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  /** `p` resolved against the config file's folder (absolute paths and `keep` names as they are). */
  resolve(p: string, keep: readonly string[] = []): string {
    return keep.includes(p) || isAbsolute(p) ? p : resolve(this.dir, p);
  }

  /** Validate `raw` against `schema`; every issue lands here under `prefix`. Undefined when invalid. */
  check<S extends z.ZodType>(schema: S, raw: unknown, prefix = ''): z.output<S> | undefined {
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    this.list.push(...schemaIssues(result.error, prefix));
    return undefined;
  }

  /** Text of a file a config field names (resolved against the config's folder); an unreadable one is an issue under `field`. */
  readText(field: string, p: string): string | undefined {
    try {
      return readFileSync(this.resolve(p), 'utf8');
    } catch (err) {
      this.add(field, `cannot read: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** A YAML (or JSON) file a config field names, parsed; unreadable or syntax errors are issues under `field`. */
  readYaml(field: string, p: string): { ok: true; value: unknown } | { ok: false } {
    const text = this.readText(field, p);
    if (text === undefined) return { ok: false };
    const parsed = parseYaml(text, `${field} (${p})`);
    if (parsed.ok) return parsed;
    this.list.push(...parsed.issues);
    return { ok: false };
  }

  /** Throw StileError(CONFIG_INVALID) naming the file and every issue, if there is any. */
  throwIfAny(): void {
    if (this.list.length > 0) throw new StileError(StileErrorCode.ConfigInvalid, formatIssues(this.file, this.list), this.list);
  }
}

/**
 * Read and parse a YAML config file. Throws StileError(CONFIG_UNREADABLE) when it cannot be read
 * and StileError(CONFIG_INVALID) listing every syntax error with its line:column.
 */
export function readYamlConfig(file: string): { raw: unknown; issues: ConfigIssues } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StileError(StileErrorCode.ConfigUnreadable, `${file}: cannot read config: ${(err as Error).message}`);
  }
  const issues = new ConfigIssues(file);
  const parsed = parseYaml(text);
  if (!parsed.ok) {
    issues.list.push(...parsed.issues);
    issues.throwIfAny();
  }
  return { raw: parsed.ok ? parsed.value : undefined, issues };
}

/**
 * Read, parse and validate a YAML config file against `schema`. Throws StileError
 * (CONFIG_UNREADABLE | CONFIG_INVALID) whose message names the file and every bad field.
 * The returned `issues` resolves relative paths against the file's folder.
 */
export function loadYamlConfig<S extends z.ZodType>(file: string, schema: S): { config: z.output<S>; issues: ConfigIssues } {
  const { raw, issues } = readYamlConfig(file);
  const config = issues.check(schema, raw);
  issues.throwIfAny();
  return { config: config as z.output<S>, issues };
}
