// Zod issues as text, in one style everywhere (HTTP 400 bodies, config errors, dropped messages):
// `a.b[0].c: message` — keys joined by dots, array indexes in brackets, the root as "(root)"
// or the caller's label.

/** What formatting needs of a zod issue (any zod version's issue fits). */
export interface IssueLike {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export interface FormatIssueOptions {
  /** Shown for an empty path: "(root)" unless given, e.g. "(body)", "(line)", "(message)". */
  root?: string;
  /** Between issues in formatZodIssues: "; " unless given (config errors use "\n"). */
  separator?: string;
  /** Format at most this many issues (the rest are left out). */
  limit?: number;
}

/** A zod path as an operator reads the YAML/JSON: `pricing[2].type`, `visitors[1].idNumber`; `root` when empty. */
export function issuePath(path: readonly PropertyKey[], root = '(root)'): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else {
      const key = typeof p === 'symbol' ? (p.description ?? p.toString()) : p;
      out += out === '' ? key : `.${key}`;
    }
  }
  return out === '' ? root : out;
}

/** One issue as `path: message`. */
export function formatZodIssue(issue: IssueLike, opts: Pick<FormatIssueOptions, 'root'> = {}): string {
  return `${issuePath(issue.path, opts.root)}: ${issue.message}`;
}

/** Issues as `path: message` lines (at most `limit`). */
export function zodIssueLines(issues: readonly IssueLike[], opts: Omit<FormatIssueOptions, 'separator'> = {}): string[] {
  const some = opts.limit === undefined ? issues : issues.slice(0, opts.limit);
  return some.map((i) => formatZodIssue(i, opts));
}

/** Issues as one text: `a.b[0].c: message; d: message` (separator "; " unless given). */
export function formatZodIssues(issues: readonly IssueLike[], opts: FormatIssueOptions = {}): string {
  return zodIssueLines(issues, opts).join(opts.separator ?? '; ');
}
