/**
 * @epost/store: BlockStore implementations. Import the one you need from its subpath, so the
 * simulator never loads the native LMDB binding:
 * - `@epost/store/memory`: `memoryStore({ quotaBytes })`, in process memory;
 * - `@epost/store/lmdb`: `lmdbStore({ path, quotaBytes })`, durable on disk.
 */
export { fullRing, arcIntervals } from './ring.js'
export { DEFAULT_QUOTA_BYTES, SCAN_PAGE_SIZE } from './constants.js'
