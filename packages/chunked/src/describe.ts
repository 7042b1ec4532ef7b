/** A byte as error messages show it: the char when printable, else its hex code. */
export function describeByte(c: number): string {
  return c >= 0x21 && c <= 0x7e
    ? `'${String.fromCharCode(c)}'`
    : `0x${c.toString(16).padStart(2, '0')}`;
}
