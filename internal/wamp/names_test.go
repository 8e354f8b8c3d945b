package wamp

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// nameLike matches text that is, or holds, a WAMP name of the kinds names.go defines even
// when names.go lacks it: an error or close URI, an enc_* or ppt_* key.
var nameLike = regexp.MustCompile(`wamp\.(error|close)\.|(^|[^a-z0-9_])(enc|ppt)_[a-z]`)

// namesIn returns the string constants a Go source declares, by value; a value declared
// twice is an error, since one name would then have two spellings.
func namesIn(file string, src []byte) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, src, 0)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				val, err := strconv.Unquote(lit.Value)
				if err != nil {
					return nil, err
				}
				if other, dup := names[val]; dup {
					return nil, fmt.Errorf("%s: %s and %s both spell %q", file, other, vs.Names[i].Name, val)
				}
				names[val] = vs.Names[i].Name
			}
		}
	}
	return names, nil
}

// nameMention finds the names a text mentions: error and close URIs, and enc_* and
// ppt_* keys (the second group).
var nameMention = regexp.MustCompile(`wamp\.(?:error|close)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*|(?:^|[^a-z0-9_])((?:enc|ppt)_[a-z0-9_]+)`)

// flagMethods are the methods of pflag's FlagSet (and cobra's commands) whose first
// string argument names a command-line flag. A flag's name is the command line's
// vocabulary, not WAMP's, even where it is spelled alike (--timeout, --match, --json).
var flagMethods = regexp.MustCompile(`^(Bool|String|Int|Int64|Duration|StringArray)P?$|VarP?$|^(Lookup|Changed|MarkHidden|MarkDeprecated)$`)

// outputFields are cmd/cbx's types for the keys of its JSON output lines ({"topic",
// "procedure", "progress", …}) and of cbx bench's results ({"mode", …}), which are cbx's
// own formats, not WAMP's.
var outputFields = map[string]bool{"field": true, "benchField": true}

func isOutputField(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && outputFields[id.Name]
}

// wordFuncs are cmd/cbx's functions whose string arguments are English words for
// people ("1 caller", "3 subscribers"), not names.
var wordFuncs = map[string]bool{"countOf": true, "plural": true}

// notNames returns the string literals of f that are not WAMP names whatever they spell:
// flag names and the keys of output lines.
func notNames(f *ast.File) map[*ast.BasicLit]bool {
	skip := map[*ast.BasicLit]bool{}
	first := func(exprs []ast.Expr) {
		for _, e := range exprs {
			if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				skip[lit] = true
				return
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && flagMethods.MatchString(sel.Sel.Name) {
				first(x.Args)
			}
			if id, ok := x.Fun.(*ast.Ident); ok && wordFuncs[id.Name] {
				for _, a := range x.Args {
					if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						skip[lit] = true
					}
				}
			}
		case *ast.ValueSpec:
			// const formatJSON = "json": the names of --format's output formats.
			if len(x.Names) == 1 && strings.HasPrefix(x.Names[0].Name, "format") {
				first(x.Values)
			}
		case *ast.CompositeLit:
			// template.FuncMap{"json": …}: a template function's name.
			if sel, ok := x.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "FuncMap" {
				for _, e := range x.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						first([]ast.Expr{kv.Key})
					}
				}
			}
			if isOutputField(x.Type) {
				first(x.Elts)
			}
			if at, ok := x.Type.(*ast.ArrayType); ok && isOutputField(at.Elt) {
				// []field{{"topic", …}, …}: the elements' type is elided.
				for _, e := range x.Elts {
					if el, ok := e.(*ast.CompositeLit); ok && el.Type == nil {
						first(el.Elts)
					}
				}
			}
		}
		return true
	})
	return skip
}

// nameLiterals reports every string literal in a Go source (import paths aside) that
// spells a name of names (it must use the constant), and every text that mentions a
// name-like word (nameLike) that names does not define: a text for people (help, a
// message) may name a URI or key in words, but only one that exists.
func nameLiterals(file string, src []byte, names map[string]string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, 0)
	if err != nil {
		return nil, err
	}
	skip := notNames(f)
	for _, imp := range f.Imports {
		skip[imp.Path] = true
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING || skip[lit] {
			return true
		}
		val, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		where := fset.Position(lit.Pos()).String() + ": "
		if c, ok := names[val]; ok {
			found = append(found, where+lit.Value+" spells wamp."+c)
			return true
		}
		if !nameLike.MatchString(val) {
			return true
		}
		for _, m := range nameMention.FindAllStringSubmatch(val, -1) {
			name := m[0]
			if m[1] != "" {
				name = m[1]
			}
			if _, ok := names[name]; !ok {
				found = append(found, where+strconv.Quote(name)+" is a WAMP name that names.go should define")
			}
		}
		return true
	})
	return found, nil
}

// ownVocabulary are cmd/cbx's files about a format of cbx's own whose words are its
// flag names without the dashes ("ticket", "authid", "anonymous"): the contexts file and
// `cbx context show`. They are not WAMP's names, though some are spelled alike.
var ownVocabulary = map[string]bool{"context.go": true, "context_file.go": true}

// TestNamesHaveOneHome holds the rule of names.go: outside it, the code of internal/wamp,
// internal/router, internal/e2e and cmd/cbx spells no WAMP name as a string literal, but
// uses the constant; and a text that mentions a name mentions one names.go defines.
func TestNamesHaveOneHome(t *testing.T) {
	src, err := os.ReadFile("names.go")
	if err != nil {
		t.Fatal(err)
	}
	names, err := namesIn("names.go", src)
	if err != nil {
		t.Fatal(err)
	}
	// The checkers themselves, on made-up sources: they must find what is wrong, or the
	// check of the repository below proves nothing.
	if _, err := namesIn("dup.go", []byte("package x\nconst (\n\tA = \"match\"\n\tB = \"match\"\n)\n")); err == nil {
		t.Error("namesIn: a value declared twice went unnoticed")
	}
	fake := strings.Join([]string{
		`package x`,
		`import "fmt"`,
		`var a = Dict{"match": "prefix"}`, // two names
		`var b = "wamp.error.whatever"`,   // a URI names.go lacks
		`var c = fmt.Sprintf("x gets ERROR wamp.close.y")`,  // a URI inside a text
		`var d = m["ppt_other"]`,                            // a ppt_* key names.go lacks
		`var e = "the match policy of the encrypted topic"`, // words, not names
		`var f = wamp.OptMatch`,
		`var g = "a caller gets wamp.error.canceled, with enc_algo unset"`,                  // names that exist, in words
		`var h = "a caller gets wamp.error.cancelled"`,                                      // a typo
		`func i() { fl.StringVar(&o.match, "match", "exact", "see enc_algo") }`,             // a flag, its default
		`func j() { _ = cmd.Flags().Changed("timeout"); _ = field{"topic", 1} }`,            // a flag, an output key
		`var k = []field{{"procedure", 1}, {"progress", true}}`,                             // output keys
		`var l = []benchField{{"mode", "sealed"}}; var m = countOf(2, "caller", "callers")`, // bench keys, words
		`var n = plainFunc("caller")`,                                                       // a name outside those places
	}, "\n")
	found, err := nameLiterals("fake.go", []byte(fake), names)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 8 || !strings.Contains(strings.Join(found, "\n"), `"exact" spells wamp.MatchExact`) ||
		!strings.Contains(strings.Join(found, "\n"), `"caller" spells wamp.RoleCaller`) {
		t.Errorf("nameLiterals found %d of the 8 literals in the made-up source: %q", len(found), found)
	}

	// The repository: every non-test Go file of the packages that put WAMP names in
	// messages or read them: the session, the router, the end-to-end codec and the CLI.
	var files []string
	for _, dir := range []string{".", filepath.Join("..", "router"), filepath.Join("..", "e2e"), filepath.Join("..", "..", "cmd", "cbx")} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") && f != "names.go" && !ownVocabulary[filepath.Base(f)] {
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	if len(files) < 60 {
		t.Fatalf("found only %d source files: %q", len(files), files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found, err := nameLiterals(f, b, names)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range found {
			t.Error(p)
		}
	}
}
