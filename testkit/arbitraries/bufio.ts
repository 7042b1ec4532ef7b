// fast-check arbitraries for byte streams as a buffered reader meets them: bytes rich in the
// delimiters the reader looks for, cut into segments, some delivered at once and some a turn of
// the event loop later, and ending cleanly or not.
import fc from 'fast-check';
import { segment } from './http.js';

const LF = 0x0a;
const CR = 0x0d;
/** The delimiter the model tests give `readSlice` besides LF. */
export const DELIM = 0x41;

/**
 * Bytes where LF, CR and DELIM occur often in some streams and rarely in others, so that short
 * lines, CRLFs split across chunks, and lines cut at `size` (with a CR at the cut) all occur.
 */
export const streamBytes = (maxLength = 400): fc.Arbitrary<Uint8Array> =>
  fc
    .constantFrom(1, 8, 40)
    .chain((rarity) =>
      fc.array(
        fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(LF, DELIM) },
          { weight: 3 * rarity, arbitrary: fc.constantFrom(CR, 0x61) },
          { weight: 2 * rarity, arbitrary: fc.integer({ min: 0, max: 255 }) },
        ),
        { maxLength, size: 'max' },
      ),
    )
    .map((bytes) => Uint8Array.from(bytes));

/** How a source stops: 'end' cleanly, 'error' with an error, 'close' destroyed without one. */
export type Ending = 'end' | 'error' | 'close';

export interface Delivery {
  /** Bytes handed to the reader as `head`, before the source's own. */
  head: Uint8Array;
  segments: Uint8Array[];
  /** For each segment: pushed at once (false) or on a later turn of the event loop (true). */
  later: boolean[];
  ending: Ending;
}

/** One byte stream, delivered in one of its segmentations. */
export const delivery = (
  bytes: fc.Arbitrary<Uint8Array> = streamBytes(),
  endings: Ending[] = ['end', 'error', 'close'],
): fc.Arbitrary<{ bytes: Uint8Array; delivery: Delivery }> =>
  fc
    .record({
      bytes,
      headCut: fc.nat(),
      cuts: fc.array(fc.nat(), { maxLength: 24, size: 'max' }),
      later: fc.array(fc.boolean(), { maxLength: 32, size: 'max' }),
      ending: fc.constantFrom(...endings),
    })
    .map(({ bytes, headCut, cuts, later, ending }) => {
      const h = headCut % (bytes.length + 1);
      const segments = segment(bytes.subarray(h), cuts).filter((s) => s.length > 0);
      return {
        bytes,
        delivery: {
          head: bytes.subarray(0, h),
          segments,
          later: segments.map((_, i) => later[i] ?? false),
          ending,
        },
      };
    });
