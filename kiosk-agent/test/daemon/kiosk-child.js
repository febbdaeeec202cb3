// stile-kiosk as its own process for the kill test (kiosk-daemon.e2e.test.ts), driven over IPC
// the way the touchscreen page will drive the runtime: phases out, events in.
// KIOSK_TEST_HOLD_RECORD=1: the cloud never answers "record the sale", so a kill lands between payment and print.
import { loadKioskConfig, startKiosk } from '../../dist/index.js';

const hold = process.env.KIOSK_TEST_HOLD_RECORD === '1';
const daemon = await startKiosk(loadKioskConfig(process.argv[2]), {
  cloud: (online) =>
    hold
      ? new Proxy(online, { get: (t, k) => (k === 'recordSale' ? () => new Promise(() => undefined) : typeof t[k] === 'function' ? t[k].bind(t) : t[k]) })
      : online,
});
const report = (s) => process.send?.({ phase: s.phase, saleId: s.sale?.id });
daemon.runtime.subscribe((s) => report(s));
process.on('message', (m) => {
  if (m.start) daemon.runtime.startSale();
  else if (m.event) daemon.runtime.dispatch(m.event);
});
process.on('SIGTERM', () => void daemon.stop().then(() => process.exit(0)));
process.send?.({ ready: true, phase: daemon.runtime.state().phase, saleId: daemon.runtime.state().sale?.id });
report(daemon.runtime.state());
