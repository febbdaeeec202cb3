export { addDays, localClock, type LocalClock } from './clock.js';
export { decide, recordAdmission, type Decision, type GateContext } from './decide.js';
