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

// nameLiterals reports every string literal in a Go source (import paths aside) that
// spells a name of names, or looks like one (nameLike).
func nameLiterals(file string, src []byte, names map[string]string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, 0)
	if err != nil {
		return nil, err
	}
	imports := map[*ast.BasicLit]bool{}
	for _, imp := range f.Imports {
		imports[imp.Path] = true
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING || imports[lit] {
			return true
		}
		val, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		if c, ok := names[val]; ok {
			found = append(found, fset.Position(lit.Pos()).String()+": "+lit.Value+" spells wamp."+c)
		} else if nameLike.MatchString(val) {
			found = append(found, fset.Position(lit.Pos()).String()+": "+lit.Value+" holds a WAMP name that names.go should define")
		}
		return true
	})
	return found, nil
}

// TestNamesHaveOneHome holds the rule of names.go: outside it, the code of internal/wamp
// and internal/router spells no WAMP name as a string literal, but uses the constant.
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
	}, "\n")
	found, err := nameLiterals("fake.go", []byte(fake), names)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 5 {
		t.Errorf("nameLiterals found %d of the 5 literals in the made-up source: %q", len(found), found)
	}

	// The repository: every non-test Go file of internal/wamp and internal/router.
	var files []string
	for _, dir := range []string{".", filepath.Join("..", "router")} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") && f != "names.go" {
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	if len(files) < 20 {
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
