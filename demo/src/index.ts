// @stile/demo: the whole-park demo and its data. The production packages never import it;
// tests and benchmarks do (`@stile/demo/site`, `@stile/demo/catalogue`).
export * from './site.js';
export * from './catalogue.js';
export * from './cloud.js';
export * from './park.js';
export * from './hardware.js';
