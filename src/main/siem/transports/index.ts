// Which transport serves which kind of destination.
import type { RenderContext, SiemDestination, Transport } from '../types.js';
import { createHttpsJsonTransport } from './https-json.js';
import { createSplunkHecTransport } from './splunk-hec.js';
import { createSyslogTlsTransport } from './syslog-tls.js';

export interface TransportEnvironment {
  render: RenderContext;
  /** Splunk HEC indexer acknowledgement channel for this workstation and destination (kept across restarts). */
  hecChannel: (destinationId: string) => string;
}

export function createTransport(destination: SiemDestination, environment: TransportEnvironment): Transport {
  switch (destination.type) {
    case 'syslog-tls':
      return createSyslogTlsTransport(destination, environment.render);
    case 'splunk-hec':
      return createSplunkHecTransport(destination, environment.render, destination.indexerAcknowledgement ? { channel: environment.hecChannel(destination.id) } : {});
    case 'https-json':
      return createHttpsJsonTransport(destination, environment.render);
  }
}
