import { z } from 'zod';
import { isLoopbackHost } from './net.js';

/**
 * The `metrics:` section of gate.yaml, kiosk.yaml and announcer.yaml: where the daemon serves
 * Prometheus text (docs/metrics.md). Absent: no metrics server and prom-client is never loaded.
 */

/** Default ports by role (the cloud serves /metrics on its own HTTP port). */
export const METRICS_PORTS = { gate: 9464, kiosk: 9465, announcer: 9466 } as const;

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * `host:port` → its parts. IPv6 hosts are bracketed (`[::1]:9464`); port 0 means any free port
 * (tests). Pure; never throws.
 */
export function parseListenAddress(text: string): { ok: true; address: ListenAddress } | { ok: false; message: string } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return { ok: false, message: `expected host:port, e.g. 127.0.0.1:9464 or [::1]:9464, got "${text}"` };
  return { ok: true, address: { host: (m[1] ?? m[2])!, port } };
}

/**
 * Why a metrics server may not listen there, or null when it may. Loopback always; any other
 * address (the park LAN) only with `allowRemote: true` and a bearer token, because the figures
 * tell a stranger when a lane's scanner is down, when a gate has lost the cloud and how much
 * cash a kiosk holds (docs/metrics.md#who-can-read-it).
 */
export function metricsListenProblem(listen: string, opts: { allowRemote: boolean; hasToken: boolean }): { field: 'listen' | 'tokenFile'; message: string } | null {
  const parsed = parseListenAddress(listen);
  if (!parsed.ok) return { field: 'listen', message: parsed.message };
  if (isLoopbackHost(parsed.address.host)) return null;
  if (!opts.allowRemote) {
    return { field: 'listen', message: `${parsed.address.host} is not a loopback address: anyone on that network could read the figures (devices down, cash held); keep 127.0.0.1, or set metrics.allowRemote: true and metrics.tokenFile` };
  }
  if (!opts.hasToken) return { field: 'tokenFile', message: 'a metrics server open to the network needs a bearer token: give metrics.tokenFile (a file with at least 16 characters; Prometheus sends it with authorization.credentials_file)' };
  return null;
}

/** The `metrics:` schema of one role, `listen` defaulting to loopback on its port. */
export function metricsSchema(defaultPort: number) {
  return z
    .object({
      listen: z.string().default(`127.0.0.1:${defaultPort}`),
      /** Allows a listen address other than loopback (with tokenFile). */
      allowRemote: z.literal(true).optional(),
      /** A file holding the bearer token a scrape must send (`Authorization: Bearer …`). */
      tokenFile: z.string().min(1).optional(),
    })
    .strict()
    .superRefine((m, ctx) => {
      const problem = metricsListenProblem(m.listen, { allowRemote: m.allowRemote === true, hasToken: m.tokenFile !== undefined });
      if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: [problem.field] });
    });
}

export type MetricsConfig = z.infer<ReturnType<typeof metricsSchema>>;
