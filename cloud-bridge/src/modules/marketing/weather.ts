import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Forecast } from './rules.js';

/**
 * Where the weekend offer reads the forecast. A real service (the China Meteorological
 * Administration's open data, a commercial API) is a small adapter implementing this; the
 * file provider is for tests and the demo.
 */
export interface WeatherProvider {
  /** Conditions by park-local date (lower case: sunny, clear, cloudy, rain…) for the dates asked; a date it does not know is absent. */
  forecast(site: string, dates: readonly string[]): Promise<Forecast>;
}

/**
 * A JSON or YAML file of date → condition (`{ "2027-01-09": "sunny" }`), read on every call so
 * an operator (or a cron job fetching a real forecast) can replace it while the cloud runs.
 * An unreadable file is an empty forecast: no offer goes out on a guess.
 */
export class FileWeatherProvider implements WeatherProvider {
  constructor(private readonly path: string) {}

  async forecast(_site: string, dates: readonly string[]): Promise<Forecast> {
    const text = await readFile(this.path, 'utf8').catch(() => '');
    return parseForecast(text, dates);
  }
}

/** Pure: the conditions of `dates` in a forecast file's text (JSON is YAML too). */
export function parseForecast(text: string, dates: readonly string[]): Forecast {
  let doc: unknown;
  try {
    doc = parseYaml(text) as unknown;
  } catch {
    return new Map();
  }
  const out = new Map<string, string>();
  if (!doc || typeof doc !== 'object') return out;
  const rec = doc as Record<string, unknown>;
  for (const d of dates) {
    const v = rec[d];
    const cond = typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { condition?: unknown }).condition === 'string' ? (v as { condition: string }).condition : undefined;
    if (cond) out.set(d, cond.trim().toLowerCase());
  }
  return out;
}
