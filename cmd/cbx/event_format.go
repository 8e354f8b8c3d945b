package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Output formats of cbx subscribe (--format). The JSON line, appendEventLine, is the
// default whenever standard output is not a terminal, byte for byte what it has always
// been, and is written by its own fast path; the other forms are built beside it:
//
//   - json: one JSON object per event, for programs (jq); --timestamp adds "time" and,
//     with several TOPICs, "subscription" names the one that matched.
//   - text: one line per event for a person, the default on a terminal: time, topic,
//     sealed or plain, then the payload as JSON values (args, then KEY=VALUE kwargs), in
//     colour under the usual rules (messages.go).
//   - raw: the payload itself, for files and binary data: an event of exactly one
//     argument and no kwargs prints that argument's text (a string), bytes (a binary
//     value) or JSON (anything else), with nothing added, so that a file published with
//     @FILE comes out as it went in. Other events are skipped with a warning, never
//     printed in another form.
//   - a Go text/template (text/template), executed per event with eventData as dot and a
//     json function, followed by a newline, as mosquitto_sub -F and natscli's templates
//     do.

// Format names for --format; anything else must be a template.
const (
	formatJSON     = "json"
	formatText     = "text"
	formatRaw      = "raw"
	formatTemplate = "template" // outputFormat.name of a template
)

// outputFormat is a parsed --format.
type outputFormat struct {
	name string             // formatJSON, formatText, formatRaw or formatTemplate; "": the default
	tmpl *template.Template // for formatTemplate
}

// parseOutputFormat reads --format: one of the names, or a Go template. A value with no
// "{{" is taken for a name, so a mistyped name ("jsno") is an error rather than a
// template printing "jsno" for every event. data is a sample of what the template will
// be executed with: executing it once at start finds a field that does not exist
// ({{.Topc}}) before any event is lost to it (errors that depend on an event's payload,
// such as index out of range, can only show with events, and are reported then).
func parseOutputFormat(s string, allowed []string, data any) (outputFormat, error) {
	names := strings.Join(allowed, ", ") + " or a Go template"
	hint := fmt.Sprintf("--format takes %s such as '{{json .Args}}'", names)
	for _, n := range allowed {
		if s == n {
			return outputFormat{name: n}, nil
		}
	}
	if !strings.Contains(s, "{{") {
		return outputFormat{}, withCode(exitUsage, fmt.Errorf("--format %q: want %s", s, names), hint)
	}
	t, err := template.New("--format").Funcs(template.FuncMap{"json": templateJSON}).Parse(s)
	if err != nil {
		return outputFormat{}, withCode(exitUsage, err, hint)
	}
	if err := t.Execute(io.Discard, data); err != nil && structuralTemplateError(err) {
		return outputFormat{}, withCode(exitUsage, err, hint)
	}
	return outputFormat{name: formatTemplate, tmpl: t}, nil
}

// structuralTemplateError reports whether a template failed for how it is written (a
// field or method that dot does not have, a function called with the wrong number of
// arguments) rather than for the data it met (an index out of range, a missing key):
// the first kind fails for every event. text/template has no error types for them, so
// its messages are read.
func structuralTemplateError(err error) bool {
	msg := err.Error()
	for _, s := range []string{"can't evaluate field", "wrong number of args", "can't give argument to non-function", "is not a method", "can't call method"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// templateJSON is a template's json function: v in the value dialect's JSON (binary as
// "\u0000"+base64, exactly as the JSON line prints it); a time as its RFC 3339 string.
func templateJSON(v any) (string, error) {
	switch t := v.(type) {
	case eventTime:
		return strconv.Quote(t.String()), nil
	case time.Time:
		return strconv.Quote(formatTime(t)), nil
	}
	b, err := wamp.MarshalJSON(v, wamp.NestPayload)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// formatTime writes a receive time: RFC 3339 in UTC with nanoseconds, always nine digits,
// so that the lines of a log line up and sort as text.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

// eventTime is when cbx read an event: {{.Time}} prints it as formatTime does, and its
// time.Time methods ({{.Time.Format "15:04:05"}}, {{.Time.Unix}}) are there too.
type eventTime struct{ time.Time }

func (t eventTime) String() string { return formatTime(t.Time) }

// eventData is what a --format template sees of an event.
type eventData struct {
	Topic        string         // the event's own topic (details.topic for a pattern)
	Subscription string         // the URI subscribed to that matched it (a TOPIC, without its policy)
	Match        string         // that subscription's match policy: exact, prefix or wildcard
	Publication  uint64         // the publication ID
	Sealed       bool           // the payload arrived sealed (and opened)
	Args         []any          // [] when absent
	Kwargs       map[string]any // {} when absent
	Details      map[string]any // as the router sent them
	Key          map[string]any // what opened a sealed payload (as --details' "key"); nil when plain
	Time         eventTime      // when cbx read the event
}

// sampleEventData is the data a template is tried on at start.
var sampleEventData = eventData{Topic: "com.example.t", Subscription: "com.example.t", Match: wamp.MatchExact,
	Args: []any{}, Kwargs: map[string]any{}, Details: map[string]any{}, Time: eventTime{time.Unix(0, 0)}}

// eventPrinter writes subscribe's events in a format other than the plain JSON line
// (which subscribe writes with appendEventLine directly).
type eventPrinter struct {
	format    outputFormat
	details   bool    // --details
	timestamp bool    // --timestamp
	multi     bool    // several subscriptions: lines name the one that matched
	st        *styles // for text: standard output's
	stdoutTTY bool    // raw refuses binary on a terminal
	now       func() time.Time
}

// appendEvent appends ev's output, matched by sub, to b; on error b is returned as it was
// and nothing of the event is printed.
func (p *eventPrinter) appendEvent(b []byte, ev *wamp.EventInfo, sub topicSpec) ([]byte, error) {
	start := len(b)
	var err error
	if ev.ArgsJSON != nil {
		// Only appendEventLine takes the args as text (subscribeRun); the formats here
		// read the values, so they are never printed as absent.
		v, err := wamp.UnmarshalJSON(ev.ArgsJSON, wamp.NestPayload)
		args, ok := v.([]any)
		if err != nil || !ok {
			return b, fmt.Errorf("cannot print the payload: its arguments are not a JSON list (%v)", err)
		}
		ev.Args, ev.ArgsJSON = args, nil
	}
	switch p.format.name {
	case formatJSON:
		b, err = p.appendJSON(b, ev, sub)
	case formatText:
		b, err = p.appendText(b, ev, sub)
	case formatRaw:
		b, err = p.appendRaw(b, ev)
	case formatTemplate:
		b, err = p.appendTemplate(b, ev, sub)
	default:
		err = fmt.Errorf("no output format %q", p.format.name)
	}
	if err != nil {
		return b[:start], err
	}
	return b, nil
}

// appendJSON is the JSON line with "subscription" (several TOPICs) and "time"
// (--timestamp) after its other fields.
func (p *eventPrinter) appendJSON(b []byte, ev *wamp.EventInfo, sub topicSpec) ([]byte, error) {
	b, err := appendEventLine(b, ev, p.details)
	if err != nil {
		return b, err
	}
	b = b[:len(b)-2] // "}\n"
	if p.multi {
		b = append(b, `,"subscription":`...)
		if b, err = wamp.AppendJSON(b, sub.uri, wamp.NestPayload); err != nil {
			return b, fmt.Errorf("cannot print the payload: %w", err)
		}
	}
	if p.timestamp {
		b = append(b, `,"time":"`...)
		b = append(b, formatTime(p.now())...)
		b = append(b, '"')
	}
	return append(b, '}', '\n'), nil
}

// appendText is the line for a person:
//
//	15:04:05.123 com.example.orders sealed {"id":17} priority="high"
//
// the local time of day (--timestamp: the full RFC 3339 time), the topic, then with
// several TOPICs the subscription that matched in parentheses when it differs from the
// topic, "sealed" or "plain", each argument as JSON, each kwarg as KEY=JSON, and with
// --details details=JSON and key=JSON. JSON escapes control characters, and a topic
// holding any (a pattern's topic comes from the router) is printed as a JSON string, so
// no payload can drive the terminal.
func (p *eventPrinter) appendText(b []byte, ev *wamp.EventInfo, sub topicSpec) ([]byte, error) {
	now := p.now()
	var ts string
	if p.timestamp {
		ts = formatTime(now)
	} else {
		ts = now.Format("15:04:05.000")
	}
	b = append(b, p.st.dim.Render(ts)...)
	b = append(b, ' ')
	topic, err := printableURI(ev.Topic)
	if err != nil {
		return b, err
	}
	b = append(b, p.st.head.Render(topic)...)
	if p.multi && sub.uri != ev.Topic {
		s, err := printableURI(sub.uri)
		if err != nil {
			return b, err
		}
		b = append(b, (" (" + s + ")")...)
	}
	if ev.Sealed {
		b = append(b, (" " + p.st.ok.Render("sealed"))...)
	} else {
		b = append(b, (" " + p.st.warn.Render("plain"))...)
	}
	var v []byte
	for _, a := range ev.Args {
		if v, err = wamp.AppendJSON(v[:0], a, wamp.NestPayload); err != nil {
			return b, fmt.Errorf("cannot print the payload: %w", err)
		}
		b = append(append(b, ' '), v...)
	}
	keys := make([]string, 0, len(ev.Kwargs))
	for k := range ev.Kwargs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v, err = wamp.AppendJSON(v[:0], ev.Kwargs[k], wamp.NestPayload); err != nil {
			return b, fmt.Errorf("cannot print the payload: %w", err)
		}
		name := k
		if !plainKey(k) {
			if name, err = jsonString(k); err != nil {
				return b, err
			}
		}
		b = append(b, ' ')
		b = append(b, p.st.hint.Render(name+"=")...)
		b = append(b, v...)
	}
	if p.details {
		if v, err = wamp.AppendJSON(v[:0], ev.Details, wamp.NestPayload); err != nil {
			return b, fmt.Errorf("cannot print the payload: %w", err)
		}
		b = append(b, (" " + p.st.dim.Render("details=") + string(v))...)
		if ev.Opened != nil {
			if v, err = wamp.AppendJSON(v[:0], ev.Opened, wamp.NestPayload); err != nil {
				return b, fmt.Errorf("cannot print the payload: %w", err)
			}
			b = append(b, (" " + p.st.dim.Render("key=") + string(v))...)
		}
	}
	return append(b, '\n'), nil
}

// printableURI is uri as the text format shows it: as it is when every character is a
// visible one, else as a JSON string.
func printableURI(uri string) (string, error) {
	for _, r := range uri {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
			return jsonString(uri)
		}
	}
	return uri, nil
}

// plainKey reports whether a kwargs key can be shown bare before "=": visible characters
// only, and no "=" or quote that would make the pair ambiguous.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == '=' || r == '"' {
			return false
		}
	}
	return true
}

func jsonString(s string) (string, error) {
	b, err := wamp.MarshalJSON(s, wamp.NestPayload)
	if err != nil {
		return "", fmt.Errorf("cannot print the payload: %w", err)
	}
	return string(b), nil
}

// errRawShape is raw's refusal of an event that is not one argument.
var errRawShape = errors.New("--format raw prints events of exactly one argument and no kwargs")

// appendRaw appends the event's one argument as it is: a string's text, a binary value's
// bytes, any other value's JSON; nothing is added after it. A binary value is not written
// to a terminal (it could change the terminal's state), as age refuses to.
func (p *eventPrinter) appendRaw(b []byte, ev *wamp.EventInfo) ([]byte, error) {
	if len(ev.Args) != 1 || len(ev.Kwargs) > 0 {
		return b, fmt.Errorf("%w; it has %s and %s (--format json shows it)", errRawShape, plural(len(ev.Args), "argument"), plural(len(ev.Kwargs), "kwarg"))
	}
	switch v := ev.Args[0].(type) {
	case string:
		return append(b, v...), nil
	case []byte:
		if p.stdoutTTY {
			return b, fmt.Errorf("--format raw does not write a binary value (%s) to a terminal; redirect standard output to a file", plural(len(v), "byte"))
		}
		return append(b, v...), nil
	}
	b, err := wamp.AppendJSON(b, ev.Args[0], wamp.NestPayload)
	if err != nil {
		return b, fmt.Errorf("cannot print the payload: %w", err)
	}
	return b, nil
}

// appendTemplate executes the template for ev, and a newline.
func (p *eventPrinter) appendTemplate(b []byte, ev *wamp.EventInfo, sub topicSpec) ([]byte, error) {
	d := eventData{
		Topic: ev.Topic, Subscription: sub.uri, Match: sub.match, Publication: uint64(ev.Publication),
		Sealed: ev.Sealed, Args: argsOrEmpty(ev.Args), Kwargs: kwargsOrEmpty(ev.Kwargs), Details: ev.Details,
		Key: ev.Opened, Time: eventTime{p.now()},
	}
	if d.Details == nil {
		d.Details = map[string]any{}
	}
	buf := bytes.NewBuffer(b)
	if err := p.format.tmpl.Execute(buf, d); err != nil {
		return b, err
	}
	return append(buf.Bytes(), '\n'), nil
}

// plural writes a count and a noun: "1 argument", "2 arguments".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
