// A small D-Bus client: enough to follow the Linux desktop's screen lock
// (connect, authenticate as this user, add match rules, call a method, receive
// signals) and, for the tests, to play a service (own a name, answer a call,
// emit a signal). Plain Node (node:net), no Electron.
//
// Written here rather than taken from npm: the maintained JavaScript client
// (dbus-next) brings some 70 packages into the app, among them a native addon
// for abstract sockets built with an old node-gyp (and its deprecated `request`)
// and an XML parser with a published advisory, all for introspection this code
// never needs. Node reaches abstract sockets by itself. What is implemented
// follows the D-Bus specification (wire format, EXTERNAL authentication); what
// is not (file descriptors, other authentication mechanisms, TCP) is refused
// with a clear error.
//
// The parts: types.ts (the message model), signature.ts, parser.ts and
// serializer.ts (the wire format), address.ts, and connection.ts (sockets,
// authentication, the message bus).
export { socketPathsFromAddress } from './address.js';
export { DbusConnection, matchRule, type CallOptions } from './connection.js';
export { decodeMessage, messageLength } from './parser.js';
export { encodeMessage } from './serializer.js';
export { splitSignature } from './signature.js';
export { DbusError, MessageType, type DbusMessage, type DbusValue, type OutgoingMessage } from './types.js';
