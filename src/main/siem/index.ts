// Front door of the SIEM service: the outbox that delivers sealed audit
// batches (read through a SealedBatchSource the core hands it), the transports
// (syslog over TLS, Splunk HEC, HTTPS JSON) and their renderings (RFC 5424 +
// JSON, CEF, LEEF 2.0, ECS, HEC), and the HEC token reader the doctor shares.
export { SiemOutbox, type BackoffOptions, type OutboxOptions } from './outbox.js';
export { createTransport, type TransportEnvironment } from './transports/index.js';
export { DeliveryError, type DeliveryErrorCode, type OutgoingBatch, type OutgoingEvent, type RenderContext, type SealedBatchSource, type SiemDestination, type Transport } from './types.js';
export { readHecToken } from './hec-token.js';
