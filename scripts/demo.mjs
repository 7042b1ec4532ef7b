// `pnpm demo`: a short tour of what the built toolkit does. Run `pnpm build` first.
import { framing, H1Error, parseFieldLines, serializeResponseHead } from '@h1kit/headers';

const show = (bytes) => JSON.stringify(Buffer.from(bytes).toString('latin1'));

console.log('h1kit demo\n');
const head = serializeResponseHead(200, {
  'Content-Type': 'text/plain',
  'Set-Cookie': ['a=1', 'b=2'],
});
console.log('a response head, Set-Cookie kept twice:\n ', show(head));

try {
  serializeResponseHead(200, { Location: '/next\r\nSet-Cookie: admin=1' });
} catch (error) {
  if (!(error instanceof H1Error)) throw error;
  console.log(
    '\nheader injection refused before a byte is written:\n ',
    error.code,
    '-',
    error.message,
  );
}

console.log('\nframing decisions (RFC 9112 section 6):');
const cases = [
  { method: 'POST', headers: { 'Transfer-Encoding': 'gzip, chunked' } },
  { method: 'POST', headers: { 'Content-Length': '5, 5' } },
  { method: 'POST', headers: { 'Content-Length': '5', 'Transfer-Encoding': 'chunked' } },
  { method: 'HEAD', status: 200, headers: { 'Content-Length': '42' } },
];
for (const input of cases) {
  let verdict;
  try {
    verdict = JSON.stringify(framing(input));
  } catch (error) {
    verdict = `rejected: ${error.code}`;
  }
  console.log(
    ' ',
    JSON.stringify(input.headers),
    input.status ? `(response ${input.status} to ${input.method})` : `(${input.method} request)`,
    '->',
    verdict,
  );
}

console.log('\na trailer section parsed strictly:');
console.log(' ', parseFieldLines(Buffer.from('Checksum: abc123\r\nExpires: never\r\n\r\n')));
