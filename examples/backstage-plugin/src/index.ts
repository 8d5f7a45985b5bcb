/**
 * A Backstage backend plugin (new backend system) that verifies Helm charts and audits
 * Helm releases with chartproof. Routes under `/api/chartproof`:
 * `POST /verify`, `POST /audit`, `GET /health`.
 */
export { chartproofPlugin as default } from './plugin';
export { chartproofRegistryServiceRef } from './registry';
export { createRouter, type RouterOptions } from './router';
export { readSettings, type ChartproofSettings } from './settings';
