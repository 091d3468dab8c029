// Front door of the SIEM service: the outbox that delivers sealed audit
// batches, the transports (syslog over TLS, Splunk HEC, HTTPS JSON) and their
// renderings (RFC 5424 + JSON, CEF, LEEF 2.0, ECS, HEC).
export { SiemOutbox, destinationTarget, loadOutgoingBatch, type BackoffOptions, type OutboxOptions } from './outbox.js';
export { createTransport, type TransportEnvironment } from './transports/index.js';
export { DeliveryError, type DeliveryErrorCode, type OutgoingBatch, type OutgoingEvent, type RenderContext, type SiemDestination, type Transport } from './types.js';
export { readHecToken, tokenFromFileBytes } from './hec-token.js';
