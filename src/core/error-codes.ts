/**
 * The one registry of error codes the bus emits. EGOV_IT_* are the protocol's own codes (Busta.xsd,
 * codiceEccezioneType) with their official descriptions; TRAMITE_ERR_* are the bus's own.
 * docs/errors.md is checked against this file by a test, so the two cannot drift apart.
 */
export const EGOV_CODES = {
  EGOV_IT_001: 'Formato Busta non corretto',
  EGOV_IT_002: 'Formato Intestazione non corretto',
  EGOV_IT_003: 'Formato Corpo non corretto',
  EGOV_IT_100: 'Errore nel contenuto della Intestazione della busta',
  EGOV_IT_101: 'Identificativo della parte Mittente sconosciuto',
  EGOV_IT_102: 'Identificativo della parte Destinatario sconosciuto',
  EGOV_IT_103: 'Profilo di Collaborazione non valido',
  EGOV_IT_104: 'Identificativo di Collaborazione non valido',
  EGOV_IT_105: 'Servizio sconosciuto',
  EGOV_IT_106: 'Azione sconosciuta',
  EGOV_IT_107: 'Identificatore messaggio non definito',
  EGOV_IT_108: 'OraRegistrazione messaggio non valida',
  EGOV_IT_109: 'Riferimento messaggio non definito',
  EGOV_IT_110: 'Identificatore messaggio non valido',
  EGOV_IT_111: 'RiferimentoMessaggio non valido',
  EGOV_IT_112: 'Scadenza messaggio non valida',
  EGOV_IT_113: 'Profilo di Trasmissione non valido',
  EGOV_IT_114: 'Sequenza non valida',
  EGOV_IT_115: 'ListaRiscontri non valida',
  EGOV_IT_116: 'ListaTrasmissioni non valida',
  EGOV_IT_117: 'Firma non valida',
  EGOV_IT_118: "Riferimento all'allegato non valido",
  EGOV_IT_119: 'Allegato non presente',
  EGOV_IT_120: 'Allegato non definito',
  EGOV_IT_200: 'Errore nelle politiche di sicurezza del Servizio',
  EGOV_IT_201: 'Mittente non Autorizzato',
  EGOV_IT_202: 'Firma XML non valida',
  EGOV_IT_203: 'Firma PKCS#7 non valida',
  EGOV_IT_300: 'Errore nel processamento del messaggio',
  EGOV_IT_301: 'Messaggio scaduto',
  EGOV_IT_400: 'Errore nella gestione della trasparenza temporale',
  EGOV_IT_401: 'Trasparenza temporale non supportata',
  EGOV_IT_402: 'Trasparenza temporale non gestibile: attributi del Profilo di trasmissione non validi',
} as const;

export const TRAMITE_CODES = {
  TRAMITE_ERR_CONFIG_INVALID: 'The configuration file does not match schemas/config.schema.json',
  TRAMITE_ERR_CONFIG_UNREADABLE: 'The configuration file or a file it names cannot be read',
  TRAMITE_ERR_KEY_INVALID: 'A private key or certificate file cannot be parsed, or key and certificate do not match',
  TRAMITE_ERR_KEY_PASSPHRASE:
    'The passphrase of a key or keystore is wrong, or is not where the configuration says (empty file, unset environment variable)',
  TRAMITE_ERR_KEYSTORE_ALIAS: 'A keystore holds several private keys and no alias picks one, or none has the alias given',
  TRAMITE_ERR_PKCS11_TOKEN: 'A PKCS#11 module cannot be loaded, its token is not present, or the token failed to sign',
  TRAMITE_ERR_PKCS11_PIN: 'The PIN of a PKCS#11 token is wrong',
  TRAMITE_ERR_PKCS11_KEY: "A PKCS#11 token holds no such private key (or several), or the key is not the certificate's",
  TRAMITE_ERR_PKI_EXISTS: 'tramite init refused to overwrite an existing file',
  TRAMITE_ERR_XML_LIMIT: 'An XML document exceeds the size, depth or node limits',
  TRAMITE_ERR_XML_UNWRITABLE: 'A value to be written into an XML document holds a character XML 1.0 cannot carry',
  TRAMITE_ERR_SIATEL_XML: 'A document is not, or cannot be written as, one of the SIATEL messages (the message names the element)',
  TRAMITE_ERR_CERT_UNTRUSTED: 'The signer certificate does not chain to the configured trust store',
  TRAMITE_ERR_CERT_EXPIRED: 'The signer certificate (or a CA in its chain) is outside its validity dates',
  TRAMITE_ERR_CERT_USAGE: 'The signer certificate may not sign messages (keyUsage, extendedKeyUsage, or a CA certificate)',
  TRAMITE_ERR_CERT_REVOKED: "A certificate (signer, a CA in its chain, TSA) is revoked, by its CA's CRL or OCSP responder",
  TRAMITE_ERR_CERT_STATUS_UNKNOWN:
    'No fresh revocation status could be had for a certificate whose trust anchor has a hard revocation policy (responder down, CRL stale, no CRL or OCSP address)',
  TRAMITE_ERR_REVOCATION_INVALID:
    'A CRL or OCSP response is corrupt, badly signed, signed by an unauthorised responder, about another certificate, or uses a refused algorithm',
  TRAMITE_ERR_SIG_MISSING: 'The envelope carries no WS-Security signature',
  TRAMITE_ERR_SIG_STRUCTURE: 'The WS-Security header or the Signature element is malformed',
  TRAMITE_ERR_SIG_ALGORITHM: 'The signature uses an algorithm or transform the node does not accept',
  TRAMITE_ERR_SIG_WRAPPING: 'A signature reference does not resolve to exactly the element the node reads',
  TRAMITE_ERR_SIG_COVERAGE: 'An element that must be signed (Body, header, Timestamp) is not signed',
  TRAMITE_ERR_MODI_PATTERN:
    'A ModI envelope does not satisfy the security patterns its service declares (ID_AUTH_SOAP_01/02, INTEGRITY_SOAP_01)',
  TRAMITE_ERR_SIG_DIGEST: 'A signed element was altered after signing (digest mismatch)',
  TRAMITE_ERR_SIG_VALUE: 'The SignatureValue does not verify with the signer certificate',
  TRAMITE_ERR_TIMESTAMP: 'The WS-Security Timestamp is missing, malformed, stale, in the future or expired',
  TRAMITE_ERR_UNAUTHENTICATED: 'The back-office caller presented no valid token',
  TRAMITE_ERR_FORBIDDEN: 'The back-office caller may not act for that party',
  TRAMITE_ERR_NOT_FOUND: 'No such message',
  TRAMITE_ERR_BAD_REQUEST: 'The request body does not match the API schema',
  TRAMITE_ERR_NO_ROUTE: 'No peer hosts the destination party, or no service matches',
  TRAMITE_ERR_UNKNOWN_ROLE: 'A message sent by role names a role the competence table does not declare',
  TRAMITE_ERR_UNKNOWN_TERRITORY: 'A message sent by role names a Comune (Belfiore, ISTAT or postal code) the territory data do not have',
  TRAMITE_ERR_AMBIGUOUS_TERRITORY: 'A message sent by role names a postal code (CAP) shared by several Comuni',
  TRAMITE_ERR_NO_COMPETENT_PARTY: 'The competence table names no party for that role in that Comune, and the role has no fallback',
  TRAMITE_ERR_NO_COMPETENCE_TABLE: 'A message sent by role reached a node with no competence table configured',
  TRAMITE_ERR_PEER_UNREACHABLE: 'The peer node could not be reached or answered with a transport error',
  TRAMITE_ERR_PEER_TLS:
    "The peer's TLS server certificate is not issued by the peer's pinned CA, is expired, or is for another host, or the peer refused this node's client certificate",
  TRAMITE_ERR_TLS_CLIENT_CERT_MISSING: 'An envelope came over a connection whose client presented no TLS client certificate',
  TRAMITE_ERR_TLS_CLIENT_CERT_UNTRUSTED: 'The TLS client certificate does not chain to node.listen.tls.clientCaFiles',
  TRAMITE_ERR_TLS_CLIENT_CERT_EXPIRED: 'The TLS client certificate (or a CA in its chain) is outside its validity dates',
  TRAMITE_ERR_TLS_CLIENT_UNKNOWN: "The TLS client certificate is verified but is no configured peer's (peers[].tls.clientCertificates)",
  TRAMITE_ERR_TLS_PEER_NOT_SENDER: 'The peer connected over TLS does not host the party the envelope comes from',
  TRAMITE_ERR_PEER_REFUSED: 'The peer node refused the envelope (it answered with a SOAP Fault or ListaEccezioni)',
  TRAMITE_ERR_RECEIPT_INVALID: 'The reply or riscontro from the peer failed verification',
  TRAMITE_ERR_RESPONSE_TOO_LARGE: 'A peer, back office, webhook or TSA answered with a body larger than the node accepts',
  TRAMITE_ERR_RATE_LIMITED: 'The caller sent more requests than its rate limit allows; retry after the time in Retry-After',
  TRAMITE_ERR_BUSY: 'The node holds as many request bodies as it allows at once; retry after the time in Retry-After',
  TRAMITE_ERR_ID_EXHAUSTED: 'No message serial is left for this minute and process slot',
  TRAMITE_ERR_LOG_UNAVAILABLE: 'The message log cannot be opened or written (file, database or connection)',
  TRAMITE_ERR_LOG_TAMPERED: 'The message log or an export bundle failed verification (chain, checkpoint, digest or signature)',
  TRAMITE_ERR_EXPORT_TOO_LARGE: 'The time range asked for holds more records than one log bundle export may (log.maxExportRecords)',
  TRAMITE_ERR_EXPORT_BUSY: 'Another log bundle export is being built on this node; retry after the time in Retry-After',
  TRAMITE_ERR_TOKEN_KEY:
    'A token the replay filter should hold has a namespace or id the log store refuses: longer than 200 characters, or containing U+0000',
  TRAMITE_ERR_TSA: 'The time-stamping authority could not be reached or gave an invalid RFC 3161 token',
  TRAMITE_ERR_AUDITOR_ONLY: 'The auditor API needs the auditor token',
  TRAMITE_ERR_OPERATOR_ONLY: 'The health details and the metrics need an operator token',
  TRAMITE_ERR_CONSOLE_CSRF: "A console form was posted without its session's CSRF token, or from another origin",
  TRAMITE_ERR_CONSOLE_FORBIDDEN: 'A console action that only an operator may take was asked for by an auditor',
  TRAMITE_ERR_QUEUE_UNAVAILABLE: 'Redis (the delivery queue) cannot be started or reached',
  TRAMITE_ERR_NODE_BUSY: 'Every verification worker is busy and the queue of envelopes waiting for one is full',
  TRAMITE_ERR_VERIFIER_UNAVAILABLE: 'A verification worker thread could not be started, or stopped while verifying an envelope',
  TRAMITE_ERR_EXPIRED: 'The message expired (Scadenza) before the peer confirmed it, or (received) before its back office took it',
  TRAMITE_ERR_RETRIES_EXHAUSTED: "The message was not delivered within the service's maximum number of attempts",
  TRAMITE_ERR_NOT_RESENDABLE: 'Only a FAILED outbound message can be resent',
  TRAMITE_ERR_ALREADY_ANSWERED: 'The asynchronous request already has its answer',
  TRAMITE_ERR_REST_EXCHANGE:
    'The message is a ModI REST exchange, answered in its own HTTP call: it cannot be resent, answered or polled as a SOAP message',
  TRAMITE_ERR_AMBIGUOUS_ID: 'Several senders sent a message with this id: name the sender with from',
  TRAMITE_ERR_ADAPTER_INVALID: 'An adapter named in the configuration cannot be loaded or does not fulfil the adapter contract',
  TRAMITE_ERR_ADAPTER_UNAVAILABLE: "An adapter's external system could not be reached or was busy (retried)",
  TRAMITE_ERR_ADAPTER_REFUSED: "An adapter's external system refused the message for good",
  TRAMITE_ERR_ADAPTER_BUS_API: "An adapter's busApi range does not include the node's bus API version",
  TRAMITE_ERR_ADAPTER_DUPLICATE: 'Two adapters with one id: two modules claim it, or a party declares it twice',
  TRAMITE_ERR_ADAPTER_STORE:
    "An adapter's store (SQLite or PostgreSQL) cannot be opened or migrated, was written by a newer version, or refused a statement",
  TRAMITE_ERR_DEVELOPMENT_ONLY:
    'A development-only part (the dev-echo back office) is configured on a node whose configuration does not say it is a development node (node.development)',
  TRAMITE_ERR_PEC_NOT_PEC: 'The message is not from a PEC provider (no X-Trasporto or X-Ricevuta header, or an unknown value)',
  TRAMITE_ERR_PEC_MALFORMED: 'A PEC provider message, or its daticert.xml, does not have the structure the PEC rules give it',
  TRAMITE_ERR_PEC_UNSIGNED: 'A PEC provider message carries no S/MIME signature',
  TRAMITE_ERR_PEC_BAD_SIGNATURE: "The provider's S/MIME signature is unreadable or does not verify over the signed part",
  TRAMITE_ERR_WEBHOOK_FAILED: "A back office's status webhook answered with an HTTP status other than 2xx",
  TRAMITE_ERR_PACKAGE_ROOT: "Tramite's own package folder (its package.json, schemas/ and config/) cannot be found above the running code",
  TRAMITE_ERR_ALARM_NOT_FOUND: 'No alarm with that id',
  TRAMITE_ERR_ALARM_CLEARED: 'The alarm was cleared: there is nothing left to acknowledge',
  TRAMITE_ERR_ALARM_NOTIFICATION_FAILED: 'An alarm notification (webhook or e-mail) could not be delivered after its retries',
  TRAMITE_ERR_RELOAD_NEEDS_RESTART:
    'A registry reload was refused: the configuration changes a field only a restart applies (node identity, listener, TLS, log store, queue, trust, REST APIs, adapters and their options)',
  TRAMITE_ERR_STAFF_ONLY: 'The operator API needs an operator or auditor token',
  TRAMITE_ERR_AUDITOR_READ_ONLY: 'An auditor token may read the operator API, not act through it',
  TRAMITE_ERR_LIFECYCLE: 'A component was used before it started or after it stopped, or was started twice',
  TRAMITE_ERR_INVALID_ARGUMENT: 'A function was called with an argument it does not accept: a defect in the calling code, not in a message',
  TRAMITE_ERR_INTERNAL: 'An internal consistency check failed: a defect in Tramite, not in its input',
  TRAMITE_ERR_SMTP_REFUSED: 'The simulated PEC provider refused an SMTP command; the SMTP reply code says why',
  TRAMITE_ERR_DEMO_FAILED: 'A node of the demo federation did not start, or lacks an adapter the demo needs (see its stdout.log)',
  TRAMITE_ERR_DAEMON_MISSING:
    'A server program that a launcher runs as a child process (the node’s own redis-server, Dovecot, PostgreSQL) is not installed',
  TRAMITE_ERR_DAEMON_START: 'A child server process exited during start-up, or was not ready before its deadline',
  TRAMITE_ERR_DAEMON_OPTIONS: 'A launcher was given options it cannot use (a user name, a password, a folder path)',
  // ModI REST (envelopes/modi-rest): the precise reason of each refusal; docs/rest-apis.md maps them to HTTP.
  TRAMITE_ERR_MODI_REST_MALFORMED:
    'A ModI REST token or header is missing, repeated, too large, or not a well-formed JWS/JWT with the claims its pattern needs',
  TRAMITE_ERR_MODI_REST_ALG: 'A ModI REST token uses an algorithm outside the allow-list (none, HS*, or one the reference does not list)',
  TRAMITE_ERR_MODI_REST_CERT_MISSING:
    'A ModI REST token carries no certificate the verifier can use (no x5c, an unknown x5t#S256, only x5u, or only a kid where X.509 trust is configured)',
  TRAMITE_ERR_MODI_REST_THUMBPRINT: 'The x5t#S256 of a ModI REST token is not the SHA-256 thumbprint of its x5c signer certificate',
  TRAMITE_ERR_MODI_REST_KID_UNKNOWN: 'The kid of a ModI REST token names no key the verifier knows (PDND key not found)',
  TRAMITE_ERR_MODI_REST_SIGNATURE: "The signature of a ModI REST token does not verify with its signer's key",
  TRAMITE_ERR_MODI_REST_EXPIRED: 'A ModI REST token is past its exp, or its iat is older than the accepted age (beyond the clock skew)',
  TRAMITE_ERR_MODI_REST_NOT_YET_VALID: "A ModI REST token's nbf or iat is in the future (beyond the clock skew)",
  TRAMITE_ERR_MODI_REST_AUDIENCE: "A ModI REST token's aud is not the receiver's audience",
  TRAMITE_ERR_MODI_REST_DIGEST: 'The Digest header is missing, malformed, or not the digest of the exact body bytes received',
  TRAMITE_ERR_MODI_REST_SIGNED_HEADER:
    'A header listed in signed_headers is missing or differs from the value received, or one that must be signed is not listed',
  TRAMITE_ERR_MODI_REST_BINDING:
    'A ModI REST token is not bound to what it must be: the response to its request (request_digest), the audit token to the voucher (digest) or purpose',
  TRAMITE_ERR_MODI_REST_REPLAY: 'The jti of a ModI REST token was already accepted (replay)',
  // PDND (src/pdnd, src/pdnd-simulator): voucher client and verifier, tracing upload.
  TRAMITE_ERR_PDND_TOKEN_REQUEST:
    'The PDND token endpoint did not give a voucher: unreachable, too slow, an OAuth2 error (400 invalid_client / invalid_grant), or an answer that is not a token response',
  TRAMITE_ERR_PDND_JWKS: 'The PDND JWKS could not be fetched or read (unreachable, too slow, too large, not a JWK set)',
  TRAMITE_ERR_PDND_VOUCHER_ISSUER: "A PDND voucher's iss is not the PDND environment this e-service trusts, or its typ is not at+jwt",
  TRAMITE_ERR_PDND_VOUCHER_PURPOSE:
    "A PDND voucher's purposeId (or client_id, producer, e-service, descriptor) is not one this e-service allows",
  TRAMITE_ERR_PDND_TRACING_UPLOAD:
    "A day's PDND tracing CSV could not be uploaded (every attempt failed, or the tracing endpoint refused it)",
  TRAMITE_ERR_PDND_TRACING_STATE:
    "PDND's state of an uploaded tracing file could not be read (unreachable, no API voucher, or not a tracing state); asked again on a later pass",
  // The REST gateway (src/node/rest-gateway): fruizione and erogazione of REST APIs.
  TRAMITE_ERR_REST_API_UNKNOWN: 'No REST API with this provider, name and version is configured on this node',
  TRAMITE_ERR_REST_NOT_CONSUMER: 'The calling party may not call this REST API (not among its consumers)',
  TRAMITE_ERR_REST_PARTY_AMBIGUOUS: "The caller's token acts for several parties and the Tramite-Party header does not name one of them",
  TRAMITE_ERR_REST_BODY_TOO_LARGE: "A REST request's body is larger than the API's maxBodyBytes",
  TRAMITE_ERR_REST_AUDIT_DATA:
    'The Tramite-Audit header an AUDIT_REST pattern needs is missing, not a JSON object, or lacks a claim the API requires',
  TRAMITE_ERR_REST_PROVIDER_REFUSED:
    "The provider's gateway refused a REST call with an unsigned error answer (e.g. GovWay's InteroperabilityInvalidRequest); passed back to the back office as it came",
  TRAMITE_ERR_REST_PATH:
    "A REST call's path climbs out of the API (a dot segment, raw or encoded), or holds an encoded slash, a backslash or a control character",
  TRAMITE_ERR_REST_UPSTREAM:
    "The back office's API behind an erogazione could not be reached, was too slow, or answered more than maxBodyBytes",
} as const;

/**
 * Anomaly codes of the protocollo informatico interoperabile (AgID Linee guida 2021, Allegato 6):
 * what a receiving AOO puts in NotificaEccezione/Motivo. Spelled as the guideline spells them (sic).
 */
export const PROTOCOLLO_CODES = {
  '000_Irricevibile': 'Messaggio irricevibile: Segnatura mancante, non valida rispetto allo schema o non leggibile',
  '001_ValidazioneFirma': 'Firma (sigillo) della Segnatura non valida',
  '002_AnomaliaImpronta': "L'impronta di un documento non corrisponde a quella dichiarata nella Segnatura",
  '003_DocumentoAllegatiNonLeggibili': 'Documento primario o allegati mancanti o non leggibili',
  '004_DocumentoAllegatiErrorreValidazioneFirma': 'Firma di un documento o allegato non valida',
  '005_DocumentoAllegatiErroreValidazioneMarcaTemporale': 'Marca temporale di un documento o allegato non valida',
  '006_DocumentoAllegatiErroreValidazioneSigillo': 'Sigillo di un documento o allegato non valido',
  '007_ErroreIdentificatoreNonTrovato': 'Identificatore di protocollo non trovato',
} as const;

export type EgovCode = keyof typeof EGOV_CODES;
export type TramiteCode = keyof typeof TRAMITE_CODES;
export type ProtocolloCode = keyof typeof PROTOCOLLO_CODES;
export type ErrorCode = EgovCode | TramiteCode | ProtocolloCode;

export function describeCode(code: ErrorCode): string {
  return (
    (EGOV_CODES as Record<string, string>)[code] ??
    (TRAMITE_CODES as Record<string, string>)[code] ??
    (PROTOCOLLO_CODES as Record<string, string>)[code] ??
    code
  );
}

export function isProtocolloCode(code: string): code is ProtocolloCode {
  return Object.hasOwn(PROTOCOLLO_CODES, code);
}

export function isEgovCode(code: string): code is EgovCode {
  return Object.hasOwn(EGOV_CODES, code);
}
