// Byte helpers for tests: latin1 text to bytes and back, joining and collecting chunks, and the
// code of a thrown H1Error. Defined once here; every package's tests and the fuzz targets use them.
import { H1Error } from '@h1kit/errors';

/** One view or several, in order. */
export type Chunks = Uint8Array | readonly Uint8Array[];

/**
 * `text` as latin1 bytes, one byte per char code. The bytes have an ArrayBuffer of their own
 * (never Buffer's shared pool), so that a test can tell a view of them from a copy by `buffer`.
 */
export function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

/** The bytes as latin1 text (several views read as one); `null` and `undefined` pass through. */
export function text(data: Chunks): string;
export function text<T extends null | undefined>(data: Chunks | T): string | T;
export function text(data: Chunks | null | undefined): string | null | undefined {
  if (data == null) return data;
  if (data instanceof Uint8Array) return latin1(data);
  let out = '';
  for (const view of data) out += latin1(view);
  return out;
}

function latin1(view: Uint8Array): string {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('latin1');
}

/** The views joined into one Uint8Array with an ArrayBuffer of its own. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * Every chunk a stream yields until its end, joined (a Node Readable, a WHATWG ReadableStream, a
 * BufferedReader: anything async-iterable). Each chunk is copied as it arrives, since a reader may
 * reuse the memory of a view once the next one is asked for. Rejects as the stream fails.
 */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/** The `code` of an H1Error; `undefined` for anything else (another error, a value, nothing). */
export function codeOf(error: unknown): string | undefined {
  return error instanceof H1Error ? error.code : undefined;
}

/** What `fn` throws; throws itself, failing the test, when `fn` returns instead. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}
