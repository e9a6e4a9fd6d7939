// The transports live in './sim' and './ws'; the root holds what both share.
export * from './constants.js'
