import * as v from 'valibot'
import { EpostError } from '@epost/core'
import { decodeFrame, encodeFrame } from './frame.js'
import type { Frame, FrameLimits } from './frame.js'

export interface MessageSpec {
  /** Wire type number, unique within the application. */
  type: number
  schema: v.GenericSchema
}

export type MessageSpecs = Record<string, MessageSpec>

/** A decoded, validated message: `name` tells which, `body` is typed by its schema. */
export type Decoded<M extends MessageSpecs> = {
  [K in keyof M & string]: { name: K; body: v.InferOutput<M[K]['schema']> }
}[keyof M & string]

export interface Protocol<M extends MessageSpecs> {
  readonly app: string
  readonly messages: M
  /** Encodes the frame (the sender is trusted to follow its own schema; receivers check). */
  encode<K extends keyof M & string>(name: K, body: v.InferInput<M[K]['schema']>, limits?: FrameLimits): Uint8Array
  /** Checks a decoded frame's body against the schema of its type. */
  decode(frame: Frame): Decoded<M>
  /** decodeFrame + decode; only EpostErrors escape (EPOST_CODEC_*). */
  decodeBytes(bytes: Uint8Array, limits?: FrameLimits): Decoded<M>
}

/**
 * Declares an application's messages: one row per message type, each with its schema, so every
 * message is validated before a handler sees it (STYLE.md: one message, one handler).
 */
export function defineProtocol<M extends MessageSpecs>(app: string, messages: M): Protocol<M> {
  const byType = new Map<number, { name: string; spec: MessageSpec }>()
  for (const [name, spec] of Object.entries(messages)) {
    if (byType.has(spec.type)) throw new EpostError('EPOST_INVALID_ARGUMENT', `${app}: message types of '${name}' and '${byType.get(spec.type)?.name}' collide`)
    byType.set(spec.type, { name, spec })
  }

  function decode(frame: Frame): Decoded<M> {
    if (frame.app !== app) throw new EpostError('EPOST_CODEC_UNKNOWN_TYPE', `frame for '${frame.app}' given to '${app}'`)
    const row = byType.get(frame.type)
    if (row === undefined) throw new EpostError('EPOST_CODEC_UNKNOWN_TYPE', `${app}: unknown message type ${frame.type}`, { details: { type: frame.type } })
    const r = v.safeParse(row.spec.schema, frame.body)
    if (!r.success) {
      const issue = r.issues[0]
      const path = issue.path?.map((p) => String(p.key)).join('.') ?? ''
      throw new EpostError('EPOST_CODEC_SCHEMA', `${app}/${row.name}: invalid message${path === '' ? '' : ` at '${path}'`}: ${issue.message}`, { details: { type: frame.type } })
    }
    return { name: row.name, body: r.output } as Decoded<M>
  }

  return {
    app,
    messages,
    encode(name, body, limits) {
      const spec = messages[name]
      if (spec === undefined) throw new EpostError('EPOST_INVALID_ARGUMENT', `${app}: no message '${name}'`)
      return encodeFrame(app, spec.type, body, limits)
    },
    decode,
    decodeBytes(bytes, limits) {
      return decode(decodeFrame(bytes, limits))
    },
  }
}
