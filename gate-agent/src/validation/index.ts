export { decide, recordAdmission, type Decision, type GateContext } from './decide.js';
