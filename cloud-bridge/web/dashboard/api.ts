/** The staff API as the page calls it: the token only ever in the Authorization header. */
import type { DashboardModel } from '../../src/modules/dashboard/model.js';
import type { View } from './view.js';

export const apiBase = (site: string): string => `/v1/staff/sites/${encodeURIComponent(site)}`;

export function authHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { Authorization: 'Bearer ' + token, Accept: 'application/json', ...extra };
}

/** "Request failed (409): the server's message" for a refused request. */
export function errorText(view: View, res: Response, body: string): string {
  let msg = '';
  try {
    const j: unknown = JSON.parse(body);
    if (j && typeof j === 'object') {
      const { message, error } = j as { message?: unknown; error?: unknown };
      msg = String(message || error || '');
    }
  } catch {
    /* not JSON */
  }
  return `${view.t('requestFailed')} (${res.status})${msg ? ': ' + msg : ''}`;
}

/** Enough of a DashboardModel to render (the server always sends all of it; anything else is dropped). */
export function isModel(m: unknown): m is DashboardModel {
  if (!m || typeof m !== 'object') return false;
  const o = m as Record<string, unknown>;
  return (
    typeof o.site === 'string' &&
    typeof o.date === 'string' &&
    typeof o.updatedAt === 'string' &&
    !!o.capacity &&
    typeof o.capacity === 'object' &&
    ['gates', 'channels', 'entriesByHour', 'alerts', 'conflicts'].every((k) => Array.isArray(o[k]))
  );
}
