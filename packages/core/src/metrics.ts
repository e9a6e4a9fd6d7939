/**
 * Counters, gauges and histograms. Names follow `epost_<layer>_<what>_total` for counters.
 * `createMetrics()` keeps values in memory (the daemon exposes them; tests read `snapshot()`).
 */
export interface Counter {
  inc(n?: number): void
  readonly value: number
}

export interface Gauge {
  set(v: number): void
  inc(n?: number): void
  dec(n?: number): void
  readonly value: number
}

export interface Histogram {
  observe(v: number): void
  /** Quantile in [0, 1] over the observations kept (a bounded reservoir). */
  quantile(q: number): number
  readonly count: number
  readonly sum: number
}

export interface Metrics {
  counter(name: string): Counter
  gauge(name: string): Gauge
  histogram(name: string): Histogram
  /** Every counter and gauge value, and count/sum/p50/p99 of each histogram. */
  snapshot(): Record<string, number>
}

const RESERVOIR = 4096

class MemHistogram implements Histogram {
  count = 0
  sum = 0
  readonly #samples: number[] = []

  observe(v: number): void {
    this.count++
    this.sum += v
    if (this.#samples.length < RESERVOIR) this.#samples.push(v)
    else this.#samples[this.count % RESERVOIR] = v
  }

  quantile(q: number): number {
    if (this.#samples.length === 0) return NaN
    const s = [...this.#samples].sort((a, b) => a - b)
    return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number
  }
}

class MemCounter implements Counter {
  value = 0
  inc(n = 1): void {
    this.value += n
  }
}

class MemGauge implements Gauge {
  value = 0
  set(v: number): void {
    this.value = v
  }
  inc(n = 1): void {
    this.value += n
  }
  dec(n = 1): void {
    this.value -= n
  }
}

/** Instruments are created once per name and shared; asking again returns the same one. */
export function createMetrics(): Metrics {
  const counters = new Map<string, MemCounter>()
  const gauges = new Map<string, MemGauge>()
  const histograms = new Map<string, MemHistogram>()
  return {
    counter(name) {
      let c = counters.get(name)
      if (c === undefined) counters.set(name, (c = new MemCounter()))
      return c
    },
    gauge(name) {
      let g = gauges.get(name)
      if (g === undefined) gauges.set(name, (g = new MemGauge()))
      return g
    },
    histogram(name) {
      let h = histograms.get(name)
      if (h === undefined) histograms.set(name, (h = new MemHistogram()))
      return h
    },
    snapshot() {
      const out: Record<string, number> = {}
      for (const [k, v] of counters) out[k] = v.value
      for (const [k, v] of gauges) out[k] = v.value
      for (const [k, h] of histograms) {
        out[`${k}_count`] = h.count
        out[`${k}_sum`] = h.sum
        out[`${k}_p50`] = h.quantile(0.5)
        out[`${k}_p99`] = h.quantile(0.99)
      }
      return out
    },
  }
}
