/**
 * The adapter SDK: everything an adapter may use. Adapters import from here (and core types), never
 * from the node's internals — `npm test` enforces it.
 */
export {
  AdapterError,
  defineAdapter,
  type AdapterCatalog,
  type AdapterCertificateFile,
  type AdapterContext,
  type AdapterDefinition,
  type AdapterHealth,
  type AdapterInstance,
  type AdapterLogger,
  type BusClient,
  type BusMessage,
  type EgressOutcome,
  type MessageState,
  type OutgoingMessage,
} from './adapter.js';
export { BUS_API_VERSION, busApiMismatch, checkBusApi } from './bus-api.js';
export { compileOptionsSchema, deepFreeze, type OptionsValidator } from './options-schema.js';
export { checkAdapterConformance, type ConformanceCheck, type ConformanceFixture, type ConformanceReport } from './conformance.js';
export {
  AdapterHttpServer,
  describeAjvErrors,
  listenOptionsSchema,
  replyFor,
  type AdapterHttpServerOptions,
  type HttpCall,
  type HttpReply,
} from './adapter-http-server.js';
export * from './xml-security.js';
// The one strict XML sequence reader, writer and escaping of the wire package: adapters read and write
// their vocabularies with these, never with a reader or escape of their own.
export {
  StrictSequenceReader,
  ChildSequence,
  UNBOUNDED,
  describeElement,
  type ChildSlot,
  type SequenceRefusal,
  type SequenceRefusalFactory,
} from '../../envelopes/xml/strict-sequence-reader.js';
export { XmlWriter, type XmlNamespace, type XmlWriterOptions, type UnwritableValueFactory } from '../../envelopes/xml/xml-writer.js';
export {
  escapeAttribute,
  escapeText,
  findForbiddenXmlChar,
  replaceForbiddenXmlChars,
  NOT_XML_CHAR,
  type ForbiddenXmlChar,
} from '../../envelopes/xml/xml-escape.js';
// Every HTTP answer an adapter reads goes through the node's one bounded reader.
export {
  discardBoundedBody,
  readBoundedBody,
  ResponseTooLargeError,
  type BoundedReadOptions,
  type ResponseBodyStream,
} from '../../src/core/bounded-body.js';

// Libraries the shipped adapters share (and third-party ones may use): one copy each, here.
export { XsdSchema, lazyXsdSchema, type XsdSchemaSource, type XsdValidation, type XsdViolation } from './xml-schema/xsd-schema.js';
export { signXades, type XadesSigner, type XadesSignOptions } from './xades/xades-sign.js';
export { verifyXades, type VerifiedXades, type XadesVerifyOptions } from './xades/xades-verify.js';
export { ACCEPTED_DIGESTS, XADES_NS, type XadesDigest } from './xades/xades-algorithms.js';
export {
  CodiceFiscaleInputError,
  checkCharacter,
  checkCodiceFiscale,
  computeCodiceFiscale,
  omocodicVariants,
  type CfCheck,
  type PersonalData,
  type Sex,
} from './codice-fiscale/codice-fiscale.js';
export {
  PEC_ADDRESS,
  PEC_BUS_NS,
  invioPecXml,
  messaggioPecXml,
  readInvioPec,
  readMessaggioPec,
  ricevutaXml,
  type InvioPec,
  type MessaggioPecPayload,
  type PecAllegato,
  type RicevutaPayload,
} from './pec-formats/pec-bus-xml.js';
export { nextRomeMidnight, romeDateTime, romeDay, romeMidnight, romeOffset } from './calendar/rome-day.js';
// Adapter state on either engine: SQLite in the adapter's folder, or PostgreSQL when the node's log is there.
export {
  isStoreUnavailable,
  isUniqueViolation,
  StoreError,
  type AdapterStore,
  type AdapterStoreOpener,
  type AdapterStoreOptions,
  type DialectStep,
  type SqlRow,
  type SqlValue,
  type StoreDialect,
  type StoreMigration,
  type StoreQueries,
  type StoreRunResult,
  type StoreTransaction,
} from './store/adapter-store.js';
export { SqliteAdapterStore, sqliteAdapterFolder, sqliteStoreOpener } from './store/sqlite-adapter-store.js';
export { PostgresAdapterStore, type PostgresStoreLocation } from './store/postgres-adapter-store.js';
export { StoreLease, type LeaseClock } from './store/store-lease.js';
export { BackgroundWorker, type BackgroundWorkerOptions, type PassOutcome, type WorkerPass } from './background-worker.js';
