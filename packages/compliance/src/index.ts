export { transportSuite } from './transport.js'
export type { TransportSetup, TransportSetupOptions, TransportTestbed } from './transport.js'
export { blockStoreSuite } from './block-store.js'
export type { BlockStoreFixture, BlockStoreSetup, BlockStoreSetupOptions } from './block-store.js'
