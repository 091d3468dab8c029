// Which transport serves which kind of destination. (Being completed in this change.)
import { DeliveryError, type RenderContext, type SiemDestination, type Transport } from '../types.js';

export interface TransportEnvironment {
  render: RenderContext;
  /** Splunk HEC indexer acknowledgement channel for this workstation and destination. */
  hecChannel: (destinationId: string) => string;
}

export function createTransport(destination: SiemDestination, _environment: TransportEnvironment): Transport {
  return {
    send: () => Promise.reject(new DeliveryError('configuration', `${destination.type} delivery is not available yet.`)),
    close: () => Promise.resolve(),
  };
}
