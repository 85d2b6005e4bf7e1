/**
 * The service description a remote tool fetches: the official WSDL (`?wsdl`) with its soap:address
 * pointed at this server, and the XSDs it imports, served where its relative schemaLocations resolve,
 * so the WSDL can be imported whole.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeAttribute } from '../../sdk/index.js';
import { protocolloSchemasDir, protocolloWsdlPath, type ProtocolloSoapSide } from './protocollo-soap-contract.js';

/** The XSDs the WSDLs import, by the path their relative schemaLocations resolve to from `/protocollo/<side>`. */
const SERVED_SCHEMAS = ['messaggio_protocollo.xsd', 'segnatura_protocollo.xsd', 'import_schemas/xmldsig-core-schema.xsd'] as const;

/** Each imported XSD's text, by the end of the URL path it is served at (`/messaggio_protocollo.xsd`, …). */
export async function loadServedSchemas(): Promise<Map<string, string>> {
  const schemas = new Map<string, string>();
  for (const path of SERVED_SCHEMAS) schemas.set(`/${path}`, await readFile(join(protocolloSchemasDir(), path), 'utf8'));
  return schemas;
}

/**
 * The WSDL of `side` with its soap:address set to `serviceUrl`, and `uri`, its path on disk, against
 * which soap resolves the `../*.xsd` imports.
 */
export async function servedWsdl(side: ProtocolloSoapSide, serviceUrl: string): Promise<{ xml: string; uri: string }> {
  const uri = protocolloWsdlPath(side);
  const xml = (await readFile(uri, 'utf8')).replace(/(<soap:address\s+location=")[^"]*(")/, `$1${escapeAttribute(serviceUrl)}$2`);
  return { xml, uri };
}
