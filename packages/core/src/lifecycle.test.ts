import { describe, expect, it } from 'vitest'
import { Lifecycle, startAll } from './lifecycle.js'
import { createMetrics } from './metrics.js'
import { createLogger } from './logger.js'
import { EpostError } from './errors.js'

describe('Lifecycle', () => {
  it('runs start and stop once each, however often called', async () => {
    let starts = 0
    let stops = 0
    const lc = new Lifecycle(
      () => {
        starts++
      },
      () => {
        stops++
      },
    )
    await Promise.all([lc.start(), lc.start()])
    expect(lc.state).toBe('started')
    const s1 = lc.stop()
    const s2 = lc.stop()
    expect(s1).toBe(s2)
    await s1
    expect([starts, stops, lc.state]).toEqual([1, 1, 'stopped'])
  })

  it('stops what started, in reverse, when a later start fails', async () => {
    const order: string[] = []
    const mk = (name: string, fail = false) =>
      new Lifecycle(
        () => {
          if (fail) throw new EpostError('EPOST_INTERNAL', `${name} failed`)
          order.push(`start ${name}`)
        },
        () => {
          order.push(`stop ${name}`)
        },
      )
    await expect(startAll([mk('a'), mk('b'), mk('c', true)])).rejects.toMatchObject({ code: 'EPOST_INTERNAL' })
    expect(order).toEqual(['start a', 'start b', 'stop b', 'stop a'])
  })
})

describe('metrics and logger', () => {
  it('counts, gauges and summarises', () => {
    const m = createMetrics()
    m.counter('epost_test_total').inc()
    m.counter('epost_test_total').inc(2)
    m.gauge('epost_open').set(5)
    for (let i = 1; i <= 100; i++) m.histogram('epost_rtt_ms').observe(i)
    const s = m.snapshot()
    expect(s['epost_test_total']).toBe(3)
    expect(s['epost_open']).toBe(5)
    expect(s['epost_rtt_ms_count']).toBe(100)
    expect(s['epost_rtt_ms_p50']).toBe(51)
  })

  it('writes structured lines at or above its level, with component and fields', () => {
    const lines: string[] = []
    const log = createLogger('epost', { level: 'info', write: (l) => lines.push(l), json: true, now: () => 1 })
    const child = log.forComponent('past').forComponent('upkeep').child({ peer: 'abc' })
    child.debug('hidden')
    child.info('pulled', { blocks: 3 })
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] as string)).toEqual({ t: 1, level: 'info', component: 'epost:past:upkeep', msg: 'pulled', peer: 'abc', blocks: 3 })
  })
})
