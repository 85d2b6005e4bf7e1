/**
 * The adapter SDK: everything an adapter may use. Adapters import from here (and core types), never
 * from the node's internals — `npm test` enforces it.
 */
export {
  AdapterError,
  defineAdapter,
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
export { checkAdapterConformance, type ConformanceCheck, type ConformanceFixture, type ConformanceReport } from './conformance.js';
export { AdapterHttpServer, describeAjvErrors, listenOptionsSchema, replyFor, type AdapterHttpServerOptions, type HttpCall, type HttpReply } from './adapter-http-server.js';
export * from './xml-security.js';
// The one strict XML sequence reader, writer and escaping of the wire package: adapters read and write
// their vocabularies with these, never with a reader or escape of their own.
export { StrictSequenceReader, ChildSequence, UNBOUNDED, describeElement, type ChildSlot, type SequenceRefusal, type SequenceRefusalFactory } from '../../envelopes/xml/strict-sequence-reader.js';
export { XmlWriter, type XmlNamespace, type XmlWriterOptions, type UnwritableValueFactory } from '../../envelopes/xml/xml-writer.js';
export { escapeAttribute, escapeText, findForbiddenXmlChar, replaceForbiddenXmlChars, NOT_XML_CHAR, type ForbiddenXmlChar } from '../../envelopes/xml/xml-escape.js';
// Every HTTP answer an adapter reads goes through the node's one bounded reader.
export { discardBoundedBody, readBoundedBody, ResponseTooLargeError, type BoundedReadOptions, type ResponseBodyStream } from '../../src/core/bounded-body.js';
