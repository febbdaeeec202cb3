import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isStileError, loadYamlConfig, parseYaml, readYamlConfig, StileErrorCode } from '../src/index.js';

function write(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'stile-yaml-cfg-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

function errorOf(fn: () => unknown): Error & { code?: string; details?: unknown } {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

const Schema = z.object({ name: z.string(), port: z.number().int().min(1), keyFile: z.string() }).strict();

describe('YAML config loading', () => {
  it('names the line and column of a syntax error', () => {
    const parsed = parseYaml('name: x\nport: [1, 2\nkeyFile: k\n');
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.issues[0]!.path).toMatch(/^line \d+:\d+$/);
    const file = join(write({ 'a.yaml': 'name: { x\n' }), 'a.yaml');
    const err = errorOf(() => readYamlConfig(file));
    expect(isStileError(err, StileErrorCode.ConfigInvalid)).toBe(true);
    expect(err.message).toMatch(/a\.yaml: line \d+:\d+: /);
  });

  it('reports a missing file as unreadable, naming it', () => {
    const err = errorOf(() => loadYamlConfig('/nonexistent/a.yaml', Schema));
    expect(isStileError(err, StileErrorCode.ConfigUnreadable)).toBe(true);
    expect(err.message).toMatch(/^\/nonexistent\/a\.yaml: cannot read config/);
  });

  it('reports every schema issue at once, one line each, with the issues as details', () => {
    const file = join(write({ 'a.yaml': 'name: 5\nport: 0\nextra: 1\n' }), 'a.yaml');
    const err = errorOf(() => loadYamlConfig(file, Schema));
    expect(isStileError(err, StileErrorCode.ConfigInvalid)).toBe(true);
    for (const path of ['name', 'port', 'keyFile', '(root)']) expect(err.message).toContain(`${file}: ${path}: `);
    expect((err.details as unknown[]).length).toBe(err.message.split('\n').length);
  });

  it('collects the issues of the files a config names with its own, and resolves them next to it', () => {
    const dir = write({ 'a.yaml': 'name: x\nport: 1\nkeyFile: k.pem\n', 'k.pem': 'KEY', 'bad.yaml': 'a: [1\n' });
    const { config, issues } = loadYamlConfig(join(dir, 'a.yaml'), Schema);
    expect(issues.readText('keyFile', config.keyFile)).toBe('KEY');
    expect(issues.resolve('-', ['-'])).toBe('-');
    expect(issues.readText('other', 'missing.pem')).toBeUndefined();
    expect(issues.readYaml('list', 'bad.yaml').ok).toBe(false);
    issues.check(Schema, { name: 1, port: 1, keyFile: 'k' }, 'inner');
    const err = errorOf(() => issues.throwIfAny());
    expect(err.message.split('\n')).toEqual([
      expect.stringMatching(/a\.yaml: other: cannot read: ENOENT/),
      expect.stringMatching(/a\.yaml: list \(bad\.yaml\) line \d+:\d+: /),
      expect.stringMatching(/a\.yaml: inner\.name: /),
    ]);
  });
});
