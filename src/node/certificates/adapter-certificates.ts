import { isAbsolute, resolve } from 'node:path';
import type { NodeConfig } from '../../config/config-types.js';
import type { AdapterCatalog } from '../../../adapters/sdk/adapter.js';
import { adapterDataDir, importDefinition, validateOptions } from '../dispatch/adapter-host.js';
import type { CertificateSource } from './certificate-inventory.js';
import { certificatesOfFile } from './certificate-files.js';

/**
 * The certificate files the configured adapters' options name (a PEC mailbox's provider CAs), as each
 * adapter declares them (AdapterDefinition.certificateFiles). Loads the adapters' definitions, not
 * instances: nothing is set up or started, so `tramite certs` can ask without a running node.
 */
export async function adapterCertificates(config: NodeConfig, catalog: AdapterCatalog): Promise<CertificateSource[]> {
  const sources: CertificateSource[] = [];
  for (const [i, party] of config.parties.entries()) {
    for (const [j, declared] of (party.adapters ?? []).entries()) {
      const field = `parties[${i}].adapters[${j}]`;
      const definition = await importDefinition(declared.use, config.baseDir, field, catalog);
      if (!definition.certificateFiles) continue;
      const options = validateOptions(
        definition,
        structuredClone(declared.options ?? {}) as Record<string, unknown>,
        `${field}.options`,
        config.configPath,
      );
      const dataDir = adapterDataDir(config, party.code, definition.id);
      for (const { role, file } of definition.certificateFiles(options)) {
        const absolute = isAbsolute(file) ? file : resolve(dataDir, file);
        sources.push(certificatesOfFile(`${role} (adapter ${definition.id} of ${party.code})`, absolute, `${field}.options: ${role}`));
      }
    }
  }
  return sources;
}
