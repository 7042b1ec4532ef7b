// A typical 8-field response head (Set-Cookie twice), serialized by h1kit and by node:http's
// own path: ServerResponse.writeHead, which validates and builds `_header`.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { serializeResponseHead } from '@h1kit/headers';
import { batch, compare } from '../../../scripts/bench-kit.js';

const fields = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Length': 1234,
  Date: 'Wed, 25 Nov 2026 20:00:00 GMT',
  'Cache-Control': 'private, max-age=0',
  ETag: '"33a64df551425fcc55e4d42a148795d9f25f89d4"',
  'Set-Cookie': [
    'session=9f2c1d; Path=/; HttpOnly; Secure',
    'theme=dark; Path=/; Max-Age=31536000',
  ],
  'X-Request-Id': '4b1c2f0e-8d7a-4e5b-9c3d-2a1f0e9d8c7b',
};

const req = new IncomingMessage(new Socket());
req.method = 'GET';
req.httpVersionMajor = 1;
req.httpVersionMinor = 1;
const res = new ServerResponse(req) as ServerResponse & {
  _header: string | null;
  _headerSent: boolean;
};

const BATCH = 100;
let sink = 0;
const nodeHead = (): void => {
  res._header = null;
  res._headerSent = false;
  res.writeHead(200, fields);
  sink += res._header!.length;
};
// What node:http's head costs once it is bytes, as ours are: the latin1 encoding happens at the
// socket write, outside writeHead.
const nodeHeadBytes = (): void => {
  res._header = null;
  res._headerSent = false;
  res.writeHead(200, fields);
  sink += Buffer.from(res._header!, 'latin1').length;
};
// Not a serializer: the same head built by string concatenation and encoded once, with no
// validation at all. It bounds what any serializer that returns bytes can reach here.
const unchecked = (): void => {
  let head = 'HTTP/1.1 200 OK\r\n';
  for (const name in fields) {
    const value = fields[name as keyof typeof fields];
    if (Array.isArray(value)) for (const v of value) head += `${name}: ${v}\r\n`;
    else head += `${name}: ${value}\r\n`;
  }
  sink += Buffer.from(`${head}\r\n`, 'latin1').length;
};
const ourHead = (): void => {
  sink += serializeResponseHead(200, fields).length;
};

// Both produce the same field lines; say so before timing them.
nodeHead();
const ours = Buffer.from(serializeResponseHead(200, fields)).toString('latin1');
for (const line of ours.split('\r\n').slice(1, 9)) {
  if (!res._header!.includes(line)) throw new Error(`node:http head lacks ${line}`);
}

await compare({
  title: 'response head, 8 field lines (Set-Cookie twice), validation on',
  unit: 'heads/s',
  perOp: BATCH,
  // Restated by the server-speed issue: writeHead only builds a string, the bytes are the peer.
  targets: [{ ratio: 2, peer: 'node:http writeHead + latin1 bytes' }],
  time: 3000,
  contenders: [
    { name: 'node:http writeHead', role: 'peer', fn: batch(BATCH, nodeHead) },
    { name: 'node:http writeHead + latin1 bytes', role: 'peer', fn: batch(BATCH, nodeHeadBytes) },
    {
      name: 'bound: concat + Buffer.from, unchecked',
      role: 'ceiling',
      fn: batch(BATCH, unchecked),
    },
    { name: 'h1kit serializeResponseHead', role: 'ours', fn: batch(BATCH, ourHead) },
  ],
});
if (sink === 0) console.log('');

// The same head where three values change with every response (length, ETag, request id), as
// in real traffic: those lines are checked char by char, the repeating ones come from the cache.
let n = 0;
const varying = () => {
  n++;
  return {
    ...fields,
    'Content-Length': 1000 + (n % 5000),
    ETag: `"${(n * 2654435761) >>> 0}"`,
    'X-Request-Id': `4b1c2f0e-8d7a-4e5b-9c3d-${n.toString(16).padStart(12, '0')}`,
  };
};
const nodeVarying = (): void => {
  res._header = null;
  res._headerSent = false;
  res.writeHead(200, varying());
  sink += Buffer.from(res._header!, 'latin1').length;
};
const ourVarying = (): void => {
  sink += serializeResponseHead(200, varying()).length;
};

await compare({
  title: 'the same head with Content-Length, ETag and X-Request-Id new in every response',
  unit: 'heads/s',
  perOp: BATCH,
  targets: [{ ratio: 2, peer: 'node:http writeHead + latin1 bytes' }],
  time: 3000,
  contenders: [
    { name: 'node:http writeHead + latin1 bytes', role: 'peer', fn: batch(BATCH, nodeVarying) },
    { name: 'h1kit serializeResponseHead', role: 'ours', fn: batch(BATCH, ourVarying) },
  ],
});
