/**
 * Metrics whose values live elsewhere (a daemon's status object, a journal, another module's
 * counters): read at each scrape instead of being counted twice.
 */
import type { Prom, Registry } from './metrics-server.js';

export type MetricLabels = Record<string, string>;
export type MetricSetter = (labels: MetricLabels, value: number) => void;

export interface ReadMetric {
  name: string;
  help: string;
  labelNames?: string[];
}

/** A gauge whose values `fill` sets at each scrape; what it leaves out is not exposed (unknown, not 0). */
export function gaugeFrom(prom: Prom, registry: Registry, m: ReadMetric, fill: (set: MetricSetter) => unknown): void {
  new prom.Gauge({
    ...m,
    labelNames: m.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      fill((labels, v) => this.set(labels, v));
    },
  });
}

/**
 * A counter kept by someone else (a running total that only grows while the process lives),
 * copied at each scrape. Prometheus's rate() takes a restart's reset to 0 in its stride.
 */
export function counterFrom(prom: Prom, registry: Registry, m: ReadMetric, fill: (set: MetricSetter) => unknown): void {
  new prom.Counter({
    ...m,
    labelNames: m.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      fill((labels, v) => this.inc(labels, v));
    },
  });
}

/** An ISO time as a Unix-seconds gauge value (the `_timestamp_seconds` convention); NaN for never, so no age is made up. */
export function setTimestamp(set: MetricSetter, iso: string | null | undefined, labels: MetricLabels = {}): void {
  set(labels, iso ? Date.parse(iso) / 1000 : NaN);
}
