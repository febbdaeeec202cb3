/**
 * stile-paysim: the payment simulator as a process.
 *
 *   stile-paysim [--dir .paysim] [--port 8790] [--host 127.0.0.1] [--refunds auto|manual]
 *                [--merchant-public-key apiclient_pub.pem] [--app-public-key app_pub.pem]
 *                [--fast-retries] [--sms-delivery auto|manual] [--sms-callback aliyun=URL] [--sms-callback tencent=URL]
 *
 * Prints what the merchant must configure (ids, URLs, key files) and the control API.
 */
import { parseArgs } from 'node:util';
import { PaymentSimulator } from '../simulator.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '.paysim' },
    port: { type: 'string', default: '8790' },
    host: { type: 'string', default: '127.0.0.1' },
    refunds: { type: 'string', default: 'auto' },
    'merchant-public-key': { type: 'string' },
    'app-public-key': { type: 'string' },
    'fast-retries': { type: 'boolean', default: false },
    'sms-delivery': { type: 'string', default: 'auto' },
    'sms-callback': { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log('stile-paysim [--dir DIR] [--port N] [--host H] [--refunds auto|manual] [--merchant-public-key PEM] [--app-public-key PEM] [--fast-retries] [--sms-delivery auto|manual] [--sms-callback aliyun|tencent=URL]…');
  process.exit(0);
}
if (values.refunds !== 'auto' && values.refunds !== 'manual') {
  console.error('--refunds: auto or manual');
  process.exit(2);
}

if (values['sms-delivery'] !== 'auto' && values['sms-delivery'] !== 'manual') {
  console.error('--sms-delivery: auto or manual');
  process.exit(2);
}
const smsCallbacks: Record<string, string> = {};
for (const c of values['sms-callback']) {
  const m = /^(aliyun|tencent)=(https?:\/\/.+)$/.exec(c);
  if (m === null) {
    console.error(`--sms-callback ${c}: aliyun=URL or tencent=URL`);
    process.exit(2);
  }
  smsCallbacks[m[1]!] = m[2]!;
}

const fast = values['fast-retries'] ? { wechat: [1000, 2000, 4000, 8000], alipay: [1000, 2000, 4000, 8000] } : undefined;
const sim = new PaymentSimulator({
  stateDir: values.dir,
  refundMode: values.refunds,
  ...(values['merchant-public-key'] === undefined ? {} : { merchantPublicKeyPath: values['merchant-public-key'] }),
  ...(values['app-public-key'] === undefined ? {} : { appPublicKeyPath: values['app-public-key'] }),
  ...(fast === undefined ? {} : { retryDelaysMs: fast }),
  sms: { delivery: values['sms-delivery'], callbacks: smsCallbacks, ...(fast === undefined ? {} : { receiptRetryMs: [1000, 2000, 4000] }) },
});
const url = await sim.listen(Number(values.port), values.host);
console.log(`stile-paysim listening on ${url}`);
console.log('Configure the merchant (cloud-bridge payments) with:');
console.log(JSON.stringify(sim.merchantConfig(), null, 2));
console.log(`Control API: ${url}/sim/ (GET /sim/trades, POST /sim/trades/{provider}/{out_trade_no}/pay, POST /sim/faults …; docs/payments.md)`);
console.log(`SMS (Alibaba Cloud and Tencent Cloud at POST ${url}/): control ${url}/sim/sms/ (GET /sim/sms/messages, PUT /sim/sms/callbacks, POST /sim/sms/faults …; docs/sms.md)`);

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
