/**
 * A tiny benchmark harness: each section returns figures; main.ts prints them as a table and,
 * with --json, as one JSON object on the last line. Rates are medians over several rounds, since
 * machines here are shared and noisy.
 */
export interface Figure {
  section: string
  name: string
  value: number
  unit: string
  /** Extra context: sizes, ratios, which implementation. */
  note?: string
}

export interface BenchOptions {
  /** Fewer rounds (CI smoke runs). */
  quick: boolean
}

export interface BenchSection {
  title: string
  run(options: BenchOptions): Promise<Figure[]>
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number
}

/**
 * Operations per second of `op` (sync or async): runs it in batches for about `roundMs`, over
 * `rounds` rounds, and returns the median rate.
 */
export async function opsPerSecond(op: () => unknown, options: { rounds?: number; roundMs?: number; quick?: boolean } = {}): Promise<number> {
  const rounds = options.rounds ?? (options.quick === true ? 3 : 5)
  const roundMs = options.roundMs ?? (options.quick === true ? 150 : 400)
  const rates: number[] = []
  for (let i = 0; i < 3; i++) await op() // warm up
  for (let r = 0; r < rounds; r++) {
    let n = 0
    const t0 = performance.now()
    let t = t0
    while (t - t0 < roundMs) {
      for (let j = 0; j < 16; j++) {
        const v = op()
        if (v instanceof Promise) await v
      }
      n += 16
      t = performance.now()
    }
    rates.push((n * 1000) / (t - t0))
  }
  return median(rates)
}
