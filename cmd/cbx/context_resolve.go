package main

import (
	"errors"
	"fmt"
	"strings"
)

// Which context a command uses, and what it contributes. Precedence, for each setting:
// flags, then the environment, then the context, then the defaults. The context is the
// one --context names, else CBX_CONTEXT, else the one `cbx context use` chose, else none.
// A context that was named (any of the three ways) and does not exist is an error, never
// a silent fall back to the defaults: a typo must not send to another router or seal with
// another keystore.

// contextState is the factory's part: the --context flag and the context it selects,
// looked up once per run.
type contextState struct {
	flag    string // --context
	flagSet bool

	loaded bool
	sel    *selectedContext // nil: no context
	err    error
}

// selectedContext is the context a command runs with, and who chose it.
type selectedContext struct {
	c  *cbxContext
	by string // "--context", "CBX_CONTEXT" or "cbx context use"
}

// label names the context as a source of settings, in messages and `cbx context show`.
func (s *selectedContext) label() string { return fmt.Sprintf("context %q", s.c.name) }

// contextFlag is --context: it remembers being given, so that --context "" is refused
// rather than read as no context.
type contextFlag struct{ st *contextState }

func (v contextFlag) String() string { return v.st.flag }
func (v contextFlag) Set(s string) error {
	v.st.flag, v.st.flagSet = s, true
	return nil
}
func (v contextFlag) Type() string { return "string" }

// activeContext returns the context this run uses, or nil for none.
func (f *factory) activeContext() (*selectedContext, error) {
	st := &f.ctx
	if !st.loaded {
		st.sel, st.err = f.selectContext()
		st.loaded = true
	}
	return st.sel, st.err
}

func (f *factory) selectContext() (*selectedContext, error) {
	name, by := "", ""
	switch {
	case f.ctx.flagSet && f.ctx.flag == "":
		return nil, &usageError{errors.New(`--context "": give a context name, or leave the flag out`)}
	case f.ctx.flagSet:
		name, by = f.ctx.flag, "--context"
	case f.getenv("CBX_CONTEXT") != "":
		name, by = f.getenv("CBX_CONTEXT"), "CBX_CONTEXT"
	}
	cf, path, err := loadContexts()
	if err != nil {
		return nil, err
	}
	if name == "" {
		if cf == nil || cf.current == "" {
			return nil, nil
		}
		name, by = cf.current, "cbx context use"
	}
	if cf == nil || cf.contexts[name] == nil {
		var hints []string
		if cf == nil || len(cf.contexts) == 0 {
			hints = append(hints, fmt.Sprintf("there are no contexts yet (%q does not exist): make one with `cbx context add NAME --url …`", path))
		} else {
			hints = append(hints, "the contexts are: "+strings.Join(cf.names(), ", "))
		}
		if by == "CBX_CONTEXT" {
			hints = append(hints, "unset CBX_CONTEXT to run without a context")
		}
		return nil, withCode(exitUsage, fmt.Errorf("context %q (named by %s) does not exist", name, by), hints...)
	}
	return &selectedContext{c: cf.contexts[name], by: by}, nil
}

// contextValue is the value the selected context gives the connection setting flag
// ("--url", …), and the source to name for it; "" when it gives none.
func (o *connOptions) contextValue(flag string) (string, string) {
	if o.ctx == nil {
		return "", ""
	}
	v := o.ctx.c.get(strings.TrimPrefix(flag, "--"))
	if v == "" {
		return "", ""
	}
	return v, o.ctx.label() + " " + strings.TrimPrefix(flag, "--")
}

// contextAuth applies the context's authentication when neither flags nor the
// environment chose one: the method is one setting, so a context's ticket never meets a
// WAMP-CRA secret from the environment (resolve would refuse the pair).
func (o *connOptions) contextAuth() {
	if o.ctx == nil || o.ticket != "" || o.wampcra != "" || o.cryptosign != "" {
		return
	}
	for _, m := range []struct {
		flag string
		v    *string
	}{{"--ticket", &o.ticket}, {"--wampcra-secret", &o.wampcra}, {"--cryptosign-key", &o.cryptosign}} {
		if v, src := o.contextValue(m.flag); v != "" {
			*m.v = v
			o.from[m.flag] = src
		}
	}
}
