import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/modules/sync/group-commit.js';

describe('GroupCommit', () => {
  it('writes items that arrive during a write together in the next write', async () => {
    const groups: number[][] = [];
    let release: () => void = () => {};
    const gc = new GroupCommit<number, string>(async (items) => {
      groups.push(items);
      if (groups.length === 1) await new Promise<void>((r) => (release = r));
      return items.map((i) => `ok${i}`);
    });
    const first = gc.submit(1);
    await new Promise((r) => setTimeout(r, 5)); // the first write is running
    const rest = [2, 3, 4].map((i) => gc.submit(i));
    release();
    expect(await first).toBe('ok1');
    expect(await Promise.all(rest)).toEqual(['ok2', 'ok3', 'ok4']);
    expect(groups).toEqual([[1], [2, 3, 4]]);
  });

  it('a failing group is retried item by item: only the refused item fails', async () => {
    let release: () => void = () => {};
    let calls = 0;
    const gc = new GroupCommit<number, number>(async (items) => {
      if (calls++ === 0) await new Promise<void>((r) => (release = r));
      if (items.includes(3)) throw new Error('refused 3');
      return items.map((i) => i * 10);
    });
    const first = gc.submit(1);
    await new Promise((r) => setTimeout(r, 5));
    const rest = [2, 3, 4].map((i) => gc.submit(i).then((v) => ({ v }), (err: Error) => ({ err: err.message })));
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([{ v: 20 }, { err: 'refused 3' }, { v: 40 }]);
  });

  it('takes what arrives in the same turn of the event loop into the first group', async () => {
    const groups: number[][] = [];
    const gc = new GroupCommit<number, number>((items) => {
      groups.push(items);
      return Promise.resolve(items);
    });
    expect(await Promise.all([gc.submit(1), gc.submit(2)])).toEqual([1, 2]);
    expect(groups).toEqual([[1, 2]]);
  });

  it('keeps groups within the size limit', async () => {
    const sizes: number[] = [];
    let release: () => void = () => {};
    const gc = new GroupCommit<number, number>(async (items) => {
      sizes.push(items.length);
      if (sizes.length === 1) await new Promise<void>((r) => (release = r));
      return items;
    }, 3);
    const all = [gc.submit(0)];
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 1; i < 8; i++) all.push(gc.submit(i));
    release();
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(sizes).toEqual([1, 3, 3, 1]);
  });
});
