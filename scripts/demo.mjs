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

// A full-duplex exchange: every line of the upload is answered before the next one is sent.
const { createServer, request } = await import('@h1kit/duplex');
const server = createServer(async (exchange) => {
  const out = exchange.respond(200, { 'Content-Type': 'text/plain' });
  for await (const chunk of exchange.body) out.write(Buffer.from(chunk).toString().toUpperCase());
  out.end();
});
const { port } = await server.listen();
console.log(`\na full-duplex exchange with an h1kit server on 127.0.0.1:${port}:`);
const exchange = request(`http://127.0.0.1:${port}/shout`, { method: 'POST' });
const response = await exchange.response;
const answers = response.body[Symbol.asyncIterator]();
for (const line of ['hello', 'while the upload is still open', 'goodbye']) {
  exchange.body.write(line);
  const answer = await answers.next();
  console.log(
    `  sent ${JSON.stringify(line)}, got ${JSON.stringify(Buffer.from(answer.value).toString())} back`,
  );
}
exchange.body.end();
for await (const _rest of answers) {
  // drain the end of the response
}
await server.close();
