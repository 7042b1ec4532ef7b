export { H1Error } from './h1-error.js';
