import type { NodeConfig } from '../../config/config-types.js';
import type { AdapterCatalog } from '../../../adapters/sdk/adapter.js';
import { adapterCertificates } from './adapter-certificates.js';
import { CertificateInventory } from './certificate-inventory.js';
import { configuredCertificates } from './configured-certificates.js';

/** The node's inventory: what its configuration names, and what its adapters' options name. */
export async function loadCertificateInventory(config: NodeConfig, catalog: AdapterCatalog): Promise<CertificateInventory> {
  return new CertificateInventory([...configuredCertificates(config), ...(await adapterCertificates(config, catalog))]);
}
