export * from './constants.js'
export { ScribeNode, keyTopic, nearestFirst, scribe, topicId } from './scribe.js'
export type { AnycastPolicy, ScribeClient, ScribeInit, ScribeComponents } from './scribe.js'
export { scribeProtocol, SCRIBE_PROTOCOL } from './messages.js'
