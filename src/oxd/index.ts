export { OxdClient, type OxdClientOptions } from './client';
export {
  HttpsTransport,
  HTTPS_TRANSPORT_DEFAULTS,
  type HttpsTransportOptions,
} from './https-transport';
export {
  SocketTransport,
  SOCKET_TRANSPORT_DEFAULTS,
  type SocketTransportOptions,
} from './socket-transport';
export type { OxdReply, OxdRequest, Transport } from './transport';
export { COMMANDS } from './commands';
export type * from './commands';
