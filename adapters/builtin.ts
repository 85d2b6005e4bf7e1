/**
 * The adapters shipped with Tramite, by the id a configuration's `use` names. The composition root
 * (`tramite start`, the demo, in-process test federations) hands this table to the node; the node
 * itself knows adapters only through the SDK contract. Lazy, so a node that uses none loads none.
 */
import type { AdapterCatalog } from './sdk/index.js';

export const BUILTIN_ADAPTERS: AdapterCatalog = Object.freeze({
  protocollo: () => import('./protocollo/protocollo-adapter.js'),
  pec: () => import('./pec/pec-adapter.js'),
  'ina-saia': () => import('./ina-saia/ina-saia-adapter.js'),
  'ina-simulator': () => import('./ina-saia/ina-simulator-adapter.js'),
  siatel: () => import('./siatel/siatel-adapter.js'),
  'siatel-simulator': () => import('./siatel/siatel-simulator-adapter.js'),
  // Development only: the node refuses it unless node.development is true.
  'dev-echo': () => import('./dev-echo/dev-echo-adapter.js'),
});
