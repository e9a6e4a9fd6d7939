import { transportSuite } from '@epost/compliance'
import { testPki } from '../test-support/pki.js'
import { drainIo, until } from '../test-support/real-io.js'
import { wsTransport } from './index.js'
import type { WsTransport } from './index.js'

transportSuite('ws', async ({ n }) => {
  const pki = testPki()
  const transports: WsTransport[] = Array.from({ length: n }, () =>
    wsTransport({ maxFrameBytes: 256 * 1024, closeGraceMs: 200 })({ credentials: pki.node().credentials, verifier: pki.verifier }),
  )
  await Promise.all(transports.map((t) => t.start()))
  return {
    transports,
    until,
    async settle() {
      await until(() => transports.every((t) => t.pendingBytes === 0), 'outbound queues to drain')
      await drainIo()
    },
    async kill(i) {
      await (transports[i] as WsTransport).stop()
    },
    async teardown() {
      await Promise.all(transports.map((t) => t.stop()))
    },
  }
})
