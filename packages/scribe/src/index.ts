export * from './constants.js'
export { ScribeNode, scribe, topicId } from './scribe.js'
export type { ScribeClient, ScribeInit, ScribeComponents } from './scribe.js'
export { scribeProtocol, SCRIBE_PROTOCOL } from './messages.js'
