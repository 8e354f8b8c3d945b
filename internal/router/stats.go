package router

import (
	"fmt"
	"strings"
	"sync/atomic"

	nx "github.com/gammazero/nexus/v3/wamp"
)

// Stats are counters since the server started. All counts are of WAMP messages unless
// said otherwise.
type Stats struct {
	Connections uint64 // WebSocket connections accepted
	Open        int64  // connections currently open
	Received    uint64 // messages received from clients
	Sent        uint64 // messages written to clients
	Sealed      uint64 // received messages with a legacy (Autobahn cryptobox) sealed payload
	PPT         uint64 // received messages in Payload PassThru Mode form
	Aborted     uint64 // sessions the adapter aborted for a protocol violation or bad frame
	TooBig      uint64 // connections closed with 1009: a message exceeded MaxMessageSize

	// Undeliverable counts messages that could not be encoded for their receiver; they
	// are logged and skipped.
	Undeliverable uint64

	// TooLarge counts messages that exceeded MaxMessageSize once encoded for their
	// receiver (see "Bounded resources" in doc.go): a CALL's INVOCATION, a RESULT or an
	// ERROR for a caller (the caller got ERROR wamp.error.payload_size_exceeded instead)
	// and EVENTs (dropped for that subscriber, also counted in Dropped).
	TooLarge uint64

	// Dropped counts messages not delivered because the receiver's outbound queue was at
	// its limit (see "Bounded resources" in doc.go): EVENTs, INVOCATIONs (the caller then
	// got wamp.error.network_failure) and RESULTs or ERRORs for a caller (replaced by that
	// ERROR); and EVENTs too large for their subscriber (also counted in TooLarge).
	Dropped uint64

	// Overflowed counts connections closed (1008) because the client sent requests but
	// did not read the replies until its outbound queue was over its limits and the
	// reserve above them.
	Overflowed uint64

	// Refused counts PUBLISH, CALL, YIELD and ERROR messages not routed because their
	// payload holds a value the router cannot carry exactly (see "Refused payloads" in
	// doc.go); whoever waited for them got ERROR wamp.error.invalid_argument.
	Refused uint64
}

type counters struct {
	connections, received, sent, sealed, ppt, aborted, tooBig, dropped, undeliverable, tooLarge, refused, overflowed atomic.Uint64
	open                                                                                                             atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Connections: c.connections.Load(),
		Open:        c.open.Load(),
		Received:    c.received.Load(),
		Sent:        c.sent.Load(),
		Sealed:      c.sealed.Load(),
		PPT:         c.ppt.Load(),
		Aborted:     c.aborted.Load(),
		TooBig:      c.tooBig.Load(),
		Dropped:     c.dropped.Load(),

		Undeliverable: c.undeliverable.Load(),
		TooLarge:      c.tooLarge.Load(),
		Refused:       c.refused.Load(),
		Overflowed:    c.overflowed.Load(),
	}
}

// Formats of the lines nexus v3.3.0 logs when a non-blocking send to a session's
// channel fails (router/broker.go and router/dealer.go trySend, dealer.go syncYield).
// While a session lives that does not happen (peer.Send makes room), but nexus
// still sends to a session for a moment after its connection is over, and those lines
// would fill the log with drops nobody lost: [nexusLog] recognises these format strings
// and hands them to Server.dropped, which ignores a forgotten session.
// TestNexusDropLineRecognised fails if a nexus upgrade changes them.
const (
	nexusDropFormat       = "!!! Dropped %s to session %s: blocked"
	nexusDropCallerFormat = "!!! Dropped %s to caller %s: blocked"
)

// nexusLog is the stdlog.StdLog given to nexus. It forwards nexus's lines to the
// configured logger and turns the drop lines into Server.dropped calls.
type nexusLog struct {
	s *Server
}

func (l nexusLog) Print(v ...any) { l.s.cfg.Logger.Print("nexus: " + fmt.Sprint(v...)) }

func (l nexusLog) Println(v ...any) {
	l.s.cfg.Logger.Print("nexus: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

func (l nexusLog) Printf(format string, v ...any) {
	if (format == nexusDropFormat || format == nexusDropCallerFormat) && len(v) == 2 {
		mt, _ := v[0].(nx.MessageType)
		if sess, ok := v[1].(*nx.Session); ok && sess != nil {
			l.s.dropped(mt.String(), uint64(sess.ID))
			return
		}
	}
	l.s.cfg.Logger.Print("nexus: " + fmt.Sprintf(format, v...))
}
