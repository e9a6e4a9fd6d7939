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
  /**
   * Decodes `bytes` only if it is one of `names`, else undefined, checking the envelope but not
   * the body of other messages: for hooks on a hot path (forward at every hop) that care about a
   * few message types.
   */
  decodeIf<K extends keyof M & string>(bytes: Uint8Array, names: readonly K[]): Extract<Decoded<M>, { name: K }> | undefined
}

/** One handler per message name; each gets the validated body and the caller's context. */
export type Handlers<M extends MessageSpecs, Ctx> = {
  [K in keyof M & string]: (body: v.InferOutput<M[K]['schema']>, ctx: Ctx) => void
}

/**
 * The dispatch table of STYLE.md item 6: decodes and validates a message, then calls its handler;
 * a message that fails any check goes to `onMalformed` (count it, reject the peer) instead.
 */
export function dispatcher<M extends MessageSpecs, Ctx>(
  protocol: Protocol<M>,
  handlers: Handlers<M, Ctx>,
  onMalformed: (err: EpostError, ctx: Ctx) => void,
): (bytes: Uint8Array, ctx: Ctx, limits?: FrameLimits) => void {
  return (bytes, ctx, limits) => {
    let m: Decoded<M>
    try {
      m = protocol.decodeBytes(bytes, limits)
    } catch (err) {
      onMalformed(err instanceof EpostError ? err : new EpostError('EPOST_CODEC_MALFORMED', 'undecodable message', { cause: err }), ctx)
      return
    }
    const handler = handlers[m.name] as (body: unknown, ctx: Ctx) => void
    handler(m.body, ctx)
  }
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
    decodeIf(bytes, names) {
      let frame: Frame
      try {
        frame = decodeFrame(bytes)
      } catch {
        return undefined
      }
      const row = byType.get(frame.type)
      if (frame.app !== app || row === undefined || !names.includes(row.name as never)) return undefined
      try {
        return decode(frame) as never
      } catch {
        return undefined
      }
    },
  }
}
