/**
 * A Stile daemon runs as the `stile` user. Started by systemd as root (a unit without
 * User=stile, or a hand-made one) it refuses: files it creates would be root's, and the
 * hardening that assumes an unprivileged user would not hold. Run by hand as root (a
 * technician on the console, the tests and the demo on a dev machine) it only warns.
 */

export type RootVerdict =
  | { action: 'ok' }
  | { action: 'warn'; line: string }
  | { action: 'refuse'; line: string };

export interface RootFacts {
  /** process.getuid(); undefined where there is none (Windows). */
  uid: number | undefined;
  env: NodeJS.ProcessEnv;
}

/** Pure: what to do about running as `uid` with this environment. */
export function rootVerdict(tool: string, facts: RootFacts): RootVerdict {
  if (facts.uid !== 0) return { action: 'ok' };
  const allowed = facts.env.STILE_ALLOW_ROOT === '1';
  // systemd sets $INVOCATION_ID in the environment of every unit it starts.
  const bySystemd = (facts.env.INVOCATION_ID ?? '') !== '';
  if (bySystemd && !allowed) {
    return {
      action: 'refuse',
      line: `${tool}: refusing to run as root under systemd: run it as the stile user: the unit's User=stile; see docs/install.md (STILE_ALLOW_ROOT=1 in the unit overrides this)`,
    };
  }
  if (bySystemd) return { action: 'warn', line: `${tool}: running as root under systemd because STILE_ALLOW_ROOT=1; the installed unit runs as the stile user` };
  if (allowed) return { action: 'ok' };
  return {
    action: 'warn',
    line: `${tool}: running as root; the installed service runs as the stile user, and files this run creates (databases in /var/lib/stile) may then be unreadable to it: chown -R stile:stile /var/lib/stile afterwards, or run as the stile user (sudo -u stile …)`,
  };
}

export interface RootGuard {
  /** False: the daemon must exit 1 (the line is already on stderr). */
  ok: boolean;
  /** A warning for the daemon to log once its logger is up. */
  warning?: string;
}

/**
 * The daemon's first check (after --help): a refusal goes to stderr at once, a warning is
 * handed back so it lands in the daemon's own JSON log with everything else.
 */
export function guardRoot(tool: string, facts: RootFacts = { uid: process.getuid?.(), env: process.env }, stderr: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): RootGuard {
  const v = rootVerdict(tool, facts);
  if (v.action === 'refuse') {
    stderr(v.line);
    return { ok: false };
  }
  return v.action === 'warn' ? { ok: true, warning: v.line } : { ok: true };
}
