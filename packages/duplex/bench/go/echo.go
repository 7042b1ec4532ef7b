// Command echo is the Go peer of h1kit's full-duplex echo benchmark
// (packages/duplex/bench/echo.bench.ts): a net/http server that takes every
// request's connection with http.Hijacker and echoes the chunked request body
// as a chunked response while the body is still arriving, the way Go code
// does full duplex on HTTP/1.1. Standard library only, so the benchmark can
// build it with nothing but Debian's golang-go.
//
// It listens on 127.0.0.1 at -port (0 for any free port) and prints the port
// it got as one line on stdout: that line is how the benchmark finds it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
)

const (
	// The benchmark's clients write 64 KiB chunks: a read buffer of that size
	// takes one whole chunk at a time, as the Node servers' 64 KiB reads do.
	readSize = 64 << 10
	// net/http's own writer is 4 KiB, which splits every 64 KiB chunk into a
	// 4 KiB write, a 60 KiB write and a 2-byte CRLF on its own segment. Room
	// for a whole chunk with its size line and CRLF makes it one write, the
	// same one-write-per-chunk the Node servers do with a corked writev.
	writeSize = readSize + 64
)

func main() {
	port := flag.Int("port", 0, "port to listen on at 127.0.0.1 (0: any free port)")
	flag.Parse()
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	log.Fatal(http.Serve(listener, http.HandlerFunc(echo)))
}

// echo hijacks the connection and echoes the body. Errors end the exchange
// quietly: the benchmark's ping-pong clients never send a last chunk and
// simply close, which is the normal end here, not a fault worth a log line.
func echo(w http.ResponseWriter, r *http.Request) {
	hijacker, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "hijacking not supported", http.StatusInternalServerError)
		return
	}
	// net/http has only parsed the head; what it read beyond it is still in
	// rw.Reader, so the body must be read from there, never from conn alone.
	conn, rw, err := hijacker.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if tcp, ok := conn.(*net.TCPConn); ok {
		// Go already sets no-delay on accepted TCP connections; said again so
		// the echo does not depend on that default.
		_ = tcp.SetNoDelay(true)
	}
	// Chunked is the only framing this echo reads: anything else would need
	// its own body reader, and the benchmark never sends it.
	if len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" {
		_, _ = io.WriteString(conn, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	// The hijacked writer is empty (nothing was written before Hijack), so a
	// larger one may take its place on the same connection.
	out := bufio.NewWriterSize(conn, writeSize)
	if _, err := io.WriteString(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"); err != nil {
		return
	}
	// The head goes out before the first body byte is read: the client may
	// wait for it before sending more, as a full-duplex client is allowed to.
	if err := out.Flush(); err != nil {
		return
	}
	body := httputil.NewChunkedReader(rw.Reader)
	chunks := httputil.NewChunkedWriter(out)
	buf := make([]byte, readSize)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := chunks.Write(buf[:n]); werr != nil {
				return
			}
			// Each piece leaves as soon as it is read, so the response runs
			// alongside the request instead of after it.
			if werr := out.Flush(); werr != nil {
				return
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return
		}
	}
	// The chunked writer's Close writes only "0\r\n"; net/http adds trailers
	// and the final CRLF itself, so this hijacked response adds the CRLF.
	if err := chunks.Close(); err != nil {
		return
	}
	if _, err := io.WriteString(out, "\r\n"); err != nil {
		return
	}
	_ = out.Flush()
}
