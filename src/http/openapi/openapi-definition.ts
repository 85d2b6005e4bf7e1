/** Security schemes: which token a route takes, named as the config names them. */
export const SECURITY_SCHEMES = {
  partyToken: {
    type: 'http',
    scheme: 'bearer',
    description: "A back office's party token (parties[].apiTokens): it acts for the parties it belongs to, and sees only their messages.",
  },
  auditorToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'An auditor token (log.auditorTokens): reads the message log and the alarms, changes nothing.',
  },
  operatorToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      "An operator token (node.operatorTokens): reads /health's details and /metrics, lists and acknowledges alarms, signs in to the console.",
  },
} as const;

export type SecuritySchemeName = keyof typeof SECURITY_SCHEMES;

/** The document's tags: one per audience. */
export const TAGS = {
  backOffice: 'back office',
  auditors: 'auditors',
  operators: 'operators',
  peers: 'peers',
  documentation: 'documentation',
} as const;

/** A route's `security`: any one of these tokens (an empty list: the route takes no token). */
export function securedBy(...schemes: SecuritySchemeName[]): Array<Record<string, string[]>> {
  return schemes.map((s) => ({ [s]: [] }));
}

/** Security of a route that answers without a token too, and more with one. */
export function optionallySecuredBy(...schemes: SecuritySchemeName[]): Array<Record<string, string[]>> {
  return [{}, ...securedBy(...schemes)];
}

const DESCRIPTION = `The HTTP APIs of a Tramite node, a cooperation-bus node (Porta di Dominio) for Italian public bodies.
Generated from the schemas the node itself validates requests and serializes responses with.

Who calls what:

- **Back offices** of the hosted parties send and follow messages with \`/api/v1/messages…\`, and call the REST APIs
  of other bodies through the gateway (\`/rest/out/…\`), with their **party token** (\`Authorization: Bearer …\`).
- **Auditors** read the hash-chained message log with \`/api/v1/audit/…\` and an **auditor token**: search, show,
  verify, export. Nothing there changes the log.
- **Operators** and their monitors read \`/health\` (its details with an **operator token**), \`/health/live\`,
  \`/health/ready\` and \`/metrics\`, and list and acknowledge the node's alarms (\`/tramite/operator/alarms…\`).
- **Peer nodes** post signed SOAP envelopes to \`/tramite/envelope\` and call the REST APIs provided here at
  \`/rest/in/…\`; they are authenticated by their signatures, ModI tokens and TLS client certificates, not by a bearer token.

JSON refusals are \`{"error":{"code","message"}}\` with a stable code (docs/errors.md); the REST gateway refuses in
problem+json and the envelope endpoint with a SOAP Fault.`;

/** The `openapi` block @fastify/swagger starts the document from. */
export function openApiDefinition(pkg: { version: string; license: string }): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tramite node HTTP APIs',
      version: pkg.version,
      description: DESCRIPTION,
      license: { name: pkg.license, identifier: pkg.license },
    },
    tags: [
      { name: TAGS.backOffice, description: "The hosted parties' back offices, with a party token." },
      { name: TAGS.auditors, description: 'Auditors of the message log, with an auditor token (docs/auditors.md).' },
      { name: TAGS.operators, description: 'Operators and their monitors: health and metrics (docs/operators.md).' },
      { name: TAGS.peers, description: 'Other nodes: signed envelopes and ModI REST calls.' },
      { name: TAGS.documentation, description: 'This document and its reference page; they describe the node, and show no data.' },
    ],
    components: { securitySchemes: SECURITY_SCHEMES },
  };
}
