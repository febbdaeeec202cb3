import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { isCloudError, type CloudErrorCode } from '../../src/core/errors.js';

/** A temp folder with the given files; remove() deletes it. */
export function tempFiles(files: Record<string, string>): { dir: string; path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'stile-pay-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The CloudError code a call throws (sync or async). */
export async function codeOf(fn: () => unknown): Promise<CloudErrorCode | 'no error'> {
  try {
    await fn();
  } catch (err) {
    if (isCloudError(err)) return err.code;
    throw err;
  }
  return 'no error';
}

export async function expectCode(fn: () => unknown, code: CloudErrorCode): Promise<void> {
  expect(await codeOf(fn)).toBe(code);
}
