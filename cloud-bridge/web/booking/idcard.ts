/**
 * The resident ID number check, in the page: @stile/config's own (config/src/id-number.ts, free
 * of Node modules), so the page and the server refuse exactly the same numbers. The server
 * checks again; this only saves the visitor a round trip.
 */
export { idNumberProblem as idProblem, normalizeIdNumber as normalizeId, type IdNumberProblem as IdProblem } from '@stile/config/id-number';
