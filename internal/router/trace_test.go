package router

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

func TestSummarize(t *testing.T) {
	long := strings.Repeat("x", 1000)
	sealed := []byte("0123456789abcdefghijklmnopqrstuvwxyz") // 36 bytes
	for _, tc := range []struct {
		name    string
		m       wamp.Message
		want    []string
		notWant []string
	}{
		{"sealed publish", &wamp.Publish{Request: 3, Options: encOpts(nil), Topic: "a.b", Payload: wamp.Payload{Bare: sealed}},
			[]string{`PUBLISH req=3 topic="a.b"`, `enc_algo:"cryptobox"`,
				"payload=<sealed 36 bytes base64:" + base64.StdEncoding.EncodeToString(sealed[:traceB64Bytes]) + "…>"},
			[]string{"opqrst", "args="}},
		{"ppt event", &wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{wamp.OptPPTScheme: "wamp"},
			Payload: wamp.Payload{Args: wamp.List{sealed}}},
			[]string{`payload=<ppt scheme="wamp" 36 bytes base64:`}, []string{"args="}},
		{"ppt with other args", &wamp.Result{Request: 1, Details: wamp.Dict{wamp.OptPPTScheme: "mqtt"},
			Payload: wamp.Payload{Args: wamp.List{"secret-ish"}, Kwargs: wamp.Dict{"k": 1}}},
			[]string{`payload=<ppt scheme="mqtt" 1 args, 1 kwargs, not shown>`}, []string{"secret-ish"}},
		{"plain args", &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "p", Payload: wamp.Payload{
			Args: wamp.List{"hi", int64(-4), 2.5, nil, true, []byte{1, 2}}, Kwargs: wamp.Dict{"b": "c"}}},
			[]string{`args=["hi" -4 2.5 null true <binary 2 bytes>] kwargs={b:"c"}`}, nil},
		{"long value cut", &wamp.Yield{Request: 1, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{long, long, long, long}}},
			[]string{"…"}, []string{strings.Repeat("x", traceMaxString+1)}},
		{"authenticate", &wamp.Authenticate{Signature: "the-ticket", Extra: wamp.Dict{}},
			[]string{"AUTHENTICATE signature=<not shown>"}, []string{"the-ticket"}},
		{"error", &wamp.Error{Type: wamp.CALL, Request: 7, Details: wamp.Dict{}, Error: "x.y", Payload: wamp.Payload{Bare: []byte{}}},
			[]string{`ERROR type=CALL req=7 error="x.y" details={} payload=<sealed 0 bytes base64:>`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := summarize(tc.m)
			if strings.Contains(got, "\n") {
				t.Errorf("summary spans lines: %q", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary %q lacks %q", got, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("summary %q contains %q", got, w)
				}
			}
			if len(got) > 3*traceMaxValue {
				t.Errorf("summary is %d bytes long", len(got))
			}
		})
	}
}
