package wamp

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// rawTCPConn is a TCP connection whose reads and writes are raw system calls on the
// non-blocking socket, made inside the runtime poller's RawConn, which still waits for
// readiness and applies the deadlines.
//
// Why: Go's own read and write enter the scheduler's system-call state
// (runtime.entersyscall), and when the process was idle that wakes the runtime's
// monitor thread (sysmon), which then polls every 20 µs until the process is idle
// again. A client that waits for each reply goes idle between any two messages, so
// every message cost a wake-up of that thread and a few of its naps: on the 2-core
// machines this project is measured on, about two of a caller's or a callee's three to
// four context switches per call, and CPU taken from the router and the other end. A
// read or a write on a non-blocking socket returns at once (EAGAIN when it would
// block, and then the poller waits, as for net.Conn), so it need not be accounted as a
// system call that may block: syscall.RawSyscall does not.
//
// What it returns is what net.TCPConn's Read and Write return: the same *net.OpError
// ("read tcp LOCAL->REMOTE: …" with an *os.SyscallError, or the poller's deadline or
// closed-connection error), io.EOF at the end of the stream, and a Write that writes
// everything or fails.
type rawTCPConn struct {
	*net.TCPConn
	rc syscall.RawConn

	// The state of the read and the write in progress, for readFn and writeFn, made once
	// so that a Read or Write allocates nothing (a closure handed to RawConn would
	// escape); rmu and wmu make concurrent Reads, or Writes, take turns, as the poller
	// would.
	rmu     sync.Mutex
	rbuf    []byte
	rn      int
	rerrno  syscall.Errno
	readFn  func(fd uintptr) bool
	wmu     sync.Mutex
	wbuf    []byte
	wn      int
	werrno  syscall.Errno
	wzero   bool // write(2) returned 0 for a non-empty buffer (see write)
	writeFn func(fd uintptr) bool

	// wakeMonitor is set on the router's connections (Accept): see monitoredRawConn.
	wakeMonitor bool
}

// rawConn wraps a TCP connection as rawTCPConn; any other connection is returned as it is.
func rawConn(nc net.Conn) net.Conn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	c := &rawTCPConn{TCPConn: tc, rc: rc}
	c.readFn, c.writeFn = c.read, c.write
	return c
}

// monitoredRawConn is rawConn for a server's connections (Accept, cbx router's): raw
// reads and writes, except that at most every monitorWakeEvery one of them, in the whole
// process, is an ordinary system call (syscall.Syscall, which enters the scheduler's
// system-call state and so wakes sysmon if it sleeps).
//
// Why: sysmon sleeps deeply once every processor is idle, and only a system call
// entered that way, a stop-the-world or a timer wakes it. A router that made nothing but
// raw calls could therefore run a burst of load with sysmon asleep: no preemption of a
// goroutine that runs long, no network poll while every processor is busy; under the
// race detector TestFanOutManySessions missed its bound that way (the revert of 49faae4
// has the figures). With one ordinary call per monitorWakeEvery, sysmon is awake within
// that long of any burst, and stays awake while a processor is busy; a router answering
// calls one at a time (an idle spell between any two messages) wakes it once per
// monitorWakeEvery rather than at every message it reads.
func monitoredRawConn(nc net.Conn) net.Conn {
	c := rawConn(nc)
	if rc, ok := c.(*rawTCPConn); ok {
		rc.wakeMonitor = true
	}
	return c
}

// monitorWakeEvery bounds how long sysmon may sleep through a burst of a server's raw
// reads and writes (monitoredRawConn): well under its 10 ms preemption slice.
const monitorWakeEvery = time.Millisecond

// monitorEpoch and monitorLast (nanoseconds since monitorEpoch, monotonic) time the last
// ordinary system call of monitoredRawConn's connections; monitorCalls counts them (for
// tests).
var (
	monitorEpoch = time.Now()
	monitorLast  atomic.Int64
	monitorCalls atomic.Uint64
)

// monitorDue reports whether the system call about to be made on a monitoredRawConn
// connection is to be an ordinary one: none was for monitorWakeEvery, in the whole
// process. Of concurrent callers, one gets true.
func monitorDue() bool {
	now := int64(time.Since(monitorEpoch))
	last := monitorLast.Load()
	return now-last >= int64(monitorWakeEvery) && monitorLast.CompareAndSwap(last, now)
}

// syscall3 makes a read or write system call: raw, unless this connection is to wake
// sysmon and an ordinary call is due (monitoredRawConn).
func (c *rawTCPConn) syscall3(trap, a1, a2, a3 uintptr) (uintptr, syscall.Errno) {
	if c.wakeMonitor && monitorDue() {
		monitorCalls.Add(1)
		r, _, e := syscall.Syscall(trap, a1, a2, a3)
		return r, e
	}
	r, _, e := syscall.RawSyscall(trap, a1, a2, a3)
	return r, e
}

func (c *rawTCPConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	c.rbuf, c.rn, c.rerrno = b, 0, 0
	err := c.rc.Read(c.readFn)
	n, errno := c.rn, c.rerrno
	c.rbuf = nil
	c.rmu.Unlock()
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// read is RawConn's function for Read: false to wait until the socket is readable.
func (c *rawTCPConn) read(fd uintptr) bool {
	b := c.rbuf
	for {
		r, e := c.syscall3(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.rn, c.rerrno = int(r), e
		return true
	}
}

func (c *rawTCPConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	c.wbuf, c.wn, c.werrno, c.wzero = b, 0, 0, false
	err := c.rc.Write(c.writeFn)
	written, errno, zero := c.wn, c.werrno, c.wzero
	c.wbuf = nil
	c.wmu.Unlock()
	switch {
	case err != nil:
		return written, c.opError("write", err)
	case errno != 0:
		return written, c.opError("write", os.NewSyscallError("write", errno))
	case zero:
		return written, c.opError("write", io.ErrUnexpectedEOF)
	}
	return written, nil
}

// write is RawConn's function for Write: it writes until everything is written or the
// socket is full (false: wait until it is writable, then go on).
func (c *rawTCPConn) write(fd uintptr) bool {
	for c.wn < len(c.wbuf) {
		rest := c.wbuf[c.wn:]
		r, e := c.syscall3(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch {
		case e == 0 && r == 0:
			// write(2) on a stream socket never returns 0 for a non-empty buffer; were it
			// to, looping would spin for ever. Go's own poller reports it so too.
			c.wzero = true
			return true
		case e == 0:
			c.wn += int(r)
		case e == syscall.EINTR:
		case e == syscall.EAGAIN:
			return false
		default:
			c.werrno = e
			return true
		}
	}
	return true
}

// opError is the error net.TCPConn would return: the RawConn's own errors (the poller's
// deadline and closed-connection errors) come as a *net.OpError of operation "raw-read"
// or "raw-write", which it gets op in place of.
func (c *rawTCPConn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		e := *oe
		e.Op = op
		return &e
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
