import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { ioError } from '../errors.js'

/** LMDB's meta page magic, 0xBEEFC0DE, as stored (little-endian) near the start of both meta pages. */
const MAGIC = 0xbeefc0de
const MAGIC_SEARCH_BYTES = 64
const PAGE_SIZES = [4096, 8192, 16384, 32768, 65536]

/**
 * The native LMDB binding crashes the process (SIGSEGV) when it maps a data file that is not an
 * LMDB environment (garbage, truncated, zeroed). Before opening, check that `data.mdb`, if it
 * exists and is not empty, starts with two LMDB meta pages; otherwise fail with EPOST_STORE_IO.
 * This catches gross damage only: LMDB trusts the pages it reaches through those meta pages.
 */
export async function checkDataFile(dir: string): Promise<void> {
  const file = join(dir, 'data.mdb')
  let handle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return
    throw ioError('open', err, dir)
  }
  try {
    const { size } = await handle.stat()
    if (size === 0) return
    const head = Buffer.alloc(Math.min(size, PAGE_SIZES[PAGE_SIZES.length - 1] as number) + MAGIC_SEARCH_BYTES)
    const { bytesRead } = await handle.read(head, 0, head.length, 0)
    const buf = head.subarray(0, bytesRead)
    if (!hasMetaPages(buf)) {
      throw ioError('open', new Error(`${file} is not an LMDB data file (no meta pages)`), dir)
    }
  } finally {
    await handle.close()
  }
}

function hasMetaPages(buf: Buffer): boolean {
  for (let offset = 0; offset + 4 <= MAGIC_SEARCH_BYTES; offset += 4) {
    if (buf.length < offset + 4 || buf.readUInt32LE(offset) !== MAGIC) continue
    for (const page of PAGE_SIZES) {
      if (buf.length >= page + offset + 4 && buf.readUInt32LE(page + offset) === MAGIC) return true
    }
  }
  return false
}
