/**
 * What a service declares about its exchanges, independent of the envelope that carries them: the
 * collaboration profile (the four of the e-Gov busta, which ModI services share), the transmission's
 * Inoltro, and the ModI SOAP security patterns. Configuration, registry and envelopes all read these.
 */

/** The four collaboration profiles; envelopes/egov maps each to its wire value. */
export type CollaborationProfile = 'oneway' | 'sincrono' | 'asincronoSimmetrico' | 'asincronoAsimmetrico';

/** ProfiloTrasmissione@inoltro: at most once, or possibly more than once. */
export type Inoltro = 'EGOV_IT_ALPIUUNAVOLTA' | 'EGOV_IT_PIUDIUNAVOLTA';

/**
 * The ModI SOAP security patterns (AgID, Linee guida sull'interoperabilità tecnica) a service may declare:
 * ID_AUTH_SOAP_01 (Timestamp + every wsa header signed, the signer's X.509 token in wsse:Security),
 * ID_AUTH_SOAP_02 (the same with a signed wsa:MessageID, which the receiver refuses to take twice),
 * INTEGRITY_SOAP_01 (soap:Body signed too). A service declares one ID_AUTH pattern, with or without
 * INTEGRITY_SOAP_01.
 */
export const MODI_SOAP_PATTERNS = ['ID_AUTH_SOAP_01', 'ID_AUTH_SOAP_02', 'INTEGRITY_SOAP_01'] as const;
export type ModiSoapPattern = (typeof MODI_SOAP_PATTERNS)[number];

/** What a ModI service declares when it says nothing: the node's behaviour before patterns were declarable. */
export const DEFAULT_MODI_PATTERNS: readonly ModiSoapPattern[] = Object.freeze(['ID_AUTH_SOAP_02', 'INTEGRITY_SOAP_01']);

/** The weakest declaration: what a check with no service in view (offline verify, audit) accepts. */
export const WEAKEST_MODI_PATTERNS: readonly ModiSoapPattern[] = Object.freeze(['ID_AUTH_SOAP_01']);

/**
 * The ModI REST security patterns (AgID, Linee guida sull'interoperabilità tecnica, Annex 2) a REST API
 * declares: one ID_AUTH pattern, optionally one INTEGRITY and one AUDIT pattern. envelopes/modi-rest
 * builds and verifies them; docs/rest-apis.md says what each puts on the wire.
 */
export const MODI_REST_PATTERN_NAMES = [
  'ID_AUTH_REST_01',
  'ID_AUTH_REST_02',
  'INTEGRITY_REST_01',
  'INTEGRITY_REST_02',
  'AUDIT_REST_01',
  'AUDIT_REST_02',
] as const;
export type ModiRestPatternName = (typeof MODI_REST_PATTERN_NAMES)[number];
