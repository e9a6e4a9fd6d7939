import type { BenchSection, Figure } from './harness.js'

// Each area adds its section here; a section that fails is reported, the others still run.
const sections: Array<() => Promise<BenchSection>> = [
  async () => (await import('./machine.js')).default,
  async () => (await import('./crypto.js')).default,
  async () => (await import('./codec.js')).default,
  async () => (await import('./store.js')).default,
  async () => (await import('./transport.js')).default,
]

const args = process.argv.slice(2)
const json = args.includes('--json')
const quick = args.includes('--quick')
const only = args.filter((a) => !a.startsWith('--'))

const all: Figure[] = []
let failures = 0
for (const load of sections) {
  let section: BenchSection
  try {
    section = await load()
  } catch (err) {
    process.stderr.write(`bench: a section failed to load: ${String(err)}\n`)
    failures++
    continue
  }
  if (only.length > 0 && !only.some((o) => section.title.toLowerCase().includes(o.toLowerCase()))) continue
  process.stderr.write(`\n== ${section.title} ==\n`)
  try {
    const figs = await section.run({ quick })
    for (const f of figs) {
      process.stdout.write(`${f.name.padEnd(48)} ${fmt(f.value).padStart(14)} ${f.unit.padEnd(10)} ${f.note ?? ''}\n`)
    }
    all.push(...figs)
  } catch (err) {
    failures++
    process.stderr.write(`bench: section '${section.title}' failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  }
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v)
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US')
  return v.toFixed(2)
}

if (json) process.stdout.write(JSON.stringify({ figures: all }) + '\n')
process.exitCode = failures > 0 ? 1 : 0
