package wamp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// rawConn's reads and writes carry the bytes as net.TCPConn's do, large writes whole
// (past a full socket buffer, which makes it wait for the poller), and fail with the
// same errors, word for word, in the same cases.
func TestRawTCPConn(t *testing.T) {
	c, s := tcpPair(t)
	rc := rawConn(c)
	if _, ok := rc.(*rawTCPConn); !ok {
		t.Fatalf("rawConn gave %T", rc)
	}

	// A write larger than the socket buffers, read on the other side.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(s, int64(len(big))))
		got <- b
	}()
	if n, err := rc.Write(big); n != len(big) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if b := <-got; !bytes.Equal(b, big) {
		t.Fatalf("read %d bytes, not what was written", len(b))
	}
	if _, err := s.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := io.ReadFull(rc, buf[:5]); n != 5 || err != nil || string(buf[:5]) != "reply" {
		t.Fatalf("Read = %d %q, %v", n, buf[:n], err)
	}

	// The same errors as net.TCPConn, compared on two connections in the same state.
	c2, s2 := tcpPair(t)
	sameErr := func(what string, raw, plain error) {
		t.Helper()
		if raw == nil || plain == nil {
			t.Fatalf("%s: errors %v and %v", what, raw, plain)
		}
		// The addresses differ between the two connections: compare with each's own.
		rawText := strings.ReplaceAll(strings.ReplaceAll(raw.Error(), c.LocalAddr().String(), "L"), c.RemoteAddr().String(), "R")
		plainText := strings.ReplaceAll(strings.ReplaceAll(plain.Error(), c2.LocalAddr().String(), "L"), c2.RemoteAddr().String(), "R")
		if rawText != plainText {
			t.Errorf("%s: %q, net.TCPConn %q", what, rawText, plainText)
		}
		var re, pe *net.OpError
		if errors.As(raw, &re) != errors.As(plain, &pe) {
			t.Errorf("%s: %T, net.TCPConn %T", what, raw, plain)
		}
	}

	// A read deadline.
	rc.SetReadDeadline(time.Now().Add(time.Millisecond))
	c2.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, rerr := rc.Read(buf)
	_, perr := c2.Read(buf)
	sameErr("deadline", rerr, perr)
	if !errors.Is(rerr, os.ErrDeadlineExceeded) {
		t.Errorf("deadline: %v is not os.ErrDeadlineExceeded", rerr)
	}
	rc.SetReadDeadline(time.Time{})
	c2.SetReadDeadline(time.Time{})

	// The peer closed: EOF, then writes fail (EPIPE or ECONNRESET, as for net).
	s.Close()
	s2.Close()
	if n, err := rc.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after the peer closed = %d, %v; want io.EOF", n, err)
	}
	// c2 too has the peer's FIN before it writes, so that both are in the same TCP state
	// (the error of a write answered by a reset depends on it: EPIPE once the FIN is in,
	// ECONNRESET before).
	if n, err := c2.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("net.TCPConn Read after the peer closed = %d, %v; want io.EOF", n, err)
	}
	// The first write after the peer's close may still succeed (its RST comes back in
	// answer): write until both fail, for at most 10 s.
	var rw, pw error
	for start := time.Now(); (rw == nil || pw == nil) && time.Since(start) < 10*time.Second; time.Sleep(time.Millisecond) {
		if rw == nil {
			_, rw = rc.Write([]byte("x"))
		}
		if pw == nil {
			_, pw = c2.Write([]byte("x"))
		}
	}
	sameErr("write after the peer closed", rw, pw)

	// Closed on our side.
	rc.Close()
	c2.Close()
	_, rerr = rc.Read(buf)
	_, perr = c2.Read(buf)
	sameErr("read after Close", rerr, perr)
	if !errors.Is(rerr, net.ErrClosed) {
		t.Errorf("%v is not net.ErrClosed", rerr)
	}
	_, rerr = rc.Write([]byte("x"))
	_, perr = c2.Write([]byte("x"))
	sameErr("write after Close", rerr, perr)
}
