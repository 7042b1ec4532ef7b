// The regression corpus: inputs that once broke a package (or that pin a tricky corner), kept as
// JSON so fuzz targets replay them on every run before generating new cases.
import { readFileSync } from 'node:fs';

export interface CorpusEntry {
  /** Why the input is here: the bug it found or the corner it pins. */
  why: string;
  /** The input as latin1 text (JSON escapes keep control bytes readable). */
  input: string;
}

export function loadCorpus(name: string): CorpusEntry[] {
  const url = new URL(`./corpus/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as CorpusEntry[];
}
