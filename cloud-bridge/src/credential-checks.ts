/**
 * Secrets the cloud refuses to start with, checked once in startCloudBridge so options built
 * in code get the same checks as cloud.yaml. Every problem is reported at once, one line each.
 */
import { StileError, StileErrorCode } from '@stile/config';
import { demoKeyChannels } from './catalogue/catalogue.js';
import { MIN_WEBHOOK_SECRET } from './notify/webhook.js';
import type { SiteConfig } from './sites.js';

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
