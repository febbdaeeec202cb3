import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connectAsync, type IClientOptions } from 'mqtt';
import {
  checkBroker, existingConfigProblem, formatZodIssues, isStileError, openBundleFor, outcomeJson, outcomeLines, readBundleText, readExistingConfig, StileError,
  StileErrorCode, writeProvisionFiles, yamlDocument, type ExistingConfig, type InstallFile, type MqttConnect, type ProvisionBundle, type YamlDocument,
} from '@stile/config';
import { AnnouncerConfigSchema } from './config.js';

/*
 * `stile-announcer provision <bundle>`: announcer.yaml and the broker token from the bundle
 * `stile-cloud announcers add` printed, then a broker login with it. docs/provisioning.md.
 */

export const PROVISION_USAGE = 'usage: stile-announcer provision [<bundle> | -] [--config /etc/stile/announcer.yaml] [--force] [--no-check] [--json]';

const HEADER = (b: ProvisionBundle, at: Date) =>
  ` announcer.yaml of PA ${b.device.id} at ${b.site.id}, written by stile-announcer provision on ${at.toISOString()}.\n` +
  ' Speech, clips, player and repeat use their defaults (announcer/examples/announcer.yaml shows them all).\n' +
  ' Check with: stile-announcer --config this-file --check, then systemctl restart stile-announcer';

/** Files for an announcer bundle: speech, clips, player and repeat of an old config stay. */
export function planAnnouncerFiles(b: ProvisionBundle, configPath: string, existing: ExistingConfig | null, at: Date): { files: InstallFile[]; notes: string[] } {
  const dir = dirname(configPath);
  const pw = join(dir, 'announcer.pw');
  const ca = join(dir, 'ca.pem');
  const mqtt = {
    url: b.broker.url,
    username: b.broker.username,
    passwordFile: pw,
    // The broker lets an announcer use only its own client-id prefix.
    clientId: `stile-announcer-${b.site.id}-${b.device.id}`,
    ...(b.broker.caPem ? { caFile: ca } : {}),
    protocolVersion: b.broker.protocolVersion,
  };
  const notes: string[] = [];
  let doc: YamlDocument;
  if (existing?.doc) {
    doc = existing.doc.clone();
    doc.set('site', doc.createNode({ id: b.site.id, timezone: b.site.timezone }));
    doc.set('device', doc.createNode({ id: b.device.id }));
    for (const k of ['username', 'clientId', 'caFile', 'certFile', 'keyFile']) doc.deleteIn(['mqtt', k]);
    for (const [k, v] of Object.entries(mqtt)) doc.setIn(['mqtt', k], v);
    doc.setIn(['keys', 'control'], doc.createNode(b.keys.control));
    notes.push(`kept speech, clips, player and repeat of ${configPath}; next: systemctl restart stile-announcer`);
  } else {
    doc = yamlDocument({ version: 1, site: { id: b.site.id, timezone: b.site.timezone }, device: { id: b.device.id }, mqtt, keys: { control: b.keys.control }, metrics: {}, log: { level: 'info' } }, HEADER(b, at));
    notes.push(`next: stile-announcer --config ${configPath} --check (the speech engine and the player), then systemctl restart stile-announcer`);
  }
  const checked = AnnouncerConfigSchema.safeParse(doc.toJS());
  if (!checked.success) throw new StileError(StileErrorCode.ConfigInvalid, `the announcer.yaml this bundle makes would not be valid (${formatZodIssues(checked.error.issues, { limit: 3 })}); nothing was changed`);
  const files: InstallFile[] = [
    { path: pw, content: `${b.broker.token}\n` },
    ...(b.broker.caPem ? [{ path: ca, content: b.broker.caPem.endsWith('\n') ? b.broker.caPem : `${b.broker.caPem}\n` }] : []),
    { path: configPath, content: doc.toString({ lineWidth: 0 }) },
  ];
  return { files, notes };
}

const connect: MqttConnect = (url, options) => connectAsync(url, options as IClientOptions);

/** The `provision` subcommand; returns the exit code (0 done, 1 refused or a check failed, 2 usage). */
export async function provisionMain(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, force: { type: 'boolean' }, 'no-check': { type: 'boolean' }, json: { type: 'boolean' } } });
  } catch (err) {
    console.error(`stile-announcer: ${(err as Error).message}\n${PROVISION_USAGE}`);
    return 2;
  }
  if (parsed.positionals.length > 1) {
    console.error(`stile-announcer: one bundle at a time\n${PROVISION_USAGE}`);
    return 2;
  }
  const json = parsed.values.json === true;
  const configPath = resolve(parsed.values.config ?? env.STILE_ANNOUNCER_CONFIG ?? '/etc/stile/announcer.yaml');
  const at = new Date();
  try {
    const bundle = openBundleFor(await readBundleText(parsed.positionals[0]), 'announcer', at);
    const existing = readExistingConfig(configPath, 'device');
    const refused = existingConfigProblem(existing, bundle, { force: parsed.values.force === true, now: at });
    if (refused) throw new StileError(StileErrorCode.UsageError, refused);
    const plan = planAnnouncerFiles(bundle, configPath, existing, at);
    const install = writeProvisionFiles(plan.files, 'stile-announcer', at);
    const checks = parsed.values['no-check'] ? [] : [await checkBroker(bundle, connect, `stile-announcer-${bundle.site.id}-${bundle.device.id}.provision`, bundle.broker.caPem)];
    const outcome = { bundle, install, notes: plan.notes, checks };
    console.log(json ? JSON.stringify(outcomeJson(outcome), null, 2) : outcomeLines(outcome).join('\n'));
    return checks.every((c) => c.ok) ? 0 : 1;
  } catch (err) {
    const message = isStileError(err) ? err.message : (err as Error).message;
    if (json) console.log(JSON.stringify({ error: { code: isStileError(err) ? err.code : 'ERROR', message } }));
    const [first, ...more] = message.split('\n');
    console.error(`stile-announcer: ${first}`);
    for (const m of more) console.error(`  ${m}`);
    return 1;
  }
}
