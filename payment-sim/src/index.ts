export { SimError } from './http.js';
export { PaymentSimulator, type SimulatorOptions, type CodeBehaviour, type BillFile } from './simulator.js';
export { loadOrCreateKeys, type SimKeys, type SimIdentity } from './keys.js';
export { FAULT_KINDS, type Fault, type FaultKind } from './faults.js';
export { WECHAT_RETRY_MS, ALIPAY_RETRY_MS, type Delivery } from './notifier.js';
export type { Trade, TradeState, TradeKind, Provider, SimRefund } from './trades.js';
export { tradeView } from './control.js';
