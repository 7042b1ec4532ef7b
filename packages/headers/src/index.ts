/**
 * HTTP/1.1 field syntax, head serialization and message framing (RFC 9110, RFC 9112).
 *
 * @packageDocumentation
 * @module @h1kit/headers
 */
export { H1Error, HeaderErrorCode } from './errors.js';
export type { FieldInput, FieldValue, FieldVisitor } from './fields.js';
export { forEachField, serializeFieldLines } from './fields.js';
export type { Framing, FramingInput } from './framing.js';
export { framing } from './framing.js';
export type { FieldSectionLimits } from './parse.js';
export { DEFAULT_FIELD_SECTION_LIMITS, parseFieldLines } from './parse.js';
export type { HttpVersion, RequestHeadOptions, ResponseHeadOptions } from './serialize.js';
export { serializeRequestHead, serializeResponseHead } from './serialize.js';
export { CharClass, charClass, describeChar, isToken } from './syntax.js';
