export { lmdbStore, LmdbBlockStore } from './lmdb-store.js'
export type { LmdbStoreInit } from './lmdb-store.js'
export { fullRing } from '../ring.js'
