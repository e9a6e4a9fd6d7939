import { describe, expect, it } from 'vitest'
import { EpostError, Id, RealClock, Rng, createMetrics } from '@epost/core'
import { TestOverlayNetwork } from '@epost/compliance'
import { encodeUserCertificate, issueUserCertificate, signingKeyPairFromSeed, userCertificateHandle } from '@epost/crypto'
import { memoryStore } from '@epost/store/memory'
import { PastNode, blockHandle, appendBlock, appendEntry, appendHandle, certificateBlock, contentBlock, decodeBlock, encodeBlock, entryId, publicKeyBlock, publicKeyHandle, tombstone, trimRecord } from './index.js'
import type { Block } from './index.js'
import { pastProtocol } from './messages.js'
import { emptyDigest } from './digest.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 5)
const K = 5

async function ring(n: number, seed = SEED, lookupTimeoutMs = 200) {
  const rng = new Rng(seed)
  const ca = signingKeyPairFromSeed(rng.bytes(32))
  const net = new TestOverlayNetwork()
  const clock = new RealClock()
  const metrics = createMetrics()
  const nodes: PastNode[] = []
  for (let i = 0; i < n; i++) {
    const store = memoryStore()
    await store.start()
    nodes.push(new PastNode({ replicas: K, lookupTimeoutMs, replicateTimeoutMs: 300, insertTimeoutMs: 500 }, { overlay: net.add(Id.random((b) => rng.bytes(b))), store, clock, caPublicKey: ca.publicKey, metrics }))
  }
  const byId = (id: Id): PastNode => nodes.find((p) => p.endpoint.localHandle.id.equals(id)) as PastNode
  const replicasOf = (handle: Id): PastNode[] => net.closest(handle, K).map((h) => byId(h.id))
  return { rng, ca, net, nodes, metrics, byId, replicasOf }
}

const bytesOf = (s: string): Uint8Array => new TextEncoder().encode(s)
const dataOf = (b: Block): string => new TextDecoder().decode(b.kind === 'certificate' ? b.certificate : b.kind === 'content' || b.kind === 'public-key' ? b.data : new Uint8Array())

describe(`PAST over the test overlay (seed ${SEED})`, () => {
  it('stores a content-hash block on exactly the k closest nodes and reads it back', async () => {
    const r = await ring(12)
    const [a, b] = r.nodes as [PastNode, PastNode]
    const res = await a.insert(contentBlock(bytesOf('hello, ring')))
    expect(res.stored).toBe(K)
    const holders = await Promise.all(r.nodes.map((p) => p.store.has(res.handle)))
    const expected = new Set(r.replicasOf(res.handle).map((p) => p.endpoint.localHandle.id.hex))
    r.nodes.forEach((p, i) => expect(holders[i]).toBe(expected.has(p.endpoint.localHandle.id.hex)))
    expect(dataOf(await b.lookup(res.handle))).toBe('hello, ring')
  })

  it('moves public-key blocks only forward; readers take the newest version', async () => {
    const r = await ring(12)
    const owner = signingKeyPairFromSeed(r.rng.bytes(32))
    const [a, b] = r.nodes as [PastNode, PastNode]
    await a.insert(publicKeyBlock(owner, 'inbox', 1, bytesOf('v1')))
    await a.insert(publicKeyBlock(owner, 'inbox', 2, bytesOf('v2')))
    const h = publicKeyHandle(owner.publicKey, 'inbox')
    const got = await b.lookupAll(h)
    expect(got.kind === 'public-key' && got.seq).toBe(2)
    expect(dataOf(got)).toBe('v2')
    await expect(a.insert(publicKeyBlock(owner, 'inbox', 1, bytesOf('v1')))).rejects.toMatchObject({ code: 'EPOST_PAST_STALE_VERSION' })
    await expect(a.insert(publicKeyBlock(owner, 'inbox', 2, bytesOf('fork')))).rejects.toMatchObject({ code: 'EPOST_PAST_STALE_VERSION' })
    // Two names of one owner are two blocks.
    await a.insert(publicKeyBlock(owner, 'log', 1, bytesOf('log')))
    expect(dataOf(await b.lookup(publicKeyHandle(owner.publicKey, 'log')))).toBe('log')
  })

  it('stores CA-signed certificates at the hash of the address and refuses others', async () => {
    const r = await ring(10)
    const user = signingKeyPairFromSeed(r.rng.bytes(32))
    const subject = { address: 'alice@example.org', signingKey: user.publicKey, encryptionKey: r.rng.bytes(32), issuedAt: Date.now() - 1000, expiresAt: Date.now() + 3600_000 }
    const cert = encodeUserCertificate(issueUserCertificate(r.ca, subject))
    const [a, b] = r.nodes as [PastNode, PastNode]
    const res = await a.insert(certificateBlock(cert))
    expect(res.handle.equals(userCertificateHandle('alice@example.org'))).toBe(true)
    expect((await b.lookup(res.handle)).kind).toBe('certificate')
    const rogue = signingKeyPairFromSeed(r.rng.bytes(32))
    const forged = encodeUserCertificate(issueUserCertificate(rogue, { ...subject, address: 'mallory@example.org' }))
    await expect(a.insert(certificateBlock(forged))).rejects.toMatchObject({ code: 'EPOST_PAST_INVALID_BLOCK' })
    // A storing node verifies too: a forged certificate pushed straight at a replica is refused.
    const target = r.replicasOf(userCertificateHandle('mallory@example.org'))[0] as PastNode
    await expect(target.storeLocal(userCertificateHandle('mallory@example.org'), encodeBlock(certificateBlock(forged)))).rejects.toMatchObject({ code: 'EPOST_PAST_INVALID_BLOCK' })
    // k-1 replicas that serve a rogue CA's certificate for alice (new keys) are outvoted on read.
    const rogueAlice = encodeUserCertificate(issueUserCertificate(rogue, { ...subject, signingKey: rogue.publicKey }))
    for (const p of r.replicasOf(res.handle).slice(0, K - 1)) await p.store.put(res.handle, encodeBlock(certificateBlock(rogueAlice)))
    const got = await b.lookup(res.handle)
    expect(got.kind === 'certificate' && Buffer.from(got.certificate).equals(Buffer.from(cert))).toBe(true)
  })

  it('reads the right block while k-1 replicas serve corrupted bytes, old versions or forgeries', async () => {
    const r = await ring(14)
    const owner = signingKeyPairFromSeed(r.rng.bytes(32))
    const reader = r.nodes[13] as PastNode
    // Content-hash: corrupt the copies of k-1 replicas, the root's among them.
    const c = await (r.nodes[0] as PastNode).insert(contentBlock(bytesOf('payload')))
    const replicas = r.replicasOf(c.handle)
    for (const p of replicas.slice(0, K - 1)) await p.store.put(c.handle, encodeBlock(contentBlock(bytesOf('corrupted'))))
    expect(dataOf(await reader.lookup(c.handle))).toBe('payload')
    // Public-key: k-1 replicas roll back to an old version, one serves a forged signature.
    const h = publicKeyHandle(owner.publicKey, 'head')
    const old = publicKeyBlock(owner, 'head', 1, bytesOf('old'))
    await (r.nodes[0] as PastNode).insert(old)
    await (r.nodes[0] as PastNode).insert(publicKeyBlock(owner, 'head', 5, bytesOf('new')))
    const reps = r.replicasOf(h)
    for (const p of reps.slice(0, K - 2)) await p.store.put(h, encodeBlock(old))
    const forged = { ...publicKeyBlock(owner, 'head', 9, bytesOf('forged')), signature: new Uint8Array(64).fill(7) }
    await (reps[K - 2] as PastNode).store.put(h, encodeBlock(forged))
    const got = await reader.lookupAll(h)
    expect(got.kind === 'public-key' && got.seq).toBe(5)
    // The reader repaired the replicas it saw stale or forged.
    const settled = async (): Promise<number[]> =>
      Promise.all(reps.map(async (p) => { const b = await p.store.get(h); return b === undefined ? -1 : (decodeBlock(b) as { seq: number }).seq }))
    for (let i = 0; i < 50 && (await settled()).some((s) => s !== 5); i++) await new Promise((res) => setTimeout(res, 10))
    expect(await settled()).toEqual([5, 5, 5, 5, 5])
  })

  it('keeps append-only objects as a superset of every replica, trimmed only by the owner', async () => {
    const r = await ring(12)
    const owner = signingKeyPairFromSeed(r.rng.bytes(32))
    const alice = signingKeyPairFromSeed(r.rng.bytes(32))
    const bob = signingKeyPairFromSeed(r.rng.bytes(32))
    const h = appendHandle(owner.publicKey, 'inbox')
    const [a, b, reader] = r.nodes as [PastNode, PastNode, PastNode]
    const e1 = appendEntry(h, alice, bytesOf('from alice'))
    const e2 = appendEntry(h, bob, bytesOf('from bob'))
    expect((await a.insert(appendBlock(owner.publicKey, 'inbox', [e1]))).stored).toBe(K)
    expect((await b.insert(appendBlock(owner.publicKey, 'inbox', [e2]))).stored).toBe(K)
    // A third entry reached only one replica (its other copies were lost, say).
    const e3 = appendEntry(h, alice, bytesOf('only on one'))
    const reps = r.replicasOf(h)
    await (reps[3] as PastNode).storeLocal(h, encodeBlock(appendBlock(owner.publicKey, 'inbox', [e3])))
    const texts = (blk: Block): string[] => (blk.kind === 'append' ? blk.entries.map((e) => new TextDecoder().decode(e.data)).sort() : [])
    expect(texts(await reader.lookupAll(h))).toEqual(['from alice', 'from bob', 'only on one'])
    // The read repaired the replicas: every one now holds all three.
    const counts = async (): Promise<number[]> => Promise.all(reps.map(async (p) => { const x = await p.store.get(h); return x === undefined ? 0 : (decodeBlock(x) as { entries: unknown[] }).entries.length }))
    for (let i = 0; i < 50 && (await counts()).some((c) => c !== 3); i++) await new Promise((res) => setTimeout(res, 10))
    expect(await counts()).toEqual([3, 3, 3, 3, 3])
    // A forged entry is refused.
    const forged = { ...appendEntry(h, alice, bytesOf('forged')), signature: new Uint8Array(64).fill(1) }
    await expect(a.insert(appendBlock(owner.publicKey, 'inbox', [forged]))).rejects.toMatchObject({ code: 'EPOST_PAST_INVALID_BLOCK' })
    // Only the owner trims; a trim by anyone else is refused.
    await expect(a.insert(appendBlock(owner.publicKey, 'inbox', [], trimRecord(h, bob, 1, [entryId(e1)])))).rejects.toMatchObject({ code: 'EPOST_PAST_INVALID_BLOCK' })
    await a.insert(appendBlock(owner.publicKey, 'inbox', [], trimRecord(h, owner, 1, [entryId(e1), entryId(e3)])))
    expect(texts(await reader.lookupAll(h))).toEqual(['from bob'])
    // A stale copy pushed back by a replica does not bring trimmed entries back.
    await (reps[0] as PastNode).storeLocal(h, encodeBlock(appendBlock(owner.publicKey, 'inbox', [e1, e3])))
    expect(texts(await reader.lookupAll(h))).toEqual(['from bob'])
  })

  it('deletes an owner\'s block only on the owner\'s signed word, and never brings it back', async () => {
    const r = await ring(12)
    const owner = signingKeyPairFromSeed(r.rng.bytes(32))
    const stranger = signingKeyPairFromSeed(r.rng.bytes(32))
    const [a, reader] = r.nodes as [PastNode, PastNode]
    const h = publicKeyHandle(owner.publicKey, 'draft')
    await a.insert(publicKeyBlock(owner, 'draft', 3, bytesOf('secret draft')))
    // Someone else's deletion is refused.
    const forged = { ...tombstone(stranger, 'public-key', 'draft', 3), owner: owner.publicKey }
    await expect(a.insert(forged)).rejects.toMatchObject({ code: 'EPOST_PAST_INVALID_BLOCK' })
    await a.insert(tombstone(owner, 'public-key', 'draft', 3))
    expect((await reader.lookupAll(h)).kind).toBe('tombstone')
    // Every replica dropped the data.
    for (const p of r.replicasOf(h)) {
      const stored = await p.store.get(h)
      expect(stored === undefined ? undefined : decodeBlock(stored).kind).toBe('tombstone')
    }
    // The old version cannot come back; a later one (re-creation by the owner) can.
    await expect(a.insert(publicKeyBlock(owner, 'draft', 3, bytesOf('secret draft')))).rejects.toMatchObject({ code: 'EPOST_PAST_STALE_VERSION' })
    await a.insert(publicKeyBlock(owner, 'draft', 4, bytesOf('new draft')))
    expect(dataOf(await reader.lookupAll(h))).toBe('new draft')
  })

  it('falls back to the other replicas when the root is dead', async () => {
    const r = await ring(12)
    const c = await (r.nodes[0] as PastNode).insert(contentBlock(bytesOf('survives')))
    const root = r.replicasOf(c.handle)[0] as PastNode
    r.net.kill(root.endpoint.localHandle.id)
    const reader = r.nodes.find((p) => p !== root && !r.replicasOf(c.handle).includes(p)) as PastNode
    expect(dataOf(await reader.lookup(c.handle))).toBe('survives')
  })

  it('diverts a replica to the next node in line when a replica\'s store is full', async () => {
    const rng = new Rng(SEED + 100)
    const ca = signingKeyPairFromSeed(rng.bytes(32))
    const net = new TestOverlayNetwork()
    const clock = new RealClock()
    const block = contentBlock(rng.bytes(400))
    const handle = blockHandle(block)
    const ids = Array.from({ length: 16 }, () => Id.random((b) => rng.bytes(b)))
    const byCloseness = [...ids].sort((a, b) => (handle.isCloser(a, b) ? -1 : 1))
    // Two of the k closest (the root and the third) have room for almost nothing.
    const small = new Set([byCloseness[0]?.hex, byCloseness[2]?.hex])
    const nodes: PastNode[] = []
    for (const id of ids) {
      const store = memoryStore(small.has(id.hex) ? { quotaBytes: 100 } : {})
      await store.start()
      nodes.push(new PastNode({ replicas: K, lookupTimeoutMs: 200, replicateTimeoutMs: 300 }, { overlay: net.add(id), store, clock, caPublicKey: ca.publicKey }))
    }
    const writer = nodes.find((p) => !small.has(p.endpoint.localHandle.id.hex)) as PastNode
    const res = await writer.insert(block)
    expect(res.stored).toBe(K)
    const holders: PastNode[] = []
    for (const p of nodes) if (await p.store.has(handle)) holders.push(p)
    expect(holders).toHaveLength(K)
    expect(holders.some((p) => small.has(p.endpoint.localHandle.id.hex))).toBe(false)
    // The two copies the full nodes could not take sit, diverted, on the next nodes in line.
    const diverted = holders.filter((p) => !byCloseness.slice(0, K).some((id) => id.equals(p.endpoint.localHandle.id)))
    expect(diverted).toHaveLength(2)
    for (const p of diverted) expect((await p.store.getMeta(handle))?.['diverted']).toBe(true)
    // Readers find it, the root's refusal notwithstanding.
    expect((await (nodes.find((p) => !holders.includes(p) && !small.has(p.endpoint.localHandle.id.hex)) as PastNode).lookup(handle)).kind).toBe('content')
  })

  it('refuses to acknowledge an insert that fewer than k nodes hold', async () => {
    const r = await ring(4)
    await expect((r.nodes[0] as PastNode).insert(contentBlock(bytesOf('too few')))).rejects.toMatchObject({ code: 'EPOST_PAST_INSUFFICIENT_REPLICAS' })
    // With a quorum below k, what the ring can hold is enough.
    expect((await (r.nodes[0] as PastNode).insert(contentBlock(bytesOf('quorum of 3')), { quorum: 3 })).stored).toBe(4)
  })

  it('counts and drops malformed PAST messages and keeps serving', async () => {
    const r = await ring(8)
    const [a, b] = r.nodes as [PastNode, PastNode]
    a.endpoint.send(b.endpoint.localHandle, new Uint8Array([1, 2, 3]))
    a.endpoint.send(b.endpoint.localHandle, pastProtocol.encode('fetch', { req: 1, key: new Uint8Array(3) } as never))
    await new Promise((res) => setTimeout(res, 10))
    expect(r.metrics.snapshot()['epost_past_malformed_total']).toBe(2)
    const res = await a.insert(contentBlock(bytesOf('still fine')), { k: 3 })
    expect(res.stored).toBe(3)
  })

  it('answers a sync it cannot serve (its store fails) with an error, so the asker need not wait', async () => {
    // Timeouts long enough that a silent peer would outlast the test's own timeout.
    const r = await ring(6, SEED, 60_000)
    const [a, b] = r.nodes as [PastNode, PastNode]
    b.store.scan = () => {
      throw new EpostError('EPOST_STORE_IO', 'disk read failed')
    }
    const range = { from: Id.fromBigInt(0n), to: Id.fromBigInt((1n << 128n) - 1n) }
    expect(await a.sync(b.endpoint.localHandle, range, emptyDigest())).toBeUndefined()
    // A healthy peer still answers with its keys.
    const res = await a.insert(contentBlock(bytesOf('synced')), { k: 3, quorum: 3 })
    const held = await Promise.all(r.nodes.map((p) => p.store.has(res.handle)))
    const holder = r.nodes.find((p, i) => p !== a && p !== b && held[i] === true) as PastNode
    const keys = await a.sync(holder.endpoint.localHandle, range, emptyDigest())
    expect(keys?.map((k) => k.hex)).toContain(res.handle.hex)
  })
})
