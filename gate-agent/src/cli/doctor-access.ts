/**
 * Can the daemon's user (default `stile`) read or write a file or device node? Worked out
 * from /etc/passwd, /etc/group and the node's owner, group and mode, because the doctor runs
 * as root and root may open anything. Pure functions; the files are read by the probes.
 */

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  /** Every group the user is in: the primary one and the supplementary ones from /etc/group. */
  groups: { name: string; gid: number }[];
}

/** What stat tells about a file or node. */
export interface NodeInfo {
  mode: number;
  uid: number;
  gid: number;
  /** Group name, when /etc/group knows it. */
  group?: string | undefined;
  owner?: string | undefined;
  kind: 'file' | 'dir' | 'char' | 'fifo' | 'socket' | 'other';
}

/** The user `name` from the passwd and group files' text, or null when it does not exist. */
export function parseUser(name: string, passwd: string, group: string): UserInfo | null {
  const row = passwd.split('\n').map((l) => l.split(':')).find((f) => f[0] === name && f.length >= 4);
  if (!row) return null;
  const uid = Number(row[2]);
  const gid = Number(row[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return null;
  const groups: { name: string; gid: number }[] = [];
  for (const line of group.split('\n')) {
    const [gname, , gidText, members = ''] = line.split(':');
    if (!gname || gidText === undefined) continue;
    const g = Number(gidText);
    if (g === gid || members.split(',').map((m) => m.trim()).includes(name)) groups.push({ name: gname, gid: g });
  }
  if (!groups.some((g) => g.gid === gid)) groups.push({ name: String(gid), gid });
  return { name, uid, gid, groups };
}

/** gid → name from /etc/group's text. */
export function groupNames(group: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of group.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name && gid !== undefined && Number.isInteger(Number(gid))) out.set(Number(gid), name);
  }
  return out;
}

export interface AccessVerdict {
  ok: boolean;
  /** Which permission bits decided: the owner's, the group's or everyone's (root: none). */
  via: 'root' | 'owner' | 'group' | 'other';
}

/** POSIX permission check as the kernel does it: owner bits if owner, else group bits if a member, else other bits. */
export function accessFor(user: UserInfo, node: NodeInfo, want: { read?: boolean; write?: boolean; exec?: boolean }): AccessVerdict {
  if (user.uid === 0) return { ok: true, via: 'root' };
  const [shift, via]: [number, AccessVerdict['via']] =
    node.uid === user.uid ? [6, 'owner'] : user.groups.some((g) => g.gid === node.gid) ? [3, 'group'] : [0, 'other'];
  const bits = (node.mode >> shift) & 7;
  const ok = (!want.read || (bits & 4) !== 0) && (!want.write || (bits & 2) !== 0) && (!want.exec || (bits & 1) !== 0);
  return { ok, via };
}

/** Would joining the node's group give the user what it needs? (Then the fix is usermod -aG, not a udev rule.) */
export function groupWouldGrant(node: NodeInfo, want: { read?: boolean; write?: boolean }): boolean {
  const bits = (node.mode >> 3) & 7;
  return node.gid !== 0 && (!want.read || (bits & 4) !== 0) && (!want.write || (bits & 2) !== 0);
}

/** `crw-rw---- root:dialout` for messages. */
export function describeNode(node: NodeInfo): string {
  const rwx = (b: number) => `${b & 4 ? 'r' : '-'}${b & 2 ? 'w' : '-'}${b & 1 ? 'x' : '-'}`;
  const type = { file: '-', dir: 'd', char: 'c', fifo: 'p', socket: 's', other: '?' }[node.kind];
  return `${type}${rwx(node.mode >> 6)}${rwx(node.mode >> 3)}${rwx(node.mode)} ${node.owner ?? node.uid}:${node.group ?? node.gid}`;
}
