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
