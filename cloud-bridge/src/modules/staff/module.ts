import type { Alerts } from '../../core/alerts.js';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import { StaffRepository } from './repository.js';
import { Staff } from './staff.js';
import { staffRoutes } from './staff-routes.js';

/** The staff module: channel pause/resume (audit-logged, alerted) and the audit log, under `/v1/staff/…`. */
export function createStaffModule(ctx: ModuleContext, deps: { alerts: Pick<Alerts, 'raise'> }): CloudModule & { staff: Staff } {
  const staff = new Staff(ctx, new StaffRepository(ctx.store), deps.alerts);
  return { name: 'staff', staff, routes: (app) => staffRoutes(app, { sites: ctx.sites, staff }) };
}
