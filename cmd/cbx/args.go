package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

// Values on the command line, on --stdin lines, in --exec output and in output lines all
// use internal/wamp's value dialect (its package comment), the same rules as the sealed
// plaintext and the session serializers: a value is carried exactly or refused, never
// rounded or replaced.

// parseValue reads one value given as text (an argument, a -k VALUE, --exec output): JSON
// where the whole text is JSON (so 42 is a number, true a boolean, '{"a":1}' an object),
// otherwise the text itself as a string. Inside JSON, a string "\u0000" + base64 is a
// binary value, the WAMP JSON convention (spec advanced/serialization_binary_json.md).
// JSON holding a value outside the dialect (an integer beyond 64 bits, 1e400, invalid
// UTF-8, nesting deeper than wamp.MaxDepth) is an error, a *wamp.ValueError, and so is
// text that is not UTF-8: sending it as a string would alter it.
func parseValue(s string) (any, error) {
	v, err := wamp.UnmarshalJSON([]byte(s), wamp.NestValue)
	var se *wamp.SyntaxError
	if errors.As(err, &se) {
		if err := wamp.CheckText(s); err != nil {
			return nil, err
		}
		return s, nil
	}
	return v, err
}

// quoteArg quotes a command-line value for an error message, shortened when long.
func quoteArg(s string) string {
	if r := []rune(s); len(r) > 40 {
		return fmt.Sprintf("%q", string(r[:20])+"…")
	}
	return fmt.Sprintf("%q", s)
}

// valueOptions are the flags of the commands that take ARGs and -k values (publish,
// call, seal): --file and --strict.
type valueOptions struct {
	files  []string // --file FILE: one more ARG, FILE's content (as @FILE)
	strict bool     // --strict: every value must be JSON
}

func addValueFlags(cmd *cobra.Command, o *valueOptions) {
	cmd.Flags().StringArrayVar(&o.files, "file", nil, "one more ARG after the others: `FILE`'s content, as @FILE (- for standard input; repeatable)")
	cmd.Flags().BoolVar(&o.strict, "strict", false, "every ARG and -k VALUE must be JSON: no text taken as a string (env CBX_STRICT)")
}

// valuesHelp is what publish's, call's and seal's help say about ARGs and VALUEs.
const valuesHelp = `ARGs and -k VALUEs are JSON where they are valid JSON, else strings (42 is a number,
hello a string, '"42"' the string 42); put -- before ARGs that start with a dash.
--strict (CBX_STRICT) refuses any that is not JSON (exit 2), so '{"id":17' cannot become
a string by mistake; without it, on a terminal, cbx warns when a value that starts with
{ or [ is not JSON.

@FILE as an ARG or a VALUE (-k KEY=@FILE) is FILE's content, bytes kept exactly, without
argv's size limit (up to 64 MiB): JSON when the whole content is JSON, else the text as a
string (its final newline included), else (bytes that are not UTF-8 text, or text
starting with U+0000) the bytes as one binary value. @- reads standard input (once).
--file FILE adds such an argument after the others. A value that starts with @ as text
is written @@ (@@home is the string @home), or as a JSON string ('"@home"').`

// valueReader reads ARGs, --file arguments and -k values into payload values, in
// internal/wamp's value dialect (the package comment of args.go).
type valueReader struct {
	strict   bool
	in       io.Reader                     // standard input, for @-
	warn     func(format string, a ...any) // warns about values that look like broken JSON; nil: silent
	stdinFor string                        // the value that read standard input, once one has
}

// valueReader makes the reader for a command's values: --strict, else CBX_STRICT; the
// broken-JSON warning only where a person reads stderr.
func (f *factory) valueReader(cmd *cobra.Command, o *valueOptions) (*valueReader, error) {
	strict := o.strict
	if !cmd.Flags().Changed("strict") {
		var err error
		if strict, err = envBool(f.getenv, "CBX_STRICT"); err != nil {
			return nil, err
		}
	}
	r := &valueReader{strict: strict, in: f.io.In}
	if !strict && f.io.stderrTTY {
		r.warn = f.ui.warnf
	}
	return r, nil
}

// maxArgFile bounds what @FILE, @- and --file read: more than any router takes in one
// message, and a bound on a mistaken @/dev/zero.
const maxArgFile = 64 << 20

// atHint says how @ works, after an error about an @ value.
const atHint = "a value starting with @ names a file (@FILE, @- for standard input); write @@ for text starting with @ (@@home is the string @home)"

// payload builds a payload from positional ARGs, --file FILEs (after the ARGs) and -k
// KEY=VALUE pairs.
func (r *valueReader) payload(args, kv []string, o *valueOptions) ([]any, map[string]any, error) {
	list := make([]any, 0, len(args)+len(o.files))
	for _, a := range args {
		v, err := r.value(a, "argument "+quoteArg(a))
		if err != nil {
			return nil, nil, err
		}
		list = append(list, v)
	}
	for _, p := range o.files {
		what := "--file " + quoteArg(p)
		if p == "" {
			return nil, nil, &usageError{fmt.Errorf(`--file "": give a file name, or - for standard input`)}
		}
		v, err := r.file(p, what)
		if err != nil {
			return nil, nil, err
		}
		list = append(list, v)
	}
	dict := make(map[string]any, len(kv))
	for _, p := range kv {
		k, val, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg %s: want KEY=VALUE", quoteArg(p))}
		}
		if err := wamp.CheckText(k); err != nil {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg key %s: %w", quoteArg(k), err)}
		}
		if _, dup := dict[k]; dup {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg: key %q given twice", k)}
		}
		v, err := r.value(val, fmt.Sprintf("-k/--kwarg %q", k))
		if err != nil {
			return nil, nil, err
		}
		dict[k] = v
	}
	return list, dict, nil
}

// value reads one ARG or -k VALUE, s, named what in messages: @FILE, @-, @@text, or text.
func (r *valueReader) value(s, what string) (any, error) {
	switch {
	case strings.HasPrefix(s, "@@"):
		s = s[1:] // text that starts with @
	case s == "@":
		return nil, withCode(exitUsage, fmt.Errorf("%s: give a file name after @", what), atHint)
	case strings.HasPrefix(s, "@"):
		return r.file(s[1:], what)
	}
	v, err := wamp.UnmarshalJSON([]byte(s), wamp.NestValue)
	var se *wamp.SyntaxError
	if !errors.As(err, &se) {
		if err != nil {
			return nil, &usageError{fmt.Errorf("%s: %w", what, err)}
		}
		return v, nil
	}
	// Not JSON: text, unless --strict.
	if r.strict {
		return nil, withCode(exitUsage, fmt.Errorf("%s: %v (--strict)", what, se),
			`write a string as JSON ('"text"'), or leave out --strict (CBX_STRICT) to take text as a string`)
	}
	if err := wamp.CheckText(s); err != nil {
		return nil, &usageError{fmt.Errorf("%s: %w", what, err)}
	}
	if r.warn != nil && (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) {
		r.warn("%s is not JSON (%s at byte %d), so it is taken as a string; --strict refuses it", what, se.Msg, se.Offset)
	}
	return s, nil
}

// file reads the value of @FILE, @- or --file FILE ("-": standard input, once).
func (r *valueReader) file(name, what string) (any, error) {
	var data []byte
	var err error
	if name == "-" {
		if r.stdinFor != "" {
			return nil, &usageError{fmt.Errorf("%s: standard input was read already, for %s", what, r.stdinFor)}
		}
		r.stdinFor = what
		data, err = io.ReadAll(io.LimitReader(r.in, maxArgFile+1))
		if err != nil {
			return nil, &usageError{fmt.Errorf("%s: reading standard input: %w", what, err)}
		}
	} else {
		data, err = readArgFile(name)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("%s: %w", what, err), atHint)
		}
	}
	if len(data) > maxArgFile {
		return nil, &usageError{fmt.Errorf("%s: larger than 64 MiB", what)}
	}
	v, err := fileValue(data, r.strict)
	if err != nil {
		return nil, &usageError{fmt.Errorf("%s: %w", what, err)}
	}
	return v, nil
}

// readArgFile reads a file named by @FILE or --file, up to one byte beyond maxArgFile.
func readArgFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxArgFile+1))
	if err != nil {
		return nil, unwrapPathError(err)
	}
	return data, nil
}

// fileValue is the value of a file's content (curl's and grpcurl's @FILE), bytes kept
// exactly: JSON when the whole content is JSON, else the text as a string (its final
// newline included: nothing is trimmed), else the bytes as one binary value. Bytes that
// are not UTF-8 are binary, whatever they look like (JSON is UTF-8, RFC 8259 §8.1), and
// so is text that starts with U+0000, which as a string would read as WAMP's binary
// marker. JSON holding a value outside the dialect is refused, as in an ARG. With strict,
// anything but JSON is refused.
func fileValue(data []byte, strict bool) (any, error) {
	if !utf8.Valid(data) {
		if strict {
			return nil, errors.New("not JSON (--strict): the content is not UTF-8 text")
		}
		return append([]byte{}, data...), nil
	}
	v, err := wamp.UnmarshalJSON(data, wamp.NestValue)
	var se *wamp.SyntaxError
	if !errors.As(err, &se) {
		return v, err
	}
	if strict {
		return nil, fmt.Errorf("%v (--strict)", se)
	}
	if s := string(data); wamp.CheckText(s) == nil {
		return s, nil
	}
	return append([]byte{}, data...), nil
}

// valueHints explains how to send what the dialect refused on the command line.
func valueHints(err error) []string {
	switch {
	case errors.Is(err, wamp.ErrIntegerRange):
		return []string{`quote it to send a string ('"1180591620717411303424"'); cbx never rounds an integer to a float`}
	case errors.Is(err, wamp.ErrInvalidUTF8), errors.Is(err, wamp.ErrBinaryText):
		return []string{`binary data goes as the JSON string "\u0000" followed by standard padded base64, e.g. '"\u0000AAH+/w=="'`}
	}
	return nil
}

// uriRuleHint says what a WAMP URI looks like (the spec's loose rule, wamp.CheckURI).
const uriRuleHint = `a URI is dot-separated components, none empty, without whitespace or "#" (e.g. com.example.orders)`

// checkURIArg refuses, before anything is sent, a URI the router would refuse (or, for an
// unacknowledged PUBLISH, drop without a word), as a usage error that names the argument
// as the usage line does (TOPIC, PROC, --error-uri). match is the --match policy of a
// subscription or registration, "" where there is none; withMatch says the command has
// --match, so the hint may point at the policy that allows the URI.
func checkURIArg(name, uri, match string, withMatch bool) error {
	return checkURIArgAs(name, uri, uri, match, withMatch)
}

// checkURIArgAs is checkURIArg for a URI given inside an argument, arg, which the error
// names as typed (subscribe's "prefix:com.example.").
func checkURIArgAs(name, arg, uri, match string, withMatch bool) error {
	err := wamp.CheckURI(uri, match)
	if err == nil {
		return nil
	}
	hints := []string{uriRuleHint}
	if withMatch && (match == "" || match == wamp.MatchExact) {
		switch {
		case uri != "" && wamp.CheckURI(uri, wamp.MatchPrefix) == nil:
			hints = append(hints, fmt.Sprintf("--match prefix allows an empty last component: %q then covers every URI that starts with it", uri))
		case wamp.CheckURI(uri, wamp.MatchWildcard) == nil:
			hints = append(hints, "--match wildcard allows empty components, as in com..orders")
		}
	}
	return withCode(exitUsage, fmt.Errorf("%s %q: %w", name, arg, err), hints...)
}
