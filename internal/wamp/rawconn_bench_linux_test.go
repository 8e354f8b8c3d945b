package wamp

import (
	"io"
	"net"
	"testing"
)

// BenchmarkLoopbackPingPong: 100 bytes to an echoing goroutine and back over loopback TCP,
// one exchange at a time, as a caller and its callee take turns, through net.TCPConn
// and through rawTCPConn (the echo side reads and writes the same way). With both ends
// in one process the runtime's monitor thread is rarely idle, so this shows the cost
// of the read and write themselves more than the wake-ups rawTCPConn saves between
// processes (scripts/bench-e2e.sh's call variants show those).
func BenchmarkLoopbackPingPong(b *testing.B) {
	for _, raw := range []bool{false, true} {
		name := "net"
		if raw {
			name = "raw"
		}
		b.Run(name, func(b *testing.B) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			wrap := func(c net.Conn) net.Conn {
				if raw {
					return rawConn(c)
				}
				return c
			}
			go func() {
				s, err := l.Accept()
				if err != nil {
					return
				}
				s = wrap(s)
				defer s.Close()
				buf := make([]byte, 100)
				for {
					if _, err := io.ReadFull(s, buf); err != nil {
						return
					}
					if _, err := s.Write(buf); err != nil {
						return
					}
				}
			}()
			nc, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c := wrap(nc)
			defer c.Close()
			msg, buf := make([]byte, 100), make([]byte, 100)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
