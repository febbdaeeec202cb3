// `npm start`: the demo gate (gate-agent) syncing to an in-process cloud (cloud-bridge:
// embedded Aedes broker + bridge on SQLite in .demo/). Needs nothing but `npm install`.
// DEMO_VISITORS=N stops after N visitors; otherwise Ctrl-C ends it (summary, clean shutdown).
import { demoCloud } from '../cloud-bridge/dist/index.js';
import { runDemoPark } from '../gate-agent/dist/demo/demo-park.js';

try {
  await runDemoPark({ cloud: demoCloud() });
} catch (err) {
  console.error(`demo failed: ${err.stack ?? err}`);
  process.exitCode = 1;
}
