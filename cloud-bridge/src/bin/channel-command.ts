import { parseArgs } from 'node:util';

export const CHANNEL_USAGE =
  'usage: stile-cloud channel pause|resume --site SITE --channel CHANNEL --by NAME --reason TEXT [--url http://127.0.0.1:8080]\n' +
  '  env: STILE_STAFF_TOKEN (the site staff token), STILE_CLOUD_URL (instead of --url)';

/**
 * `stile-cloud channel pause|resume …`: a staff action from a terminal, through the running
 * cloud-bridge's staff API (so it is audit-logged and alerted like one from the dashboard).
 * Exit 0 done, 1 refused or unreachable, 2 bad usage.
 */
export async function channelCommand(argv: string[], env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { site: { type: 'string' }, channel: { type: 'string' }, by: { type: 'string' }, reason: { type: 'string' }, url: { type: 'string' } },
    });
  } catch (e) {
    err(`${(e as Error).message}\n${CHANNEL_USAGE}\n`);
    return 2;
  }
  const action = parsed.positionals[0];
  const { site, channel, by, reason } = parsed.values;
  const url = parsed.values.url ?? env.STILE_CLOUD_URL ?? 'http://127.0.0.1:8080';
  const token = env.STILE_STAFF_TOKEN;
  const missing = [!site && '--site', !channel && '--channel', !by && '--by', !reason && '--reason', !token && 'STILE_STAFF_TOKEN'].filter(Boolean);
  if ((action !== 'pause' && action !== 'resume') || missing.length > 0) {
    err(`stile-cloud channel: ${action !== 'pause' && action !== 'resume' ? 'say pause or resume' : `missing ${missing.join(', ')}`}\n${CHANNEL_USAGE}\n`);
    return 2;
  }
  const target = `${url.replace(/\/$/, '')}/v1/staff/sites/${encodeURIComponent(site!)}/channels/${encodeURIComponent(channel!)}/${action}`;
  let res: Response;
  try {
    res = await fetch(target, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ by, reason }), signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    err(`stile-cloud channel: cannot reach ${url}: ${(e as Error).message}\n`);
    return 1;
  }
  const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string; at?: string };
  if (!res.ok) {
    err(`stile-cloud channel: ${action} refused (${res.status} ${body.error ?? ''}): ${body.message ?? ''}\n`);
    return 1;
  }
  out(`${channel} at ${site} ${action === 'pause' ? 'paused' : 'resumed'} by ${by} at ${body.at ?? '?'}: ${reason}\n`);
  return 0;
}
