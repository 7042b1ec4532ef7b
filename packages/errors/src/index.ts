/**
 * `H1Error`, the one error class of every h1kit package.
 *
 * @packageDocumentation
 * @module @h1kit/errors
 */
export { H1Error } from './h1-error.js';
