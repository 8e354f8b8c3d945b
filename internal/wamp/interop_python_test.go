package wamp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// TestAutobahnParsesOurFrames is wire.md §6.2 "T0-python-accepts-go": every message
// cbx may send (as client, or as the router adapter forwarding sealed payloads) is
// serialized by our three serializers, parsed by Autobahn|Python 22.7.1's own
// Serializer.unserialize (the same parser Crossbar.io uses), and serialized again by
// Autobahn. Our decoder must read Autobahn's bytes back to the message we started with:
// frame type, binary typing (bin / byte string / "\u0000"+base64), the bare payload
// position, enc_* options, integers vs floats all survive.
func TestAutobahnParsesOurFrames(t *testing.T) {
	py := testkit.NeedAutobahnPython(t)
	enc := Dict{"enc_algo": "cryptobox", "enc_serializer": "json"}
	encKey := merged(enc, Dict{"enc_key": "0xBf9240114804dB4Fd373012c0Ca47432D63425AE"})
	bare := []byte{0, 1, 2, 3, 0xfe, 0xff}
	args := List{"text", int64(-7), int64(1) << 40, 1.0, 0.25, true, nil, []byte{0, 0xff}, List{"nested", Dict{"b": []byte("x")}}}
	kwargs := Dict{"a": int64(1), "ü": "ñ", "bin": []byte{9}, "f": 2.0}
	msgs := []Message{
		&Hello{Realm: "realm1", Details: Dict{"roles": helloRoles(nil), "authmethods": List{"ticket"}, "authid": "joe"}},
		&Authenticate{Signature: "sig", Extra: Dict{}},
		&Goodbye{Details: Dict{}, Reason: "wamp.close.normal"},
		&Abort{Details: Dict{"message": "bye"}, Reason: "wamp.error.protocol_violation"},
		&Publish{Request: 1, Options: Dict{"acknowledge": true, "exclude_me": false}, Topic: "com.t", Payload: Payload{Args: args, Kwargs: kwargs}},
		&Publish{Request: 2, Options: merged(enc, Dict{"acknowledge": true}), Topic: "com.t", Payload: Payload{Bare: bare}},
		&Subscribe{Request: 3, Options: Dict{"match": "prefix"}, Topic: "com."},
		&Unsubscribe{Request: 4, Subscription: 77},
		&Call{Request: 5, Options: Dict{"receive_progress": true, "timeout": int64(1000)}, Procedure: "com.p", Payload: Payload{Args: args}},
		&Call{Request: 6, Options: enc, Procedure: "com.p", Payload: Payload{Bare: bare}},
		&Cancel{Request: 5, Options: Dict{"mode": "killnowait"}},
		&Register{Request: 7, Options: Dict{"match": "wildcard"}, Procedure: "com..p"},
		&Unregister{Request: 8, Registration: 88},
		&Yield{Request: 9, Options: Dict{"progress": true}, Payload: Payload{Args: List{int64(1)}, Kwargs: Dict{"k": "v"}}},
		&Yield{Request: 9, Options: enc, Payload: Payload{Bare: bare}},
		&Error{Type: INVOCATION, Request: 9, Details: Dict{}, Error: "com.error.x", Payload: Payload{Args: List{"why"}}},
		&Error{Type: INVOCATION, Request: 9, Details: enc, Error: "com.error.x", Payload: Payload{Bare: bare}},
		// What the router adapter forwards to Autobahn clients.
		&Event{Subscription: 5512315355, Publication: 4429313566, Details: merged(enc, Dict{"topic": "com.t.x"}), Payload: Payload{Bare: bare}},
		&Event{Subscription: 1, Publication: 2, Details: Dict{}, Payload: Payload{Args: args, Kwargs: kwargs}},
		&Invocation{Request: 10, Registration: 11, Details: merged(enc, Dict{"procedure": "com.p.x"}), Payload: Payload{Bare: bare}},
		&Result{Request: 6, Details: merged(enc, Dict{"progress": true}), Payload: Payload{Bare: bare}},
		&Error{Type: CALL, Request: 6, Details: enc, Error: "com.error.x", Payload: Payload{Bare: bare}},
		// With the key id cbx sends as enc_key (wire.md §2.4 "Key ids"), on every message
		// that carries a sealed payload.
		&Publish{Request: 12, Options: merged(encKey, Dict{"acknowledge": true}), Topic: "com.t", Payload: Payload{Bare: bare}},
		&Event{Subscription: 1, Publication: 2, Details: encKey, Payload: Payload{Bare: bare}},
		&Call{Request: 13, Options: encKey, Procedure: "com.p", Payload: Payload{Bare: bare}},
		&Invocation{Request: 14, Registration: 11, Details: encKey, Payload: Payload{Bare: bare}},
		&Yield{Request: 14, Options: encKey, Payload: Payload{Bare: bare}},
		&Result{Request: 13, Details: encKey, Payload: Payload{Bare: bare}},
		&Error{Type: INVOCATION, Request: 14, Details: encKey, Error: "com.error.x", Payload: Payload{Bare: bare}},
		&Error{Type: CALL, Request: 13, Details: encKey, Error: "com.error.x", Payload: Payload{Bare: bare}},
	}
	const script = `
import sys, json, binascii, txaio
txaio.use_asyncio()
from autobahn.wamp import serializer
sers = {"json": serializer.JsonSerializer(), "msgpack": serializer.MsgPackSerializer(), "cbor": serializer.CBORSerializer()}
for line in sys.stdin:
    name, binary, data = line.split()
    s = sers[name]
    try:
        msgs = s.unserialize(binascii.unhexlify(data), binary == "1")
        assert len(msgs) == 1, "got %d messages" % len(msgs)
        out, is_binary = s.serialize(msgs[0])
        print(json.dumps({"class": type(msgs[0]).__name__, "binary": is_binary, "hex": binascii.hexlify(out).decode()}))
    except Exception as e:
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
`
	var in bytes.Buffer
	type sent struct {
		ser Serializer
		m   Message
	}
	var order []sent
	for _, s := range Serializers {
		for _, m := range msgs {
			b, err := s.Marshal(m)
			if err != nil {
				t.Fatalf("%s %v: %v", s.Name(), m.MessageType(), err)
			}
			bin := "0"
			if s.Binary() {
				bin = "1"
			}
			in.WriteString(s.Name() + " " + bin + " " + hex.EncodeToString(b) + "\n")
			order = append(order, sent{s, m})
		}
	}
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(order) {
		t.Fatalf("%d answers for %d frames:\n%s", len(lines), len(order), out)
	}
	for i, line := range lines {
		o := order[i]
		var r struct {
			Class  string `json:"class"`
			Binary bool   `json:"binary"`
			Hex    string `json:"hex"`
			Error  string `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("answer %q: %v", line, err)
		}
		name := o.ser.Name() + "/" + o.m.MessageType().String()
		if r.Error != "" {
			t.Errorf("%s: Autobahn rejects our frame: %s", name, r.Error)
			continue
		}
		if !strings.EqualFold(r.Class, o.m.MessageType().String()) || r.Binary != o.ser.Binary() {
			t.Errorf("%s: Autobahn parsed a %s (binary=%v)", name, r.Class, r.Binary)
			continue
		}
		b, _ := hex.DecodeString(r.Hex)
		back, err := o.ser.Unmarshal(b)
		if err != nil {
			t.Errorf("%s: cannot read Autobahn's frame %q: %v", name, b, err)
			continue
		}
		want := o.m
		if h, ok := want.(*Hello); ok {
			// Autobahn's Hello.marshal rebuilds the roles from the role classes it
			// knows, so compare the parts it keeps verbatim.
			got := back.(*Hello)
			if got.Realm != h.Realm || got.Details["authid"] != "joe" || !reflect.DeepEqual(got.Details["authmethods"], List{"ticket"}) {
				t.Errorf("%s: %+v", name, got)
			}
			continue
		}
		if !reflect.DeepEqual(back, want) {
			t.Errorf("%s: after Autobahn:\n got %#v\nwant %#v", name, back, want)
		}
	}
}
