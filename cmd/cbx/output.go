package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// writeJSONLine writes v as one line of standard JSON, for output that holds no payload
// values (keys ls --json, keys show --json): encoding/json, without HTML escaping.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// marshalOutput writes a value for stdout in the dialect's JSON: what was sealed is what is
// printed, binary values as "\u0000"+base64 (lossless, and the form cbx reads back as an
// argument). v is a scalar or a list or dict of application values (args, kwargs,
// details).
func marshalOutput(v any) ([]byte, error) {
	b, err := wamp.MarshalJSON(v, wamp.NestPayload)
	if err != nil {
		return nil, fmt.Errorf("cannot print the payload: %w", err)
	}
	return b, nil
}

// field is one key of an output object; objectLine keeps the keys in the order given,
// so output lines read the same every time.
type field struct {
	key   string
	value any
}

// objectLine writes a JSON object as one line in the dialect.
func objectLine(fields ...field) ([]byte, error) {
	b := []byte{'{'}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := marshalOutput(f.key)
		if err != nil {
			return nil, err
		}
		v, err := marshalOutput(f.value)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}', '\n'), nil
}

// withKey adds the "key" field, what opened a sealed payload (e2e.Opened: the keystore
// entry and the fingerprints of its public keys), to an output line; a payload that was
// not sealed has none.
func withKey(fields []field, opened map[string]any) []field {
	if opened == nil {
		return fields
	}
	return append(fields, field{"key", opened})
}

// argsOrEmpty and kwargsOrEmpty print absent arguments as [] and {}, so consumers such as
// jq need no null checks.
func argsOrEmpty(a []any) []any {
	if a == nil {
		return []any{}
	}
	return a
}

func kwargsOrEmpty(k map[string]any) map[string]any {
	if k == nil {
		return map[string]any{}
	}
	return k
}

// appendEventLine appends subscribe's line for ev to b: the object
// {"topic","publication","sealed","args","kwargs"} (and "details" and "key" with --details),
// byte for byte what objectLine writes for those fields, but appended in place, once
// per event, without building the fields. On error b is returned as it was.
func appendEventLine(b []byte, ev *wamp.EventInfo, details bool) ([]byte, error) {
	start := len(b)
	b = append(b, `{"topic":`...)
	b, err := wamp.AppendJSONText(b, ev.Topic)
	if err != nil {
		return b[:start], fmt.Errorf("cannot print the payload: %w", err)
	}
	b = append(b, `,"publication":`...)
	b = strconv.AppendUint(b, uint64(ev.Publication), 10)
	b = append(b, `,"sealed":`...)
	b = strconv.AppendBool(b, ev.Sealed)
	// The typed writers, and [] and {} for absent arguments (argsOrEmpty, kwargsOrEmpty):
	// no value boxed or made per event.
	b = append(b, `,"args":`...)
	if ev.ArgsJSON != nil {
		b = append(b, ev.ArgsJSON...) // canonical: what AppendJSONList writes for its values
	} else if ev.Args == nil {
		b = append(b, "[]"...)
	} else if b, err = wamp.AppendJSONList(b, ev.Args, wamp.NestPayload); err != nil {
		return b[:start], fmt.Errorf("cannot print the payload: %w", err)
	}
	b = append(b, `,"kwargs":`...)
	if ev.Kwargs == nil {
		b = append(b, "{}"...)
	} else if b, err = wamp.AppendJSONDict(b, ev.Kwargs, wamp.NestPayload); err != nil {
		return b[:start], fmt.Errorf("cannot print the payload: %w", err)
	}
	if details {
		b = append(b, `,"details":`...)
		if b, err = wamp.AppendJSON(b, ev.Details, wamp.NestPayload); err != nil {
			return b[:start], fmt.Errorf("cannot print the payload: %w", err)
		}
		if ev.Opened != nil { // as withKey
			b = append(b, `,"key":`...)
			if b, err = wamp.AppendJSON(b, ev.Opened, wamp.NestPayload); err != nil {
				return b[:start], fmt.Errorf("cannot print the payload: %w", err)
			}
		}
	}
	return append(b, '}', '\n'), nil
}

// lineBuffer gathers output lines and writes them together: one write(2) for all the
// events that arrived together instead of one per event, since a subscriber that keeps
// up with a fast publisher would otherwise spend more on writing than on the events.
// Its user flushes whenever no further event is waiting (wamp.EventInfo.More), so a line
// is never held back while the session is idle: a script reading the lines gets each
// one as soon as nothing follows it. It is safe for concurrent use (a handler adds
// lines while the command's goroutine may flush at the end).
type lineBuffer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// lineBufferSize is how much lineBuffer gathers before it writes while events keep
// coming: a pipe's capacity on Linux.
const lineBufferSize = 64 << 10

// add appends what appendLine appends; a line it refuses leaves the buffer as it was. It
// writes the buffer out when it is full.
func (l *lineBuffer) add(appendLine func([]byte) ([]byte, error)) (lineErr, writeErr error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf, lineErr = appendLine(l.buf); lineErr != nil {
		return lineErr, nil
	}
	if len(l.buf) >= lineBufferSize {
		return nil, l.flushLocked()
	}
	return nil, nil
}

// flush writes out what is buffered.
func (l *lineBuffer) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

func (l *lineBuffer) flushLocked() error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	if cap(l.buf) > 4*lineBufferSize {
		l.buf = nil // a huge event passed: do not keep its memory
	} else {
		l.buf = l.buf[:0]
	}
	return err
}
