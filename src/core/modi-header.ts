/** The WS-Addressing headers ModI SOAP patterns sign (ID_AUTH_SOAP_0x, INTEGRITY_SOAP_01). */
export interface AddressingHeader {
  readonly to?: string;
  readonly from?: string;
  readonly action?: string;
  readonly messageId?: string;
  readonly relatesTo?: string;
  readonly replyTo?: string;
}

/** wsu:Timestamp of the WS-Security header. */
export interface SecurityTimestamp {
  readonly created: string;
  readonly expires?: string;
}

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
