import type { BenchSection, Figure } from './harness.js'
import { median } from './harness.js'

/**
 * How fast the machine is right now, in the three ways the simulator feels (docs/architecture.md,
 * "What bounds the routing run's time on this VM"): a CPU-only loop, random reads over a
 * 256 MiB array (memory latency: on the shared VM this swings by half while the CPU loop does
 * not move), and touching freshly allocated memory (page faults). Run it before and after a
 * timed simulation to tell a slow spell of the machine from a slow change.
 */
const MIB = 2 ** 20
/** The loops' results land here, a write the compiler must keep, so the loops are not optimised away. */
let sink = 0

function cpuLoopMs(): number {
  const t0 = performance.now()
  let h = 0x811c9dc5
  for (let i = 0; i < 60_000_000; i++) {
    h ^= i
    h = Math.imul(h, 16777619)
  }
  sink ^= h
  return performance.now() - t0
}

function randomReadsMs(a: Int32Array): number {
  const mask = a.length - 1
  let x = 12345
  let s = 0
  const t0 = performance.now()
  for (let i = 0; i < 8_000_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    s += a[x & mask] as number
  }
  sink ^= s
  return performance.now() - t0
}

function freshTouchMsPerGiB(bytes: number): number {
  const t0 = performance.now()
  const b = Buffer.allocUnsafeSlow(bytes)
  for (let i = 0; i < b.length; i += 4096) b[i] = 1
  return ((performance.now() - t0) * (1024 * MIB)) / bytes
}

const section: BenchSection = {
  title: 'machine',
  async run({ quick }) {
    const rounds = quick ? 1 : 5
    const a = new Int32Array((256 * MIB) / 4)
    for (let i = 0; i < a.length; i += 1024) a[i] = i
    const cpu: number[] = []
    const mem: number[] = []
    const touch: number[] = []
    for (let r = 0; r < rounds; r++) {
      cpu.push(cpuLoopMs())
      mem.push(randomReadsMs(a))
      touch.push(freshTouchMsPerGiB((quick ? 64 : 256) * MIB))
    }
    const figures: Figure[] = [
      { section: 'machine', name: 'CPU loop (60 M multiply-xor)', value: median(cpu), unit: 'ms', note: `median of ${rounds}` },
      { section: 'machine', name: 'random reads (8 M over 256 MiB)', value: median(mem), unit: 'ms', note: `median of ${rounds}; memory latency` },
      { section: 'machine', name: 'first touch of fresh memory', value: median(touch), unit: 'ms/GiB', note: `median of ${rounds}; page faults` },
    ]
    return figures
  },
}

export default section
