package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

// Flag parsing of each command, without the network, a keystore or a terminal: every
// newCmdX takes a runF that, when set, receives the parsed and checked options instead
// of running the command (the GitHub CLI's pattern). A table per command says what an
// argument list parses to, or which usage error (exit 2) it is.

// parsed runs newCmd on argv as cbx would up to the point where the command would run
// (flag and argument checks, usage errors worded as cbx words them), with an empty
// environment, and returns the options runF received.
func parsed[O any](t *testing.T, newCmd func(*factory, func(*O) error) *cobra.Command, argv []string) (*O, error) {
	t.Helper()
	streams := &ioStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
	f := &factory{io: streams, ui: newUI(streams), getenv: func(string) string { return "" }}
	var got *O
	cmd := newCmd(f, func(o *O) error {
		got = o
		return nil
	})
	usageErrors(cmd)
	cmd.SetArgs(argv)
	cmd.SetIn(streams.In)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	if err == nil && got == nil {
		t.Fatalf("%q: neither an error nor options", argv)
	}
	return got, err
}

// flagCase is one row of a table: argv parses to want, or fails with a usage error whose
// text holds err.
type flagCase[O any] struct {
	argv []string
	want *O
	err  string
}

func checkFlagCases[O any](t *testing.T, newCmd func(*factory, func(*O) error) *cobra.Command, cases []flagCase[O]) {
	t.Helper()
	for _, c := range cases {
		got, err := parsed(t, newCmd, c.argv)
		switch {
		case c.err != "":
			if err == nil {
				t.Errorf("%q: parsed as %+v, want the usage error %q", c.argv, got, c.err)
			} else if code := exitCodeFor(err); code != exitUsage || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v (exit %d), want a usage error (exit 2) saying %q", c.argv, err, code, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.argv, err)
		case !reflect.DeepEqual(got, c.want):
			t.Errorf("%q:\n got %+v\nwant %+v", c.argv, got, c.want)
		}
	}
}

// args is a list of strings, empty rather than nil: cobra hands a command its arguments
// after the first as args[1:].
func args(v ...string) []string { return append([]string{}, v...) }

func TestNewCmdPublish(t *testing.T) {
	checkFlagCases(t, newCmdPublish, []flagCase[publishOptions]{
		{args("com.t", "1", "x", "-k", "a=b"), &publishOptions{topic: "com.t", args: args("1", "x"), kwargs: args("a=b"), window: defaultWindow, repeat: 1,
			single: &eventPayload{args: []any{int64(1), "x"}, kwargs: map[string]any{"a": "b"}}}, ""},
		{args("com.t", "--stdin", "--window", "8", "--ack"), &publishOptions{topic: "com.t", args: args(), stdin: true, ack: true, window: 8, windowSet: true, repeat: 1}, ""},
		{args("com.t", "--receive-own", "--url", "ws://h:1/ws", "--timeout", "5s", "--wire", "ppt"), &publishOptions{topic: "com.t", args: args(), receiveMe: true, window: defaultWindow, repeat: 1,
			conn:   connOptions{url: "ws://h:1/ws", timeout: 5 * time.Second, wire: "ppt"},
			single: &eventPayload{args: []any{}, kwargs: map[string]any{}}}, ""},
		{args(), nil, "requires at least 1 argument, only received 0"},
		{args("com.t", "x", "--stdin"), nil, "--stdin can't be used with ARGs, -k/--kwarg or --file"},
		{args("com.t", "-k", "a=1", "--stdin"), nil, "--stdin can't be used with ARGs, -k/--kwarg or --file"},
		{args("com.t", "--stdin", "--window", "0"), nil, "--window 0: must be at least 1"},
		{args("com.t", "--window", "8"), nil, "--window can only be used with --stdin or --repeat"},
		{args("com .t"), nil, `TOPIC "com .t"`},
		{args("com.t", "1180591620717411303424"), nil, "does not fit in 64 bits"},
		{args("com.t", "-k", "novalue"), nil, `-k/--kwarg "novalue": want KEY=VALUE`},
		{args("com.t", "--bogus"), nil, "unknown flag: --bogus"},
	})
}

func TestNewCmdSubscribe(t *testing.T) {
	exact := func(uri string) []topicSpec { return []topicSpec{{uri: uri, match: wamp.MatchExact}} }
	checkFlagCases(t, newCmdSubscribe, []flagCase[subscribeOptions]{
		{args("com.t"), &subscribeOptions{topics: exact("com.t"), receive: receiveOptions{match: wamp.MatchExact}}, ""},
		{args("com.", "--match", "prefix", "-n", "3", "--details", "--reconnect", "--reconnect-max", "5", "--reconnect-within", "1m"),
			&subscribeOptions{topics: []topicSpec{{"com.", wamp.MatchPrefix}}, receive: receiveOptions{match: wamp.MatchPrefix, count: 3}, details: true,
				reconnect: reconnectOptions{on: true, max: 5, within: time.Minute}}, ""},
		{args("com..orders", "--match", "wildcard", "--require-encrypted", "-v"), &subscribeOptions{topics: []topicSpec{{"com..orders", wamp.MatchWildcard}},
			receive: receiveOptions{match: wamp.MatchWildcard}, conn: connOptions{requireEncrypted: true, verbose: true}}, ""},
		// Several TOPICs, each under --match unless it names its own policy.
		{args("com.t", "prefix:com.a.", "wildcard:com..x", "exact:com.b", "--match", "prefix", "com.c."),
			&subscribeOptions{topics: []topicSpec{{"com.t", wamp.MatchPrefix}, {"com.a.", wamp.MatchPrefix}, {"com..x", wamp.MatchWildcard},
				{"com.b", wamp.MatchExact}, {"com.c.", wamp.MatchPrefix}}, receive: receiveOptions{match: wamp.MatchPrefix}}, ""},
		{args("exact:urn:x.y"), &subscribeOptions{topics: exact("urn:x.y"), receive: receiveOptions{match: wamp.MatchExact}}, ""},
		{args("com.t", "--format", "text", "--timestamp"), &subscribeOptions{topics: exact("com.t"), receive: receiveOptions{match: wamp.MatchExact},
			format: "text", timestamp: true}, ""},
		{args("com.t", "--format", "{{.Topic}} {{json .Args}} {{.Time.Unix}}"), &subscribeOptions{topics: exact("com.t"), receive: receiveOptions{match: wamp.MatchExact},
			format: "{{.Topic}} {{json .Args}} {{.Time.Unix}}"}, ""},
		// A template that fails on some payloads only is not refused at start.
		{args("com.t", "--format", "{{index .Args 1}}"), &subscribeOptions{topics: exact("com.t"), receive: receiveOptions{match: wamp.MatchExact},
			format: "{{index .Args 1}}"}, ""},
		{args(), nil, "requires at least 1 argument, only received 0"},
		{args("com.t", "--match", "fuzzy"), nil, `--match "fuzzy": want exact, prefix or wildcard`},
		{args("com.t", "--count", "-1"), nil, "--count must not be negative"},
		{args("com..x"), nil, `TOPIC "com..x"`},
		{args("com.t", "prefix:com..x"), nil, `TOPIC "prefix:com..x": component 2 is empty (a prefix may end with`},
		{args("prefx:com.a."), nil, `TOPIC "prefx:com.a.": unknown match policy "prefx:"`},
		{args("com.t", "prefix:com.t"), nil, `TOPIC "prefix:com.t": the URI "com.t" is already given (TOPIC "com.t")`},
		{args("com.*"), nil, `TOPIC "com.*": "*" is not a wildcard in WAMP`},
		{args("com.t", "--format", "jsno"), nil, `--format "jsno": want json, text, raw or a Go template`},
		{args("com.t", "--format", "{{.Topc}}"), nil, `template: --format:1:2: executing "--format" at <.Topc>: can't evaluate field Topc`},
		{args("com.t", "--format", "{{.Topic"), nil, `template: --format:1: unclosed action`},
		{args("com.t", "--format", "{{json}}"), nil, `wrong number of args for json`},
		{args("com.t", "--format", "raw", "--timestamp"), nil, "--timestamp does nothing with --format raw, which prints the payload alone"},
		{args("com.t", "--format", "raw", "--details"), nil, "--details does nothing with --format raw"},
		{args("com.t", "--format", "{{.Topic}}", "--details"), nil, "--details does nothing with a --format template, which shows what it names: {{.Details}} and {{.Key}}, {{.Time}}"},
		{args("com.t", "--format", "{{.Topic}}", "--timestamp"), nil, "--timestamp does nothing with a --format template"},
		{args("com.t", "--reconnect-max", "3"), nil, "--reconnect-max needs --reconnect"},
		{args("com.t", "--reconnect", "--reconnect-within", "-1s"), nil, "--reconnect-within -1s: must not be negative"},
	})
}

func TestNewCmdCall(t *testing.T) {
	checkFlagCases(t, newCmdCall, []flagCase[callOptions]{
		{args("com.add", "23", "7", "--progress"), &callOptions{proc: "com.add", args: args("23", "7"), progress: true,
			payload: eventPayload{args: []any{int64(23), int64(7)}, kwargs: map[string]any{}}}, ""},
		{args("com.add", "-k", "x=\"1\"", "--realm", "r2", "--serializer", "cbor"), &callOptions{proc: "com.add", args: args(), kwargs: args(`x="1"`),
			conn: connOptions{realm: "r2", serializer: wamp.SerializerCBOR}, payload: eventPayload{args: []any{}, kwargs: map[string]any{"x": "1"}}}, ""},
		{args(), nil, "requires at least 1 argument"},
		{args("com.add", "-k", "novalue"), nil, "want KEY=VALUE"},
		{args("com.add", "-k", "x=1", "-k", "x=2"), nil, `key "x" given twice`},
		{args("com add"), nil, `PROC "com add"`},
		{args("com.add", "--format", "{{json .Args}}", "--details"), nil, "--details does nothing with a --format template"},
		{args("com.add", "--format", "raw"), nil, `--format "raw": want json or a Go template`},
	})
}

func TestNewCmdRegister(t *testing.T) {
	checkFlagCases(t, newCmdRegister, []flagCase[registerOptions]{
		{args("com.echo", "--echo"), &registerOptions{proc: "com.echo", echo: true, receive: receiveOptions{match: wamp.MatchExact}, errorURI: defaultErrorURI}, ""},
		{args("com..add", "--exec", "cat", "--match", "wildcard", "--count", "2", "--error-uri", "com.err.failed"),
			&registerOptions{proc: "com..add", execCmd: "cat", receive: receiveOptions{match: wamp.MatchWildcard, count: 2}, errorURI: "com.err.failed"}, ""},
		{args("com.echo"), nil, "give exactly one of --exec CMD and --echo"},
		{args("com.echo", "--echo", "--exec", "cat"), nil, "give exactly one of --exec CMD and --echo"},
		{args("com.echo", "--echo", "--error-uri", "bad uri"), nil, `--error-uri "bad uri"`},
		{args("com.echo", "--echo", "--match", "regex"), nil, `--match "regex": want exact, prefix or wildcard`},
		{args("com.echo", "--echo", "-n", "-2"), nil, "--count must not be negative"},
		{args("com..echo", "--echo"), nil, `PROC "com..echo"`},
		{args(), nil, "accepts 1 argument, received 0"},
	})
}

func TestNewCmdSeal(t *testing.T) {
	checkFlagCases(t, newCmdSeal, []flagCase[sealOptions]{
		{args("com.t", "hello", "42", "-k", "lang=en", "--reply"), &sealOptions{uri: "com.t", args: args("hello", "42"), kwargs: args("lang=en"), reply: true,
			payload: eventPayload{args: []any{"hello", int64(42)}, kwargs: map[string]any{"lang": "en"}}}, ""},
		{args("com.t", "--", "-7"), &sealOptions{uri: "com.t", args: args("-7"), payload: eventPayload{args: []any{int64(-7)}, kwargs: map[string]any{}}}, ""},
		{args("com.t", "@@x", "@-", "--file", "-"), nil, `--file "-": standard input was read already, for argument "@-"`},
		{args("com.t", "@-", "--file", "a", "--file", "b", "--strict"), nil, `argument "@-": not JSON: `}, // stdin is empty here
		{args("com.t", "@@x", "@-", "-k", "k=@@y"), &sealOptions{uri: "com.t", args: args("@@x", "@-"), kwargs: args("k=@@y"),
			payload: eventPayload{args: []any{"@x", ""}, kwargs: map[string]any{"k": "@y"}}}, ""},
		{args("com.t", "1", "--strict"), &sealOptions{uri: "com.t", args: args("1"), values: valueOptions{strict: true},
			payload: eventPayload{args: []any{int64(1)}, kwargs: map[string]any{}}}, ""},
		{args("com.t", "x", "--strict"), nil, `argument "x": not JSON`},
		{args("com.t", "--file", ""), nil, `--file "": give a file name, or - for standard input`},
		{args(), nil, "requires at least 1 argument"},
		{args("com.t", "-k", "=x"), nil, "want KEY=VALUE"},
		{args("com.t", "123456789012345678901234567890"), nil, "integer 123456789012345678901234567890 does not fit in 64 bits"},
		{args("com .t"), nil, `URI "com .t"`},
	})
}

func TestNewCmdOpen(t *testing.T) {
	checkFlagCases(t, newCmdOpen, []flagCase[openOptions]{
		{args("com.t", "AAAA"), &openOptions{uri: "com.t", payload: "AAAA"}, ""},
		{args("com.t", "--reply"), &openOptions{uri: "com.t", reply: true, fromStdin: true}, ""},
		{args(), nil, "accepts between 1 and 2 arguments, received 0"},
		{args("com.t", "a", "b"), nil, "accepts between 1 and 2 arguments, received 3"},
		{args("com .t", "AAAA"), nil, `URI "com .t"`},
	})
}

func TestNewCmdKeygen(t *testing.T) {
	checkFlagCases(t, newCmdKeygen, []flagCase[keygenOptions]{
		{args(), &keygenOptions{}, ""},
		{args("-o", "pub.key", "--hex"), &keygenOptions{output: "pub.key", hex: true}, ""},
		{args("-y", "pub.key"), &keygenOptions{convert: true, input: "pub.key"}, ""},
		{args("--public"), &keygenOptions{convert: true}, ""},
		// A private key typed where a file belongs is not repeated.
		{args("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="), nil, "unexpected argument (the value is not shown: it may be a secret)"},
		{args("-y", "-o", "x.key"), nil, "-o/--output can't be used with -y"},
		{args("-y", "a", "b"), nil, "accepts at most 1 argument, received 2"},
	})
}

func TestNewCmdKeysAdd(t *testing.T) {
	checkFlagCases(t, newCmdKeysAdd, []flagCase[keysAddOptions]{
		{args("com.example.", "--originator-priv", "pub.key", "--responder-pub", "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="),
			&keysAddOptions{prefix: "com.example.", originatorPriv: "pub.key", responderPub: "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="}, ""},
		{args("", "--single", "env:CBX_SECRET", "--force"), &keysAddOptions{single: "env:CBX_SECRET", force: true}, ""},
		{args("com.", "--responder-priv", "-", "--originator-pub", "o.pub"), &keysAddOptions{prefix: "com.", responderPriv: "-", originatorPub: "o.pub"}, ""},
		{args("com."), nil, "no keys given: use --single, or originator and responder keys"},
		{args("com.", "--single", "a", "--originator-pub", "b"), nil, "--single can't be used with originator or responder keys"},
		{args("com.", "--originator-priv", "a", "--originator-pub", "b"), nil, "--originator-priv and --originator-pub can't be used together"},
		{args("com.", "--responder-priv", "a", "--responder-pub", "b"), nil, "--responder-priv and --responder-pub can't be used together"},
		{args("com.", "--originator-priv", "-", "--responder-priv", "-"), nil, `only one private key can come from standard input ("-")`},
		{args("com.", "--single", ""), nil, "--single is empty"},
		{args(), nil, "accepts 1 argument, received 0"},
	})
}

func TestNewCmdKeysRotate(t *testing.T) {
	checkFlagCases(t, newCmdKeysRotate, []flagCase[keysRotateOptions]{
		{args("com.", "--responder-priv", "s.key"), &keysRotateOptions{keysAddOptions: keysAddOptions{prefix: "com.", responderPriv: "s.key"}}, ""},
		{args("com.", "--single", "-", "--retire-after", "2030-01-02"), &keysRotateOptions{keysAddOptions: keysAddOptions{prefix: "com.", single: "-"},
			retireAfter: "2030-01-02", retireAt: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)}, ""},
		{args("com."), nil, "no keys given"},
		{args("com.", "--single", "a", "--responder-pub", "b"), nil, "--single can't be used with originator or responder keys"},
		{args("com.", "--responder-priv", ""), nil, "--responder-priv is empty"},
		{args("com.", "--single", "a", "--retire-after", "soon"), nil, `--retire-after: "soon" is not a time`},
		{args("com.", "--single", "a", "--force"), nil, "unknown flag: --force"},
	})
}

func TestNewCmdKeysRetire(t *testing.T) {
	checkFlagCases(t, newCmdKeysRetire, []flagCase[keysRetireOptions]{
		{args("com.", "2", "--after", "2031-05-06T07:08:09Z"), &keysRetireOptions{prefix: "com.", generation: 2, after: "2031-05-06T07:08:09Z",
			at: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)}, ""},
		{args("com.", "0"), nil, `GEN "0" is not a generation number`},
		{args("com.", "-1"), nil, "unknown shorthand flag"},
		{args("com.", "one"), nil, `GEN "one" is not a generation number`},
		{args("com.", "1", "--after", "0s"), nil, "must be positive"},
		{args("com."), nil, "accepts 2 arguments, received 1"},
	})
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2030, 3, 4, 5, 6, 7, 800, time.UTC)
	for in, want := range map[string]time.Time{
		"now":                       time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC),
		" 2031-01-01 ":              time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC),
		"2031-01-01T10:00:00+02:00": time.Date(2031, 1, 1, 8, 0, 0, 0, time.UTC),
		"2031-01-01T10:00:00.9Z":    time.Date(2031, 1, 1, 10, 0, 0, 0, time.UTC),
		"72h":                       time.Date(2030, 3, 7, 5, 6, 7, 0, time.UTC),
		"1h30m":                     time.Date(2030, 3, 4, 6, 36, 7, 0, time.UTC),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "tomorrow", "-1h", "0s", "2031-13-01", "2031-01-01 10:00"} {
		if _, err := parseWhen(in, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", in)
		}
	}
}

func TestNewCmdRouter(t *testing.T) {
	defaults := routerOptions{listen: "127.0.0.1:8080", maxMessageSize: router.DefaultMaxMessageSize,
		queueSize: router.DefaultOutQueueSize, queueBytes: router.DefaultOutQueueBytes}
	with := func(edit func(*routerOptions)) *routerOptions {
		o := defaults
		edit(&o)
		return &o
	}
	checkFlagCases(t, newCmdRouter, []flagCase[routerOptions]{
		{args(), with(func(*routerOptions) {}), ""},
		{args("--listen", "127.0.0.1:0", "--realm", "a", "--realm", "b", "--trace", "--anonymous", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--url-file", "u"),
			with(func(o *routerOptions) {
				o.listen, o.realms, o.trace, o.anonymous, o.tlsCert, o.tlsKey, o.urlFile = "127.0.0.1:0", args("a", "b"), true, true, "c.pem", "k.pem", "u"
			}), ""},
		{args("--ticket", "alice=alice.ticket", "--wampcra", "bob=env:BOB", "--cryptosign-authorized-keys", "keys", "--queue-size", "10", "--queue-bytes", "1000", "--max-message-size", "4096"),
			with(func(o *routerOptions) {
				o.tickets, o.wampcra, o.authorizedKeys, o.queueSize, o.queueBytes, o.maxMessageSize = args("alice=alice.ticket"), args("bob=env:BOB"), "keys", 10, 1000, 4096
			}), ""},
		{args("--listen", "8080"), nil, `--listen "8080": missing port`},
		{args("--listen", "localhost:99999"), nil, `port "99999" is not a number from 0 to 65535`},
		{args("--queue-size", "0"), nil, "--max-message-size, --queue-size and --queue-bytes must be positive"},
		{args("--max-message-size", "-1"), nil, "must be positive"},
		{args("--tls-cert", "c.pem"), nil, "--tls-cert and --tls-key go together"},
		{args("extra"), nil, `"extra"`},
	})
}

func TestNewCmdWait(t *testing.T) {
	checkFlagCases(t, newCmdWait, []flagCase[waitOptions]{
		{args(), &waitOptions{}, ""},
		{args("--url", "ws://h:1/ws", "--timeout", "5s"), &waitOptions{conn: connOptions{url: "ws://h:1/ws", timeout: 5 * time.Second}, urlGiven: true, timeoutSet: true}, ""},
		{args("--url-file", "u", "--file", "a", "--file", "b"), &waitOptions{urlFile: "u", files: args("a", "b")}, ""},
		{args("--wait", "1s"), nil, "--wait is for the session commands"},
		{args("--url", "ws://h:1/ws", "--url-file", "u"), nil, "--url and --url-file can't be combined"},
		{args("--file", ""), nil, `--file "": give a file name`},
		{args("extra"), nil, `"extra"`},
	})
}
