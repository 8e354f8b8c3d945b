package wamp

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultMaxMessageSize bounds a single WAMP message when the options leave it at 0. It is
// generous for a CLI (an encrypted payload is the plaintext plus 40 bytes) and keeps a
// hostile peer from making us buffer without limit.
const DefaultMaxMessageSize = 16 << 20

// DefaultPingInterval is the keepalive period of a dialled connection when
// DialOptions.PingInterval is 0.
const DefaultPingInterval = 30 * time.Second

// writeTimeout bounds every frame we write, so that a peer that stops reading cannot
// block Send (and the goroutine calling it) forever.
const writeTimeout = 30 * time.Second

// ErrClosed is returned by Send and Recv after the connection was closed on our side.
var ErrClosed = errors.New("connection closed")

// Conn carries WAMP messages over one WebSocket connection using the negotiated
// serializer (WAMP spec basic/transport "WebSocket Transport"; wire.md §4 "Subprotocols").
//
// It is safe for one goroutine calling Recv together with any number calling Send, Queue,
// Flush, Close and CloseWithCode.
//
// # Writing
//
// Gorilla reads frames; Conn writes them itself, on the TCP connection under gorilla's
// (RFC 6455 §5.2 framing: one final frame per message, masked with a fresh key from the
// client), so that messages queued while a write(2) is in progress go out together in the
// next one instead of one system call each. Frames are appended to a buffer; whoever
// finds no write in progress writes the whole buffer, and goes on while more arrived
// meanwhile, so a lone message is written at once by its own sender and a burst costs a
// few system calls. [Conn.Send] returns once its frame is written (or failed), as a
// direct write would; [Conn.Queue] and [Conn.Flush] let one goroutine that has several
// messages ready (the router's writer) hand them over first and wait once. Control
// frames (ping, pong, close) take the same path, so a frame is never cut by another and
// no frame follows a close frame (RFC 6455 §5.5.1).
type Conn struct {
	ws      *websocket.Conn
	nc      net.Conn // ws's TCP (or TLS) connection, which the write path writes to
	ser     Serializer
	maxSize int64
	frame   int  // websocket.TextMessage or websocket.BinaryMessage, from ser
	client  bool // our frames are masked (RFC 6455 §5.3): a dialled connection

	w writer

	readTimeout time.Duration // 0: no read deadline; else kept ahead of every pong and message (extendReadDeadline)
	deadlineSet time.Time     // when extendReadDeadline last set the read deadline

	// rbuf holds the frame Recv read last, for the next one: the serializers copy what
	// they keep of a frame (strings, binary values), so a frame's bytes are not needed
	// once it is decoded, and reading every frame into a fresh buffer (gorilla's
	// ReadMessage: io.ReadAll, 512 bytes and up per message) was one of the larger
	// allocations per event. Only Recv's goroutine uses it.
	rbuf []byte

	closeOnce sync.Once
	closed    chan struct{}
	pingStart *time.Timer // starts the keepalive pings (startKeepalive)
	pingDone  sync.WaitGroup
	closeErr  error
}

// NewConn wraps an established WebSocket connection whose subprotocol selected s.
// maxSize ≤ 0 means [DefaultMaxMessageSize]. No keepalive pings are sent.
func NewConn(ws *websocket.Conn, s Serializer, maxSize int64) *Conn {
	if maxSize <= 0 {
		maxSize = DefaultMaxMessageSize
	}
	ws.SetReadLimit(maxSize)
	c := &Conn{ws: ws, nc: ws.NetConn(), ser: s, maxSize: maxSize, frame: websocket.TextMessage, closed: make(chan struct{})}
	if s.Binary() {
		c.frame = websocket.BinaryMessage
	}
	c.w.cond.L = &c.w.mu
	// Gorilla answers pings and close frames by writing to the connection itself; these
	// handlers queue the answers on the write path instead (see Conn), with gorilla's
	// defaults' content: the ping's data in the pong, the peer's close code echoed.
	ws.SetPingHandler(func(data string) error {
		c.control(websocket.PongMessage, []byte(data))
		return nil
	})
	ws.SetCloseHandler(func(code int, _ string) error {
		c.control(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""))
		return nil
	})
	return c
}

// Serializer returns the serializer negotiated for this connection.
func (c *Conn) Serializer() Serializer { return c.ser }

// RemoteAddr returns the peer's network address (for logs).
func (c *Conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// MessageTooLargeError is returned by [Conn.Send], and by the [Session] methods that
// send, when a message, serialized, is larger than the size limit: the connection's, or
// the session's Config.MaxMessageSize. Nothing was written and the connection is still
// usable. Autobahn raises PayloadExceededError in the same place (websocket/protocol.py
// sendMessage); the spec's error URI for it is wamp.error.payload_size_exceeded
// (basic/uri_reference.md).
type MessageTooLargeError struct {
	Type       MessageType
	Size       int64  // serialized size in bytes
	Limit      int64  // the limit it exceeds
	Serializer string // "json", "msgpack" or "cbor"
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("%v of %d bytes (%s) exceeds the %d-byte message limit", e.Type, e.Size, e.Serializer, e.Limit)
}

// Send serializes m and writes it as one WebSocket message of the serializer's frame type.
// A message larger than the connection's limit is not written: the error is a
// *MessageTooLargeError.
func (c *Conn) Send(m Message) error { return c.send(m, 0) }

// send is Send with a lower limit for this message when 0 < limit < the connection's.
func (c *Conn) send(m Message, limit int64) error {
	b, err := c.encode(m, limit)
	if err != nil {
		return err
	}
	return c.w.send(c, b, true)
}

// Encode serializes m for this connection, as Send would: the bytes can be given to
// [Conn.QueueEncoded] on any connection with the same serializer and a limit at least as
// large. A message larger than the connection's limit is a *MessageTooLargeError.
func (c *Conn) Encode(m Message) ([]byte, error) { return c.encode(m, 0) }

func (c *Conn) encode(m Message, limit int64) ([]byte, error) {
	b, err := c.ser.Marshal(m)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > c.maxSize {
		limit = c.maxSize
	}
	if int64(len(b)) > limit {
		return nil, &MessageTooLargeError{Type: m.MessageType(), Size: int64(len(b)), Limit: limit, Serializer: c.ser.Name()}
	}
	return b, nil
}

// Queue serializes m and queues it to be written by the next [Conn.Flush] (or by any
// write in progress, if it finds it): several messages queued and flushed once go out in
// one system call. The errors are Send's, except that one of the write itself is Flush's.
func (c *Conn) Queue(m Message) error {
	b, err := c.encode(m, 0)
	if err != nil {
		return err
	}
	return c.QueueEncoded(b)
}

// QueueEncoded is [Conn.Queue] for a message already serialized by [Conn.Encode]. b is
// copied: the caller may reuse it.
func (c *Conn) QueueEncoded(b []byte) error {
	if int64(len(b)) > c.maxSize {
		return fmt.Errorf("QueueEncoded: %d bytes exceed the %d-byte message limit", len(b), c.maxSize)
	}
	return c.w.send(c, b, false)
}

// Flush writes what is queued, and returns once it is written. The error is that of the
// first write that failed, or ErrClosed after Close; a failed write leaves the connection
// unusable, as in gorilla.
func (c *Conn) Flush() error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return c.w.flushLocked(c, c.w.queued)
}

// Recv blocks until the next message arrives and decodes it. A frame whose type does not
// match the serializer (binary for JSON, text for msgpack/CBOR) is a protocol error, as in
// Autobahn (serializer.py; wire.md §1.7), and so is a frame the serializer cannot decode.
// A frame over the size limit, a closed connection or a keepalive timeout end the
// connection and are returned as errors.
func (c *Conn) Recv() (Message, error) {
	typ, r, err := c.ws.NextReader()
	var b []byte
	if err == nil {
		b, err = readFrame(c.rbuf[:0], r)
		if cap(b) <= maxKeptReadBuffer {
			c.rbuf = b
		}
	}
	if err != nil {
		var ne net.Error
		var ce *websocket.CloseError
		if !errors.As(err, &ne) && !errors.As(err, &ce) {
			// Over the read limit or a malformed frame: gorilla has written a close frame
			// itself (1009, 1002), after which nothing may be sent.
			c.stopWriting()
		}
		return nil, c.ioErr("recv", err)
	}
	if c.readTimeout > 0 {
		c.extendReadDeadline()
	}
	if typ != c.frame {
		return nil, protoErrf("%s expects %s frames, got %s", c.ser.Subprotocol(), frameName(c.frame), frameName(typ))
	}
	return c.ser.Unmarshal(b)
}

// maxKeptReadBuffer bounds the buffer Recv keeps between frames, so that one large
// message does not hold its memory for the rest of the connection. It is as small as
// gorilla's own read buffer (4 KiB) because cbx router keeps one per connection: with
// 64 KiB, ten thousand idle clients that each once sent a large message would hold
// 640 MiB; with 4 KiB at most 40 MiB. Typical events (a sealed 100-byte event is about
// 200 bytes) still reuse it; a larger frame is read into a buffer of its own, as before
// the buffer was kept.
const maxKeptReadBuffer = 4 << 10

// readFrame appends what r holds, up to its end, to b: io.ReadAll into a buffer of the
// caller's.
func readFrame(b []byte, r io.Reader) ([]byte, error) {
	if cap(b) == 0 {
		b = make([]byte, 0, 512)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
	}
}

func frameName(t int) string {
	if t == websocket.TextMessage {
		return "text"
	}
	if t == websocket.BinaryMessage {
		return "binary"
	}
	return fmt.Sprintf("type-%d", t)
}

// ioErr turns a WebSocket error into ours: ErrClosed after our own Close, a clear message
// for the size limit and keepalive timeouts, and the peer's close frame otherwise
// (kept in the chain for errors.As with *websocket.CloseError).
func (c *Conn) ioErr(op string, err error) error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return fmt.Errorf("%s: message exceeds the %d-byte limit: %w", op, c.maxSize, err)
	case op == "recv" && errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s: peer silent for %v (no pong to keepalive ping): %w", op, c.readTimeout, err)
	}
	// gorilla's own text ("websocket: close 1006 (abnormal closure): unexpected EOF") less
	// its package prefix; the error stays in the chain for errors.As.
	return &causeError{msg: strings.TrimPrefix(err.Error(), "websocket: "), err: err}
}

// IsConnectionError reports whether err is a failure of the connection itself (a write
// or read that failed, a connection closed under the caller) rather than something the
// router or a peer answered: such a message may or may not have reached the router.
func IsConnectionError(err error) bool {
	var ce *causeError
	return errors.As(err, &ce) || errors.Is(err, ErrClosed)
}

// causeError gives an error from below (gorilla, package net) the text a user should
// read, keeping the error itself for errors.Is and errors.As.
type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }

// Close sends a normal-closure close frame and closes the connection. It is idempotent.
func (c *Conn) Close() error {
	return c.CloseWithCode(websocket.CloseNormalClosure, "")
}

// CloseWithCode sends a close frame with the given code (RFC 6455 §7.4, e.g. 1002 for a
// protocol error as Autobahn uses) and closes the connection. Only the first call
// has an effect; later calls return the first result. It does not wait for the peer's
// close frame: the reader goroutine, if any, gets ErrClosed.
func (c *Conn) CloseWithCode(code int, text string) error {
	c.closeOnce.Do(func() {
		close(c.closed)
		// The close frame is best effort: the peer may already be gone, and closing
		// still succeeds locally. It follows what is already queued, and is waited for
		// at most closeFrameTimeout.
		if done := c.closeFrame(websocket.FormatCloseMessage(code, text)); done != nil {
			t := time.NewTimer(closeFrameTimeout)
			select {
			case <-done:
			case <-t.C:
			}
			t.Stop()
		}
		if err := c.ws.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			c.closeErr = fmt.Errorf("closing: %w", err)
		}
		if c.pingStart != nil && c.pingStart.Stop() {
			c.pingDone.Done() // the pinging goroutine never started
		}
		c.pingDone.Wait()
	})
	return c.closeErr
}

// testOnlyReadTimeoutFactor is how many ping intervals a read may stay silent. Tests raise
// it so that a busy test machine's scheduling stalls are not mistaken for a dead peer
// (the seam style of age's testOnly variables).
var testOnlyReadTimeoutFactor = 2

// startKeepalive sends a ping every interval and expects some traffic (a pong or a
// message) within two intervals (to 2¼: extendReadDeadline); otherwise Recv fails with a
// timeout. This detects half-open connections, which a subscriber that only ever reads
// would not notice by itself.
func (c *Conn) startKeepalive(interval time.Duration) {
	c.readTimeout = time.Duration(testOnlyReadTimeoutFactor) * interval
	c.extendReadDeadline()
	c.ws.SetPongHandler(func(string) error {
		c.extendReadDeadline()
		return nil
	})
	// The first ping is one interval away: a timer starts the pinging goroutine then, so
	// that a connection closed sooner (a one-shot command's) never starts one.
	c.pingDone.Add(1)
	c.pingStart = time.AfterFunc(interval, func() {
		defer c.pingDone.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-c.closed:
				return
			default:
			}
			if !c.ping() {
				return
			}
			select {
			case <-c.closed:
				return
			case <-t.C:
			}
		}
	})
}

// extendReadDeadline extends the keepalive's read deadline after a message or a pong
// (startKeepalive), so that Recv fails only once the peer has been silent for
// readTimeout. Setting the deadline costs three clock readings and a change to the
// runtime's timers, about 3 % of a subscriber's CPU when done for every event; so it is
// set only once an eighth of readTimeout has passed since the last time, and then to
// readTimeout plus that eighth. Every setting goes through here, so the deadline is
// always between readTimeout and 9/8 of it after the last thing that arrived, never
// sooner: checking costs one reading of the monotonic clock. "Arrived" is when Recv read
// it: a peer's pings do not count, as before. Only Recv's goroutine calls it (gorilla runs
// the pong handler inside NextReader), and startKeepalive before that, and only with
// readTimeout > 0 (with 0 it would set a deadline already past).
func (c *Conn) extendReadDeadline() {
	slack := c.readTimeout / 8
	if !c.deadlineSet.IsZero() && time.Since(c.deadlineSet) < slack {
		return
	}
	now := time.Now()
	c.ws.SetReadDeadline(now.Add(c.readTimeout + slack))
	c.deadlineSet = now
}

// DialOptions configures [Dial].
type DialOptions struct {
	Serializers    []Serializer  // offered in this order; default [Serializers] (json first)
	TLS            *tls.Config   // for wss://; see [ParseTLSConfig]
	MaxMessageSize int64         // 0 → DefaultMaxMessageSize
	Header         http.Header   // extra handshake headers
	PingInterval   time.Duration // 0 → DefaultPingInterval; negative disables keepalive
}

// Dial opens a WebSocket connection to a WAMP router at url (ws:// or wss://), offering
// the serializers' subprotocols. The server must pick one of them; a server that picks
// none (or one we did not offer) is refused with an error naming what was offered.
func Dial(ctx context.Context, url string, o DialOptions) (*Conn, error) {
	sers := o.Serializers
	if len(sers) == 0 {
		sers = Serializers
	}
	offered := make([]string, len(sers))
	for i, s := range sers {
		offered[i] = s.Subprotocol()
	}
	d := websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 30 * time.Second,
		Subprotocols:     offered,
		TLSClientConfig:  o.TLS,
		// gorilla's own default dial, with reads and writes that do not wake the
		// runtime's monitor thread (rawConn).
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			nc, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return rawConn(nc), nil
		},
	}
	ws, resp, err := d.DialContext(ctx, url, o.Header)
	if err != nil {
		return nil, dialError(err, resp)
	}
	chosen := ws.Subprotocol()
	var ser Serializer
	for _, s := range sers {
		if s.Subprotocol() == chosen {
			ser = s
		}
	}
	if ser == nil {
		ws.Close()
		if chosen == "" {
			return nil, fmt.Errorf("the server chose no WebSocket subprotocol (offered %s); is it a WAMP router?",
				strings.Join(offered, ", "))
		}
		return nil, fmt.Errorf("the server chose subprotocol %q, which was not offered (%s)",
			chosen, strings.Join(offered, ", "))
	}
	c := NewConn(ws, ser, o.MaxMessageSize)
	c.client = true
	interval := o.PingInterval
	if interval == 0 {
		interval = DefaultPingInterval
	}
	if interval > 0 {
		c.startKeepalive(interval)
	}
	return c, nil
}

// dialError says why a dial failed, for a caller that names the URL: the system's reason
// without Go's "dial tcp 127.0.0.1:1: connect:" ("connection refused", "no such host"),
// or the HTTP status of a server that did not upgrade to WebSocket.
func dialError(err error, resp *http.Response) error {
	if resp != nil {
		return &causeError{msg: "the server answered HTTP " + resp.Status + " instead of upgrading to WebSocket", err: err}
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" && oe.Err != nil {
		cause := oe.Err
		var se *os.SyscallError
		if errors.As(cause, &se) {
			cause = se.Err
		}
		return &causeError{msg: cause.Error(), err: err}
	}
	return &causeError{msg: strings.TrimPrefix(err.Error(), "websocket: "), err: err}
}

// AcceptOptions configures [Accept].
type AcceptOptions struct {
	Serializers    []Serializer             // supported; default [Serializers]
	MaxMessageSize int64                    // 0 → DefaultMaxMessageSize
	CheckOrigin    func(*http.Request) bool // nil → gorilla's same-origin check
}

// Accept upgrades an HTTP request to a WAMP WebSocket connection (server side). Of the
// client's offered subprotocols, in the client's order, the first one supported wins, so
// the client's preference is honoured. A request offering none that we support is
// answered with HTTP 400 and an error is returned.
func Accept(w http.ResponseWriter, r *http.Request, o AcceptOptions) (*Conn, error) {
	sers := o.Serializers
	if len(sers) == 0 {
		sers = Serializers
	}
	var ser Serializer
	offers := websocket.Subprotocols(r)
pick:
	for _, p := range offers {
		for _, s := range sers {
			if s.Subprotocol() == p {
				ser = s
				break pick
			}
		}
	}
	if ser == nil {
		var names []string
		for _, s := range sers {
			names = append(names, s.Subprotocol())
		}
		msg := fmt.Sprintf("no supported WAMP subprotocol offered (offered %q, supported %s)", offers, strings.Join(names, ", "))
		http.Error(w, msg, http.StatusBadRequest)
		return nil, errors.New(msg)
	}
	u := websocket.Upgrader{CheckOrigin: o.CheckOrigin}
	h := http.Header{}
	h.Set("Sec-WebSocket-Protocol", ser.Subprotocol())
	if hj, ok := w.(http.Hijacker); ok {
		w = rawHijacker{w, hj}
	}
	ws, err := u.Upgrade(w, r, h)
	if err != nil {
		return nil, err
	}
	return NewConn(ws, ser, o.MaxMessageSize), nil
}

// rawHijacker hands gorilla the hijacked connection as monitoredRawConn makes it, so that
// the WebSocket's reads and writes seldom wake the runtime's monitor thread (see
// rawTCPConn and monitoredRawConn). gorilla reads through the hijacked bufio.Reader reset
// onto that connection (bufioReaderSize), so every read after the handshake goes
// through it.
type rawHijacker struct {
	http.ResponseWriter
	hj http.Hijacker
}

func (h rawHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := h.hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	return monitoredRawConn(nc), brw, nil
}

// unwrapPathError drops the operation and path of an *fs.PathError, which the caller
// names itself.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ParseTLSConfig builds the client TLS configuration from the CLI's --ca and --insecure:
// caFile (PEM, one or more certificates) replaces the system roots; insecure skips
// verification altogether. With neither it returns nil, meaning Go's defaults.
func ParseTLSConfig(caFile string, insecure bool) (*tls.Config, error) {
	if caFile == "" && !insecure {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading the CA file: %w", unwrapPathError(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("the CA file holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
