import { transportSuite } from '@epost/compliance'
import type { TransportSetup } from '@epost/compliance'
import { testPki } from '../test-support/pki.js'
import { drainIo, until } from '../test-support/real-io.js'
import { wsTransport } from './index.js'
import type { WsTransport, WsTransportInit } from './index.js'

function setup(init: WsTransportInit): TransportSetup {
  return async ({ n }) => {
    const pki = testPki()
    const transports: WsTransport[] = Array.from({ length: n }, () =>
      wsTransport({ maxFrameBytes: 256 * 1024, closeGraceMs: 200, ...init })({ credentials: pki.node().credentials, verifier: pki.verifier }),
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
  }
}

transportSuite('ws', setup({}))
transportSuite('ws (unmasked frames, tiny high-water mark)', setup({ maskFrames: false, highWaterMarkBytes: 1 }))
