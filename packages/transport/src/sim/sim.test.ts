import { Rng, VirtualClock } from '@epost/core'
import { transportSuite } from '@epost/compliance'
import { SIM_MAX_LATENCY_MS } from '../constants.js'
import { fakeCredentials } from '../test-support/fake-credentials.js'
import { SimNetwork } from './index.js'

transportSuite('sim', async ({ n }) => {
  const clock = new VirtualClock()
  const rng = new Rng('compliance/sim')
  const network = new SimNetwork({ clock, rng, maxFrameBytes: 256 * 1024, jitterMs: 5 })
  const transports = Array.from({ length: n }, () => network.createTransport({ credentials: fakeCredentials(rng) }))
  await Promise.all(transports.map((t) => t.start()))
  return {
    transports,
    async until(predicate, what) {
      if (!(await clock.runUntilTrue(predicate, 60_000))) throw new Error(`timed out (60 s of virtual time) waiting for ${what}`)
    },
    settle: () => clock.advance(2 * SIM_MAX_LATENCY_MS),
    async kill(i) {
      network.kill((transports[i] as (typeof transports)[number]).localHandle.address)
    },
    async teardown() {
      await Promise.all(transports.map((t) => t.stop()))
    },
  }
})
