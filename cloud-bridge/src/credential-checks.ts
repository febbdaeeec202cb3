/**
 * Secrets the cloud refuses to start with, checked once in startCloudBridge so options built
 * in code get the same checks as cloud.yaml. Every problem is reported at once, one line each.
 */
import { StileError, StileErrorCode } from '@stile/config';
import type { Catalogue } from './core/catalogue.js';
import { MIN_WEBHOOK_SECRET } from './core/notify/webhook.js';
import type { SiteConfig } from './core/sites.js';

/**
 * SHA-256 digests (lowercase hex) of API keys that have been published: the demo channels'
 * keys, which the demo (the separate @stile/demo workspace) prints and holds in its source, so
 * anyone could sell through a channel configured with one. This is a denylist, a safety check
 * for production, not demo code: only the digests are kept here, the keys themselves ship with
 * the demo alone, and a catalogue channel whose apiKeySha256 is one of these is refused unless
 * the config says `demo: true`. demo/test checks that every key of the demo is listed.
 */
export const PUBLISHED_API_KEY_SHA256: ReadonlySet<string> = new Set([
  '5e5cb288428800b1dcfc5c982ece95ff15b910be46febe2e390d4821b06ecbb6', // demo wechat channel
  'df5c5255378225e9fa1d6583110030d29b3f6709ac6fd253ef08274fcff1a6d2', // demo meituan channel
  'ddbb060e7e9e0e6cb721e29cbd813e61c4a1cf18eb150c4a93832fb39eab9259', // demo kiosk channel
]);

/** The ids of the channels whose API key is a published demo key (one of {@link PUBLISHED_API_KEY_SHA256}). */
export function demoKeyChannels(catalogue: Pick<Catalogue, 'channels'>): string[] {
  return catalogue.channels.filter((c) => PUBLISHED_API_KEY_SHA256.has(c.apiKeySha256.toLowerCase())).map((c) => c.id);
}

/** Shortest ID-hash key, as on the gates (gate.yaml keys.idHash). */
export const MIN_ID_HASH_KEY = 32;

export interface CredentialOptions {
  sites: readonly SiteConfig[];
  /** The public demo API keys are accepted only then. */
  demoMode?: boolean;
  alertWebhook?: { url: string; secret?: string };
}

/** One line per weak or public secret; empty when all is well. Secrets themselves are never quoted. */
export function credentialProblems(opts: CredentialOptions): string[] {
  const problems: string[] = [];
  opts.sites.forEach((s, i) => {
    const where = `sites.${i} (${s.id})`;
    if (!s.sales) return;
    const key = s.sales.idHashKey;
    if (typeof key !== 'string' || key.length < MIN_ID_HASH_KEY)
      problems.push(`${where}: sales.idHashKey: at least ${MIN_ID_HASH_KEY} characters, the same key as the gates' keys.idHash (got ${typeof key === 'string' ? key.length : 'none'})`);
    if (opts.demoMode !== true) {
      for (const ch of demoKeyChannels(s.sales.catalogue))
        problems.push(
          `${where}: channel "${ch}" uses a public demo API key (printed by the demo and in its source, so anyone could sell through it): generate your own with \`openssl rand -hex 24\` and configure its SHA-256 (printf %s "$KEY" | sha256sum)`,
        );
    }
  });
  const secret = opts.alertWebhook?.secret;
  if (opts.alertWebhook && (typeof secret !== 'string' || secret.length < MIN_WEBHOOK_SECRET))
    problems.push(`alertWebhook.secret: required whenever the alert webhook is set, at least ${MIN_WEBHOOK_SECRET} characters (e.g. openssl rand -hex 24); every alert is signed with it`);
  return problems;
}

/** Throws ConfigInvalid naming every problem of {@link credentialProblems}. */
export function assertCredentials(opts: CredentialOptions): void {
  const problems = credentialProblems(opts);
  if (problems.length > 0) throw new StileError(StileErrorCode.ConfigInvalid, `cloud-bridge refused to start:\n  ${problems.join('\n  ')}`, problems);
}
