export { memoryStore, MemoryBlockStore } from './memory-store.js'
export type { MemoryStoreInit } from './memory-store.js'
export { fullRing } from '../ring.js'
