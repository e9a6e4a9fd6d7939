export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'
const ORDER: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: 100 }

export type LogFields = Record<string, unknown>

export interface Logger {
  readonly component: string
  /** A logger for a sub-component: `epost:past` -> `epost:past:upkeep`. */
  forComponent(name: string): Logger
  /** Same component, extra fields on every line (a peer id, a session). */
  child(fields: LogFields): Logger
  enabled(level: LogLevel): boolean
  trace(msg: string, fields?: LogFields): void
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
}

export interface LoggerOptions {
  /** Minimum level; default from EPOST_LOG_LEVEL, else 'warn'. */
  level?: LogLevel
  /** Where lines go; default stderr. Lines are JSON when `json` is set, else `level component msg k=v`. */
  write?: (line: string) => void
  json?: boolean
  /** Timestamps come from here (a VirtualClock in the simulator). */
  now?: () => number
}

function fmt(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v
  if (v instanceof Error) return JSON.stringify(`${v.name}: ${v.message}`)
  if (typeof v === 'bigint') return v.toString()
  if (v !== null && typeof v === 'object' && 'hex' in v) return String((v as { hex: string }).hex).slice(0, 8)
  return JSON.stringify(v) ?? String(v)
}

class ConsoleLogger implements Logger {
  readonly component: string
  readonly #min: number
  readonly #fields: LogFields
  readonly #opts: Required<Omit<LoggerOptions, 'level'>>

  constructor(component: string, min: number, fields: LogFields, opts: Required<Omit<LoggerOptions, 'level'>>) {
    this.component = component
    this.#min = min
    this.#fields = fields
    this.#opts = opts
  }

  forComponent(name: string): Logger {
    const c = name.startsWith(this.component) ? name : `${this.component}:${name}`
    return new ConsoleLogger(c, this.#min, this.#fields, this.#opts)
  }

  child(fields: LogFields): Logger {
    return new ConsoleLogger(this.component, this.#min, { ...this.#fields, ...fields }, this.#opts)
  }

  enabled(level: LogLevel): boolean {
    return ORDER[level] >= this.#min
  }

  #log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (ORDER[level] < this.#min) return
    const all = { ...this.#fields, ...fields }
    const t = this.#opts.now()
    if (this.#opts.json) {
      this.#opts.write(JSON.stringify({ t, level, component: this.component, msg, ...all }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
      return
    }
    const kv = Object.entries(all)
      .map(([k, v]) => `${k}=${fmt(v)}`)
      .join(' ')
    this.#opts.write(`${level.toUpperCase().padEnd(5)} ${this.component} ${msg}${kv === '' ? '' : ' ' + kv}`)
  }

  trace(msg: string, fields?: LogFields): void {
    this.#log('trace', msg, fields)
  }
  debug(msg: string, fields?: LogFields): void {
    this.#log('debug', msg, fields)
  }
  info(msg: string, fields?: LogFields): void {
    this.#log('info', msg, fields)
  }
  warn(msg: string, fields?: LogFields): void {
    this.#log('warn', msg, fields)
  }
  error(msg: string, fields?: LogFields): void {
    this.#log('error', msg, fields)
  }
}

function envLevel(): LogLevel {
  const v = (typeof process !== 'undefined' ? process.env['EPOST_LOG_LEVEL'] : undefined)?.toLowerCase()
  return v !== undefined && v in ORDER ? (v as LogLevel) : 'warn'
}

export function createLogger(component = 'epost', options: LoggerOptions = {}): Logger {
  return new ConsoleLogger(component, ORDER[options.level ?? envLevel()], {}, {
    write: options.write ?? ((line) => process.stderr.write(line + '\n')),
    json: options.json ?? false,
    now: options.now ?? Date.now,
  })
}

/** A logger that drops everything: the default inside large simulations. */
export const silentLogger: Logger = createLogger('epost', { level: 'silent', write: () => {} })
