import { chmodSync, chownSync, closeSync, copyFileSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StileError, StileErrorCode } from './errors.js';

/*
 * The device side of provisioning, at the edge: writing a role's config and key files into
 * /etc/stile (or the folder of --config) with the right owner and mode, all or nothing as far
 * as a file system allows — every file is written to a temporary name first (so a full disk,
 * a read-only root or a missing permission stops us before anything is replaced), files that
 * would change are copied to `<name>.bak-<time>`, then each temporary file is renamed over its
 * target, the config last.
 */

/** A file to write. Every one gets the same owner and mode (fileMode): tokens and keys are secrets, and the config names them. */
export interface InstallFile {
  path: string;
  content: string;
}

export interface InstallResult {
  written: string[];
  /** Files that had other contents, and where the old contents are now. */
  backedUp: { path: string; backup: string }[];
  /** Files that already held exactly these contents. */
  unchanged: string[];
}

/** Owner for the files: root:stile when run as root and the group exists (the daemons run as user stile). */
export interface FileOwner {
  uid: number;
  gid: number;
}

/** The `stile` group's id from /etc/group, or null. Pure over the file's text. */
export function groupId(groupFile: string, name: string): number | null {
  for (const line of groupFile.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return null;
}

/** root:stile when this process is root and a `stile` group exists; otherwise null (files stay the caller's, mode 0600). */
export function stileOwner(groupFile = '/etc/group'): FileOwner | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    return null;
  }
  const gid = groupId(text, 'stile');
  return gid === null ? null : { uid: 0, gid };
}

/** 0640 with the stile group (the daemon reads, nobody else); 0600 without it. */
export function fileMode(owner: FileOwner | null): number {
  return owner ? 0o640 : 0o600;
}

/** `gate.yaml.bak-20261201T101500Z`: sortable, no characters a shell minds. */
export function backupSuffix(now: Date): string {
  return `bak-${now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')}`;
}

/** One line naming what stopped a write to `dir` and what to do about it. Pure. */
export function writeProblem(err: unknown, dir: string, tool: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `cannot write to ${dir} (${code}: permission denied): run it as root (sudo ${tool} provision …); nothing was changed`;
    case 'EROFS':
      return `${dir} is on a read-only file system (EROFS): remount it read-write (sudo mount -o remount,rw /) or choose another --config; nothing was changed`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `no space left on the disk holding ${dir} (${code}): free some space (df -h ${dir}; journalctl --vacuum-size=100M) and run it again; nothing was changed`;
    case 'ENOTDIR':
      return `${dir} is not a folder (ENOTDIR): choose another --config; nothing was changed`;
    default:
      return `cannot write to ${dir} (${code ?? (err as Error)?.message ?? String(err)}); nothing was changed`;
  }
}

function sameContent(path: string, content: string): boolean | null {
  try {
    return readFileSync(path, 'utf8') === content;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function writeDurably(path: string, content: string, mode: number, owner: FileOwner | null): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, mode); // the umask may have taken bits off
  if (owner) chownSync(path, owner.uid, owner.gid);
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort: some file systems refuse fsync on a directory
  }
}

/**
 * Write `files` (the config last) into their folders. Throws StileError(USAGE) with one line
 * (writeProblem) when anything fails before the first rename; in that case nothing was changed.
 */
export function installFiles(files: InstallFile[], opts: { owner: FileOwner | null; now: Date; tool: string }): InstallResult {
  const mode = fileMode(opts.owner);
  const result: InstallResult = { written: [], backedUp: [], unchanged: [] };
  const pending: { file: InstallFile; tmp: string; backup?: string }[] = [];
  const suffix = backupSuffix(opts.now);
  const cleanup = () => {
    for (const p of pending) {
      rmSync(p.tmp, { force: true });
      if (p.backup) rmSync(p.backup, { force: true });
    }
  };
  try {
    for (const file of files) {
      const dir = dirname(file.path);
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true, mode: 0o750 });
        if (opts.owner) chownSync(dir, opts.owner.uid, opts.owner.gid);
      }
      const same = sameContent(file.path, file.content);
      if (same === true) {
        // The contents are right; the owner and mode are put right too.
        chmodSync(file.path, mode);
        if (opts.owner) chownSync(file.path, opts.owner.uid, opts.owner.gid);
        result.unchanged.push(file.path);
        continue;
      }
      const tmp = join(dir, `.${basename(file.path)}.provision-${process.pid}`);
      pending.push({ file, tmp });
      writeDurably(tmp, file.content, mode, opts.owner);
      if (same === false) {
        // Two provisions within one second must not meet on one backup name.
        let backup = `${file.path}.${suffix}`;
        for (let n = 2; existsSync(backup); n++) backup = `${file.path}.${suffix}-${n}`;
        copyFileSync(file.path, backup, constants.COPYFILE_EXCL);
        pending[pending.length - 1]!.backup = backup;
      }
    }
  } catch (err) {
    cleanup();
    const dir = err && typeof err === 'object' && 'path' in err && typeof err.path === 'string' ? dirname(err.path) : dirname(files[0]?.path ?? '.');
    throw new StileError(StileErrorCode.UsageError, writeProblem(err, dir, opts.tool));
  }
  for (const p of pending) {
    renameSync(p.tmp, p.file.path);
    result.written.push(p.file.path);
    if (p.backup) result.backedUp.push({ path: p.file.path, backup: p.backup });
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) syncDir(dir);
  return result;
}
