/**
 * docs/ops/grafana-stile.json and stile-alerts.yml against the daemons' registries: the example
 * dashboard is a Grafana 10 model, every metric it or an alert queries is one some daemon
 * defines, and docs/metrics.md lists every Stile metric. Renaming a metric without the
 * dashboard, the alerts or the docs fails here.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, type Prom, type Registry } from '@stile/service';
import { defineAnnouncerMetrics } from '../../announcer/src/metrics.js';
import { defineCloudMetrics } from '../../cloud-bridge/src/core/prometheus.js';
import { defineGateMetrics } from '../../gate-agent/src/daemon/gate-metrics.js';
import { defineKioskMetrics } from '../../kiosk-agent/src/daemon/kiosk-metrics.js';

const FILE = fileURLToPath(new URL('../../docs/ops/grafana-stile.json', import.meta.url));
const ALERTS = fileURLToPath(new URL('../../docs/ops/stile-alerts.yml', import.meta.url));
const DOC = fileURLToPath(new URL('../../docs/metrics.md', import.meta.url));
const metricNames = (expr: string) => expr.match(/\b(stile|process|nodejs)_[a-z0-9_]+\b/g) ?? [];

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string }[];
}

/** Metric names every daemon defines, with the series names of its histograms. */
async function definedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const add = async (define: (prom: Prom, registry: Registry) => void) => {
    const { prom, registry } = await createMetricsRegistry();
    define(prom, registry);
    for (const m of registry.getMetricsAsArray()) {
      names.add(m.name);
      if ((m as unknown as { type: string }).type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
    }
  };
  // Only the definitions are read here (no scrape), so the sources are never asked for values.
  const never = {} as never;
  await add((prom, r) => void defineGateMetrics(prom, r, { site: 's', gate: 'g', sync: true, lane: true }, () => undefined));
  await add((prom, r) => void defineKioskMetrics(prom, r, { site: { id: 's' }, kiosk: { id: 'k', mode: 'kiosk' }, devices: { printer: { transport: 'serial' } } } as never, { runtime: { subscribe: () => () => undefined }, sync: { status: {} } } as never));
  await add((prom, r) => defineAnnouncerMetrics(prom, r, { site: { id: 's' }, device: { id: 'd' } } as never, { announcer: never } as never));
  await add((prom, r) => defineCloudMetrics(prom, r, never, { gates: () => [], heads: () => new Map(), capacity: () => new Map(), daily: () => undefined }));
  return names;
}

describe('docs/ops/grafana-stile.json', () => {
  const dash = JSON.parse(readFileSync(FILE, 'utf8')) as { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string; type: string }[] } };
  const queries = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  it('is a Grafana 10 dashboard model: uid, schema, a Prometheus data source variable, panels that fit the 24-column grid', () => {
    expect(dash.uid).toBe('stile-park');
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dash.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dash.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets!.length, p.title).toBeGreaterThan(0);
      expect(new Set(p.targets!.map((t) => t.refId)).size, p.title).toBe(p.targets!.length);
    }
    // No two panels on the same spot.
    const cells = new Set<string>();
    for (const p of dash.panels)
      for (let dy = 0; dy < p.gridPos.h; dy++)
        for (let dx = 0; dx < p.gridPos.w; dx++) {
          const cell = `${p.gridPos.x + dx},${p.gridPos.y + dy}`;
          expect(cells.has(cell), `${p.title} overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
  });

  it('queries only metrics the daemons define, and shows the figures staff care about', async () => {
    const names = await definedNames();
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)));
    const unknown = [...used].filter((n) => !names.has(n));
    expect(unknown).toEqual([]);
    for (const must of [
      'stile_gate_admissions_total',
      'stile_gate_rejects_total',
      'stile_gate_scan_to_relay_seconds_bucket',
      'stile_gate_outbox_depth',
      'stile_gate_whitelist_seq_lag',
      'stile_gate_device_up',
      'stile_kiosk_cash_expected_yuan',
      'stile_kiosk_hopper_float_yuan',
      'stile_kiosk_sales_today',
      'stile_announcer_played_total',
      'stile_cloud_capacity_level',
      'stile_cloud_gates_online',
      'stile_cloud_admitted_today',
      'process_resident_memory_bytes',
    ])
      expect(used.has(must), must).toBe(true);
  });

  it('the example alerts query only defined metrics, and docs/metrics.md lists every Stile metric', async () => {
    const names = await definedNames();
    const rules = (parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(5);
    for (const r of rules) expect(metricNames(r.expr).filter((n) => !names.has(n)), r.alert).toEqual([]);
    const doc = readFileSync(DOC, 'utf8');
    const undocumented = [...names].filter((n) => n.startsWith('stile_') && !/_(bucket|sum|count)$/.test(n) && !doc.includes(`\`${n}\``));
    expect(undocumented).toEqual([]);
  });
});
