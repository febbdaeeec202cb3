/**
 * The daemon's side of kioskctl: the control socket's commands over the running machine,
 * journal and printer (operations.ts).
 */
import { ControlRefusal, ControlServer } from './control.js';
import { closeDay, machineStatus, refill, reprint, type OpsDeps } from './operations.js';

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 && v.length <= 64 ? v : null);

export async function startControl(d: OpsDeps & { extraStatus?: () => Record<string, unknown> }): Promise<ControlServer> {
  const rt = d.runtime!;
  const server = new ControlServer(
    d.cfg.control.socket,
    {
      status: () => ({ pid: process.pid, machine: machineStatus(rt), ...(d.extraStatus?.() ?? {}) }),
      reprint: (a) => {
        const saleId = str(a.saleId);
        if (!saleId) throw new ControlRefusal('bad_request', 'reprint needs a sale id');
        return reprint(d, saleId, str(a.staff));
      },
      refill: (a) => refill(d, Number(a.coins), str(a.staff)),
      close_day: (a) => {
        if (!Number.isInteger(a.countedFen) || (a.countedFen as number) < 0) throw new ControlRefusal('bad_request', 'close_day needs countedFen, a whole number of fen');
        return closeDay(d, { countedFen: a.countedFen as number, staff: str(a.staff), ...(str(a.date) ? { date: str(a.date)! } : {}) });
      },
    },
    d.log.child({ module: 'control' }),
  );
  await server.listen();
  return server;
}
