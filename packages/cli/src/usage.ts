// What --help prints, one text per command.

/** `h1kit --help`. */
export const TOP_USAGE = `usage: h1kit <command> [options]

A full-duplex HTTP/1.1 server and client on the h1kit toolkit.

commands:
  serve     a server that answers each piece of a request body while it is still arriving
  request   stream standard input to a URL while the response streams to standard output
  demo      a scripted full-duplex exchange with a server on a free port, then exit
  bench     run the repository benchmarks (from a clone of the h1kit repository)
  help      h1kit help <command> is h1kit <command> --help

options:
  -h, --help      this text (h1kit <command> --help for a command's)
  -V, --version   the version

Exit codes: 0 done, 1 failed (unreachable host, TLS, protocol error), 2 bad command line.
`;

/** `h1kit serve --help`. */
export const SERVE_USAGE = `usage: h1kit serve [--port N] [--host H] [--tls-cert FILE --tls-key FILE]
                   [--transform echo|upper|lines|sha256]

Answers every request with 200 and a chunked body made while the request body arrives:
  echo     the bytes back as they arrive (default)
  upper    the same with ASCII letters upper-cased
  lines    each complete line, numbered ("1: text"), as soon as its newline arrives
  sha256   a count line per piece received, then the body's SHA-256 as the trailer
           Upload-Sha256 (declared in the head's Trailer field)

Prints the URL it listens on to standard output, and one line per exchange to standard error
(method, target, status, bytes in and out, milliseconds). SIGINT or SIGTERM closes it once the
open exchanges have finished; a second one cuts them.

options:
  -p, --port N        port to listen on (default 8080; 0 picks a free one)
      --host H        address or name to listen on (default 127.0.0.1)
      --tls-cert FILE serve HTTPS with this PEM certificate (with --tls-key)
      --tls-key FILE  the PEM private key of --tls-cert
  -t, --transform T   echo, upper, lines or sha256 (default echo)
  -h, --help          this text

example:
  h1kit serve --port 0 --transform upper
`;

/** `h1kit request --help`. */
export const REQUEST_USAGE = `usage: h1kit request URL [-X METHOD] [-H 'Name: value']... [--trailer 'Name: value']...
                     [-i] [-k]

Streams standard input into the request body (chunked) while the response body streams to
standard output: in a terminal each line typed goes out at once and its answer is printed as it
comes back; Ctrl-D ends the body. GET, HEAD, OPTIONS, TRACE and DELETE send no body (standard
input is not read) unless a Content-Length or Transfer-Encoding field says otherwise.

options:
  -X, --method M       the method (default POST)
  -H, --header 'N: v'  a request header field (repeatable)
      --trailer 'N: v' a trailer field sent after the body (repeatable; named in a Trailer field)
  -i, --include        print the response head first, and its trailers after the body
  -k, --insecure       https: accept any certificate (self-signed ones included)
  -h, --help           this text

examples:
  h1kit request http://127.0.0.1:8080/ < file
  h1kit request -i -X GET http://127.0.0.1:8080/
  printf 'hello\\n' | h1kit request -i --trailer 'Checksum: abc' http://127.0.0.1:8080/
`;

/** `h1kit demo --help`. */
export const DEMO_USAGE = `usage: h1kit demo

Starts a server on a free loopback port, sends it lines one at a time, each only once the
answer to the one before came back (which only a full-duplex exchange can do), then uploads a
few pieces to the sha256 transform and checks the digest trailer. Prints the transcript.

options:
  -h, --help   this text
`;

/** `h1kit bench --help`. */
export const BENCH_USAGE = `usage: h1kit bench [--quick] [filters...]

Runs the repository's benchmarks (scripts/bench.mjs) with this Node.js, passing every argument
through. Works from a clone of the h1kit repository; an installed h1kit has no benchmarks.

options:
  --quick      a short run
  -h, --help   this text
`;
