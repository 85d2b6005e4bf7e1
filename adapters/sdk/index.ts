/**
 * The adapter SDK: everything an adapter may use. Adapters import from here (and core types), never
 * from the node's internals — `npm test` enforces it.
 */
export {
  AdapterError,
  defineAdapter,
  type AdapterCatalog,
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
// Every HTTP answer an adapter reads goes through the node's one bounded reader.
export { discardBoundedBody, readBoundedBody, ResponseTooLargeError, type BoundedReadOptions, type ResponseBodyStream } from '../../src/core/bounded-body.js';
