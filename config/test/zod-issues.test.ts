import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatZodIssue, formatZodIssues, issuePath, zodIssueLines } from '../src/index.js';

describe('issuePath', () => {
  it.each<[PropertyKey[], string]>([
    [[], '(root)'],
    [['a'], 'a'],
    [['a', 'b', 0, 'c'], 'a.b[0].c'],
    [['visitors', 1, 'idNumber'], 'visitors[1].idNumber'],
    [['grid', 2, 3], 'grid[2][3]'], // nested arrays
    [['rows', 0, 'cells', 4, 1, 'v'], 'rows[0].cells[4][1].v'],
    [[0, 'x'], '[0].x'], // an array at the root
    [[Symbol('tag')], 'tag'],
  ])('%j → %s', (path, want) => {
    expect(issuePath(path)).toBe(want);
  });

  it('shows the root as the caller’s label', () => {
    expect(issuePath([], '(body)')).toBe('(body)');
    expect(issuePath([], '')).toBe('');
  });
});

describe('formatZodIssues', () => {
  const Schema = z.object({
    name: z.string(),
    visitors: z.array(z.object({ idNumber: z.string().length(18, 'bad id') })),
    grid: z.array(z.array(z.number())),
  });
  const issues = (v: unknown) => {
    const r = Schema.safeParse(v);
    if (r.success) throw new Error('expected issues');
    return r.error.issues;
  };
  const bad = issues({ name: 1, visitors: [{ idNumber: '110101199001011234' }, { idNumber: 'x' }], grid: [[1], [2, 'three']] });

  it('formats real zod issues as `a.b[0].c: message`, numbers in brackets', () => {
    expect(zodIssueLines(bad).map((l) => l.slice(0, l.indexOf(':')))).toEqual(['name', 'visitors[1].idNumber', 'grid[1][1]']);
    expect(formatZodIssue(bad[1]!)).toBe('visitors[1].idNumber: bad id');
  });

  it('joins with "; " unless told, and can limit', () => {
    const text = formatZodIssues(bad);
    expect(text.split('; ')).toHaveLength(3);
    expect(formatZodIssues(bad, { separator: '\n', limit: 2 }).split('\n')).toEqual(zodIssueLines(bad).slice(0, 2));
    expect(formatZodIssues([])).toBe('');
  });

  it('labels the root', () => {
    const root = z.object({ a: z.string() }).safeParse(5);
    expect(root.success).toBe(false);
    if (!root.success) {
      expect(formatZodIssues(root.error.issues)).toMatch(/^\(root\): /);
      expect(formatZodIssues(root.error.issues, { root: '(body)' })).toMatch(/^\(body\): /);
    }
  });
});
