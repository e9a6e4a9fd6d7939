export { transportSuite } from './transport.js'
export type { TransportSetup, TransportSetupOptions, TransportTestbed } from './transport.js'
