package router

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	nx "github.com/gammazero/nexus/v3/wamp"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// fuzzSeeds are frames worth starting from: the Autobahn vectors in every serializer and
// messages that break the adapter's rules.
func fuzzSeeds(t testing.TB) [][]byte {
	vs, _ := loadVectorFile(t)
	var seeds [][]byte
	for _, v := range vs {
		for _, m := range []*vectorMessage{v.Sent, v.Forwarded} {
			if m == nil {
				continue
			}
			mp, _ := hex.DecodeString(m.MsgPackHex)
			cb, _ := hex.DecodeString(m.CBORHex)
			seeds = append(seeds, append([]byte{0}, m.JSON...), append([]byte{1}, mp...), append([]byte{2}, cb...))
		}
	}
	for _, s := range []string{
		`[16,1,{"ppt_scheme":"wamp","ppt_serializer":5},"a.b",["\u0000AQI="]]`,
		`[16,1,{"ppt_scheme":"x_cbx_legacy"},"a.b",["\u0000AQI="]]`,
		`[16,1,{"enc_algo":7},"a.b","\u0000AQI="]`,
		`[16,1,{"ppt_scheme":"wamp","enc_algo":"cryptobox"},"a.b","\u0000AQI="]`,
		`[48,2,{"ppt_scheme":"mqtt","ppt_keyid":[]},"a.b",[1],{}]`,
		`[70,3,{"progress":true,"enc_algo":"cryptobox","enc_serializer":"json","enc_key":"k"},"\u0000"]`,
		`[8,68,4,{"enc_algo":"cryptobox"},"a.err","\u0000AQID"]`,
		`[1,"realm1",{"roles":{"caller":{"features":{"payload_passthru_mode":true}}}}]`,
		`[32,5,{"match":"prefix"},"a."]`,
		`[64,6,{},"a.b"]`,
		`[36,1,2,{},"\u0000AA=="]`,
		`[6,{},"wamp.close.normal"]`,
		// Payloads the router refuses (doc.go, "Refused payloads").
		`[16,7,{"acknowledge":true},"a.b",[1180591620717411303424]]`,
		`[48,8,{},"a.b",[],{"k":1e400}]`,
		`[70,3,{},["\u0000!"]]`,
		`[8,68,4,{},"a.err",["\ud800"]]`,
	} {
		seeds = append(seeds, append([]byte{0}, s...))
	}
	return seeds
}

// fuzzDecode decodes data with the serializer its first byte selects.
func fuzzDecode(data []byte) (wamp.Message, error) {
	if len(data) == 0 {
		return nil, &wamp.ProtocolError{Msg: "empty"}
	}
	return wamp.Serializers[int(data[0])%len(wamp.Serializers)].Unmarshal(data[1:])
}

// FuzzAdapter feeds decoded messages to the adapter's entry points. It must never panic
// (a panic in a nexus goroutine would take the router down), and what it accepts must
// survive the trip: a legacy sealed message comes back out of the form nexus carries it
// in unchanged,
// any other message converts to nexus and back to itself.
func FuzzAdapter(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, byte(0))
		f.Add(s, byte(15))
	}
	f.Fuzz(func(t *testing.T, data []byte, announce byte) {
		m, err := fuzzDecode(data)
		if err != nil {
			return
		}
		summarize(m) // the trace must render anything that decodes
		a := newAdapter()
		for i, role := range clientRoles {
			a.pptRoles[role] = announce&(1<<i) != 0
		}
		a.helloed = true
		nm, err := a.inbound(m)
		if err != nil {
			return
		}
		meta, pl := metaAndPayload(m)
		nmeta, nargs, nkw := nxMetaAndArgs(nm)
		if pl.IsBare() {
			// What nexus delivers for it: for a PUBLISH an EVENT with nexus's own Details
			// (none on an exact match) and the same Arguments; for the others an
			// INVOCATION with the message's options copied into details. Either way the
			// client gets the payload and the enc_* values it sent (all of the options,
			// for the others, as this stand-in for nexus copies them all).
			var nexusMsg nx.Message
			want := meta
			if _, ok := m.(*wamp.Publish); ok {
				nexusMsg = &nx.Event{Subscription: 1, Publication: 2, Details: nx.Dict{}, Arguments: nargs, ArgumentsKw: nkw}
				want = wamp.Dict{}
				for _, kk := range encToPPT {
					if v, ok := meta[kk[0]]; ok {
						want[kk[0]] = v
					}
				}
			} else {
				nexusMsg = &nx.Invocation{Request: 1, Registration: 2, Details: nmeta, Arguments: nargs, ArgumentsKw: nkw}
			}
			out, reply, err := newAdapter().outbound(nexusMsg)
			if err != nil || reply != nil {
				t.Fatalf("outbound of %s: %v %v", summarize(m), err, reply)
			}
			gotMeta, gotPl := metaAndPayload(out)
			if !bytes.Equal(gotPl.Bare, pl.Bare) || gotPl.Bare == nil {
				t.Fatalf("payload changed: %v → %v", pl.Bare, gotPl.Bare)
			}
			if !reflect.DeepEqual(gotMeta, want) {
				t.Fatalf("details = %v, want %v", gotMeta, want)
			}
			return
		}
		if _, ok := m.(*wamp.Hello); ok {
			return // rewritten on purpose
		}
		back, err := fromNexus(nm)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip through nexus types:\n got %s\nwant %s", summarize(back), summarize(m))
		}
		if _, err := wamp.ToList(back); err != nil {
			t.Fatalf("converted message does not encode: %v", err)
		}
	})
}

// FuzzSession sends a session's worth of frames (after a valid HELLO) through the whole
// router: adapter, nexus and back. Whatever the frames, the router must not panic and the
// session must not get stuck: afterwards a PUBLISH with acknowledge gets its PUBLISHED,
// or the router has closed the connection (after ABORT or GOODBYE).
func FuzzSession(f *testing.F) {
	seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add(bytes.Join(seeds[len(seeds)-6:], []byte("\n\x00")))
	srv, _, _ := testServer(f, Config{Trace: nopWriter{}, Logger: discardLogger()})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := connect(t, srv)
		defer c.p.Close(closeNormal, "")
		// A client announcing both payload features, so that PPT messages reach nexus.
		c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": roles(wamp.FeaturePayloadTransparency, wamp.FeaturePayloadEncryptionCryptobox, wamp.FeaturePayloadPassthruMode)}})
		expect[*wamp.Welcome](c)
		for _, frame := range bytes.Split(data, []byte("\n")) {
			m, err := fuzzDecode(frame)
			if !c.deliverOrClosed(m, err) {
				return
			}
		}
		const probe = wamp.ID(1 << 52)
		if !c.deliverOrClosed(&wamp.Publish{Request: probe, Options: wamp.Dict{"acknowledge": true}, Topic: "fuzz.probe"}, nil) {
			return
		}
		for {
			m, err := c.tryNext()
			if err != nil {
				if strings.HasPrefix(err.Error(), "connection closed") {
					return
				}
				t.Fatalf("session stuck: %v", err)
			}
			if p, ok := m.(*wamp.Published); ok && p.Request == probe {
				return
			}
		}
	})
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// deliverOrClosed hands the router a message, or a receive error as the transport
// would report an undecodable frame, unless the router has closed the connection; it
// reports whether the connection is still open. Messages the router sends meanwhile are
// read and discarded, as a client would.
func (c *client) deliverOrClosed(m wamp.Message, recvErr error) bool {
	for {
		select {
		case c.p.toRouter <- recvItem{m: m, err: recvErr}:
			return true
		case <-c.p.fromRouter:
		case <-c.p.closed:
			return false
		case <-time.After(testWait):
			c.t.Fatalf("router neither reads nor closes")
		}
	}
}
