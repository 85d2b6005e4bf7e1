/** Namespace URIs of the formats the bus speaks (facts of the protocols, not configuration). */
export const NS = {
  soap11: 'http://schemas.xmlsoap.org/soap/envelope/',
  egov: 'http://www.cnipa.it/schemas/2003/eGovIT/Busta1_0/',
  egovException: 'http://www.cnipa.it/schemas/2003/eGovIT/Exception1_0/',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  wsa: 'http://www.w3.org/2005/08/addressing',
  xmlns: 'http://www.w3.org/2000/xmlns/',
} as const;

export const WSS_X509V3 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
export const WSS_BASE64 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
export const EGOV_ACTOR = 'http://www.cnipa.it/eGov_it/portadominio';
export const WSA_ANONYMOUS = 'http://www.w3.org/2005/08/addressing/anonymous';
