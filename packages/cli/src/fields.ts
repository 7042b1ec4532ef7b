// Field lines given on the command line (`-H 'Name: value'`), checked by the same strict parser
// that reads trailer sections off the wire, so that what would be refused later is refused here.
import { H1Error, parseFieldLines } from '@h1kit/headers';
import { quote, UsageError } from './errors.js';

/** `Name: value` as a field pair; throws `UsageError` naming `option` for anything else. */
export function fieldOf(text: string, option: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) {
    throw new UsageError(`bad ${option} ${quote(text)}: expected "Name: value"`);
  }
  for (let i = 0; i < text.length; i++) {
    // Field values are bytes, read as latin1: a wider character has no byte to become.
    if (text.charCodeAt(i) > 0xff) {
      throw new UsageError(`bad ${option} ${quote(text)}: only latin1 characters fit in a field`);
    }
  }
  try {
    const [pair] = parseFieldLines(Buffer.from(`${text}\r\n\r\n`, 'latin1'));
    return pair!;
  } catch (error) {
    if (!(error instanceof H1Error)) throw error;
    // The CRLF appended above is ours: a CR or LF inside the text is what the parser meets.
    throw new UsageError(`bad ${option} ${quote(text)}: ${error.message}`);
  }
}
