package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// The contexts file: connection settings people name once (`cbx context add prod …`) and
// then choose with --context, CBX_CONTEXT or `cbx context use`, as natscli's and kubectl's
// contexts do. It lives at $XDG_CONFIG_HOME/cbx/contexts, mode 0600 in a 0700 directory,
// written like the keystore (locked, atomic) and refused like a key file when group or
// others can access it: it chooses the router, the keystore and where secrets come from,
// so whoever could change it could redirect all three.
//
// It never holds a secret, only a secret's source: an absolute file path or env:NAME.
// Standard input ("-") is refused, since a context outlives the one command that could
// read it; so is anything else, which could be a secret typed where its source belongs.
//
// Format (UTF-8 text; values are double-quoted Go strings; "#" starts a comment line):
//
//	cbx-contexts v1
//
//	current "prod"
//
//	context "prod"
//	url "wss://router.example.com/ws"
//	realm "realm1"
//	serializer "msgpack"
//	keystore "/home/me/.config/cbx/prod.ks"
//	authid "alice"
//	ticket "env:PROD_TICKET"
//	ca "/etc/ssl/prod-ca.pem"
//
//	end
//
// Every field is optional; an absent one is not set by the context. As in the keystore,
// the "end" line is required, so a file cut short is refused rather than read as fewer
// contexts and then saved over.

const contextsHeader = "cbx-contexts v"

// contextsVersion is the version this cbx reads and writes.
const contextsVersion = 1

// cbxContext is one named context. Empty fields are not set.
type cbxContext struct {
	name       string
	url        string
	realm      string
	serializer string
	keystore   string // absolute path
	authID     string
	authRole   string
	ticket     string // secret sources: absolute path or env:NAME
	wampcra    string
	cryptosign string
	ca         string // absolute path
}

// contextField is one field of a context: its name in the file, which is also the name
// of the connection flag it stands for, and where its value lives.
type contextField struct {
	name  string
	value func(c *cbxContext) *string
}

// contextFields lists the fields in the order they are written.
var contextFields = []contextField{
	{"url", func(c *cbxContext) *string { return &c.url }},
	{"realm", func(c *cbxContext) *string { return &c.realm }},
	{"serializer", func(c *cbxContext) *string { return &c.serializer }},
	{"keystore", func(c *cbxContext) *string { return &c.keystore }},
	{"authid", func(c *cbxContext) *string { return &c.authID }},
	{"authrole", func(c *cbxContext) *string { return &c.authRole }},
	{"ticket", func(c *cbxContext) *string { return &c.ticket }},
	{"wampcra-secret", func(c *cbxContext) *string { return &c.wampcra }},
	{"cryptosign-key", func(c *cbxContext) *string { return &c.cryptosign }},
	{"ca", func(c *cbxContext) *string { return &c.ca }},
}

// secretFields are the fields whose value is a secret's source.
var secretFields = []string{"ticket", "wampcra-secret", "cryptosign-key"}

func lookupContextField(name string) (contextField, bool) {
	for _, f := range contextFields {
		if f.name == name {
			return f, true
		}
	}
	return contextField{}, false
}

// get returns the value of the field called name.
func (c *cbxContext) get(name string) string {
	if f, ok := lookupContextField(name); ok {
		return *f.value(c)
	}
	return ""
}

// contextNameRe is what a context may be called: short, no spaces, nothing a shell or a
// flag parser treats specially at its start. It is compiled on first use, not at start-up:
// its {0,63} makes a large program, about 0.1 ms of every cbx run otherwise.
var contextNameRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
})

func checkContextName(name string) error {
	if !contextNameRe().MatchString(name) {
		return errors.New("a context name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return nil
}

// envNameRe is a portable environment variable name (POSIX: letters, digits, underscore),
// compiled on first use.
var envNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// checkSecretSource checks a secret source as a context stores it. Its errors never
// repeat the value: it may be the secret itself, typed where its source belongs.
func checkSecretSource(src string) error {
	switch {
	case src == "-":
		return errors.New(`standard input ("-") can't be stored: a context is used by many commands, and standard input can be read once`)
	case strings.HasPrefix(src, "env:"):
		if !envNameRe().MatchString(strings.TrimPrefix(src, "env:")) {
			return fmt.Errorf("env:NAME needs a variable name of letters, digits and '_' %s", notShown)
		}
		return nil
	case !filepath.IsAbs(src):
		return fmt.Errorf("want an absolute file path or env:NAME %s", notShown)
	}
	return checkPath(src)
}

// checkPath checks a file path a context stores: absolute and printable.
func checkPath(p string) error {
	if !filepath.IsAbs(p) {
		return errors.New("want an absolute file path")
	}
	if filepath.Clean(p) != p {
		return errors.New("want a clean file path (no \"..\", \"//\" or trailing \"/\")")
	}
	return nil
}

// checkURL is resolve's rule for --url.
func checkURL(s string) error {
	if u, err := url.Parse(s); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return errors.New("want a ws:// or wss:// URL")
	}
	return nil
}

// checkValue checks one field's value. A value is printable UTF-8: no control characters,
// which would make the file, `cbx context ls` or an error message lie about it.
func checkValue(name, v string) error {
	if v == "" {
		return errors.New("empty value (leave the field out instead)")
	}
	secret := slices.Contains(secretFields, name)
	if !utf8.ValidString(v) || strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0 {
		if secret {
			return fmt.Errorf("not printable UTF-8 %s", notShown)
		}
		return errors.New("not printable UTF-8")
	}
	switch name {
	case "url":
		return checkURL(v)
	case "realm":
		return wamp.CheckURI(v, "")
	case "serializer":
		if _, err := wamp.SerializerByName(v); err != nil {
			return errors.New("want json, msgpack or cbor")
		}
	case "keystore", "ca":
		return checkPath(v)
	case "ticket", "wampcra-secret", "cryptosign-key":
		return checkSecretSource(v)
	}
	return nil
}

// validate checks a whole context: each value, and that the authentication it sets up is
// one method, with the authid that ticket and WAMP-CRA need (as resolve requires).
func (c *cbxContext) validate() error {
	if err := checkContextName(c.name); err != nil {
		return fmt.Errorf("context name %q: %w", c.name, err)
	}
	for _, f := range contextFields {
		if v := *f.value(c); v != "" {
			if err := checkValue(f.name, v); err != nil {
				if slices.Contains(secretFields, f.name) {
					return fmt.Errorf("%s: %w", f.name, err)
				}
				return fmt.Errorf("%s %q: %w", f.name, v, err)
			}
		}
	}
	var methods []string
	for _, name := range secretFields {
		if c.get(name) != "" {
			methods = append(methods, name)
		}
	}
	if len(methods) > 1 {
		return fmt.Errorf("%s can't be combined: choose one authentication method", strings.Join(methods, " and "))
	}
	if (c.ticket != "" || c.wampcra != "") && c.authID == "" {
		return fmt.Errorf("%s needs authid", methods[0])
	}
	return nil
}

// contextFile is the parsed contexts file.
type contextFile struct {
	current  string // the context `cbx context use` chose; "" for none
	contexts map[string]*cbxContext
}

func newContextFile() *contextFile { return &contextFile{contexts: map[string]*cbxContext{}} }

// names returns the contexts' names, sorted.
func (cf *contextFile) names() []string {
	var out []string
	for n := range cf.contexts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// contextSyntaxError is a malformed contexts file, with the line it was found on.
type contextSyntaxError struct {
	line int // 0: the file as a whole
	msg  string
}

func (e *contextSyntaxError) Error() string {
	if e.line == 0 {
		return e.msg
	}
	return fmt.Sprintf("line %d: %s", e.line, e.msg)
}

// parseContexts reads the format at the top of this file. It accepts exactly what
// marshal writes, comments and blank lines aside, and every context it returns passed
// validate.
func parseContexts(data []byte) (*contextFile, error) {
	cf := newContextFile()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	lineNo, currentLine := 0, 0
	sawHeader, sawEnd := false, false
	var cur *cbxContext
	var curLine int
	set := map[string]bool{} // the fields of cur seen so far
	finish := func() error {
		if cur == nil {
			return nil
		}
		if err := cur.validate(); err != nil {
			return &contextSyntaxError{curLine, fmt.Sprintf("context %q: %v", cur.name, err)}
		}
		cf.contexts[cur.name] = cur
		cur = nil
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if sawEnd {
			return nil, &contextSyntaxError{lineNo, `content after the "end" line`}
		}
		if !sawHeader {
			v, ok := strings.CutPrefix(line, contextsHeader)
			if !ok {
				return nil, &contextSyntaxError{lineNo, fmt.Sprintf("not a cbx contexts file (the first line must be %q)", contextsHeader+"1")}
			}
			// Only the canonical spelling (as the keystore reads it): "v01" or "v+1"
			// is a file this cbx did not write.
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || strconv.Itoa(n) != v {
				return nil, &contextSyntaxError{lineNo, fmt.Sprintf("bad format version %q", v)}
			}
			if n != contextsVersion {
				return nil, &contextSyntaxError{lineNo, fmt.Sprintf("format version %d is not known to this cbx (it reads version %d)", n, contextsVersion)}
			}
			sawHeader = true
			continue
		}
		if line == "end" {
			if err := finish(); err != nil {
				return nil, err
			}
			sawEnd = true
			continue
		}
		name, raw, _ := strings.Cut(line, " ")
		raw = strings.TrimSpace(raw)
		if _, known := lookupContextField(name); !known && name != "current" && name != "context" {
			return nil, &contextSyntaxError{lineNo, fmt.Sprintf("unknown field %s", fieldName(name))}
		}
		value, err := strconv.Unquote(raw)
		if err != nil || !strings.HasPrefix(raw, `"`) {
			return nil, &contextSyntaxError{lineNo, fmt.Sprintf("%s: the value must be a double-quoted string", name)}
		}
		switch name {
		case "current":
			if currentLine != 0 {
				return nil, &contextSyntaxError{lineNo, "current appears twice"}
			}
			if cur != nil {
				return nil, &contextSyntaxError{lineNo, "current must come before the first context"}
			}
			if err := checkContextName(value); err != nil {
				return nil, &contextSyntaxError{lineNo, fmt.Sprintf("current %q: %v", value, err)}
			}
			cf.current, currentLine = value, lineNo
		case "context":
			if err := finish(); err != nil {
				return nil, err
			}
			if err := checkContextName(value); err != nil {
				return nil, &contextSyntaxError{lineNo, fmt.Sprintf("context %q: %v", value, err)}
			}
			if _, dup := cf.contexts[value]; dup {
				return nil, &contextSyntaxError{lineNo, fmt.Sprintf("context %q appears twice", value)}
			}
			cur, curLine = &cbxContext{name: value}, lineNo
			clear(set)
		default:
			f, _ := lookupContextField(name)
			if cur == nil {
				return nil, &contextSyntaxError{lineNo, fmt.Sprintf("%s before the first context line", name)}
			}
			if set[name] {
				return nil, &contextSyntaxError{lineNo, fmt.Sprintf("context %q: %s given twice", cur.name, name)}
			}
			set[name] = true
			if value == "" {
				return nil, &contextSyntaxError{lineNo, fmt.Sprintf("context %q: %s: empty value (leave the field out instead)", cur.name, name)}
			}
			*f.value(cur) = value
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &contextSyntaxError{lineNo, err.Error()}
	}
	if !sawHeader {
		return nil, &contextSyntaxError{0, "empty file: not a cbx contexts file"}
	}
	if !sawEnd {
		return nil, &contextSyntaxError{0, `the file has no "end" line: it was cut short or edited by hand; cbx will not read or overwrite it`}
	}
	if cf.current != "" && cf.contexts[cf.current] == nil {
		return nil, &contextSyntaxError{currentLine, fmt.Sprintf("current %q names no context in the file", cf.current)}
	}
	return cf, nil
}

// fieldName quotes the first word of a malformed line when it looks like a field name;
// anything else is not repeated (it could be a secret typed into the file).
func fieldName(name string) string {
	plausible := name != "" && len(name) <= 32
	for _, r := range name {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			plausible = false
		}
	}
	if plausible {
		return strconv.Quote(name)
	}
	return fmt.Sprintf("a line starting with %d characters that are not a field name (not shown)", len(name))
}

// marshal writes the contexts file, contexts sorted by name and fields in a fixed order.
func (cf *contextFile) marshal() []byte {
	var b bytes.Buffer
	b.WriteString("# cbx contexts: connection settings by name. Managed by `cbx context`; see `cbx context --help`.\n")
	b.WriteString("# It names where secrets come from, never a secret; keep it mode 0600.\n")
	fmt.Fprintf(&b, "%s%d\n", contextsHeader, contextsVersion)
	if cf.current != "" {
		fmt.Fprintf(&b, "\ncurrent %s\n", strconv.Quote(cf.current))
	}
	for _, n := range cf.names() {
		c := cf.contexts[n]
		fmt.Fprintf(&b, "\ncontext %s\n", strconv.Quote(c.name))
		for _, f := range contextFields {
			if v := *f.value(c); v != "" {
				fmt.Fprintf(&b, "%s %s\n", f.name, strconv.Quote(v))
			}
		}
	}
	b.WriteString("\nend\n")
	return b.Bytes()
}
