package testkit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The import rules of docs/architecture.md, read from its table and checked against what
// `go list` reports for every package of the module. The Go tree's own
// go/build/deps_test.go is the model: the rules are data, stated once, and the test fails
// on any edge they do not allow.

// module is the module path; rows of the table name packages relative to it.
const module = "github.com/cbx-wamp/cbx"

// architectureDoc holds the table, relative to the module root.
const architectureDoc = "docs/architecture.md"

// pending lists imports the table forbids that the code still has, each with the change
// that removes it. The check fails when a pending import is no longer there, so an
// exception is deleted together with its reason. There is none today.
var pending []pendingImport

type pendingImport struct{ from, to, until string }

// rule is one row of the table.
type rule struct {
	pkg    string   // relative to module, e.g. "internal/box"
	ours   []string // packages of ours it may import, relative to module
	others []string // other modules it may import (module paths)
	tests  bool     // its tests are held to ours (+ testkit) too
}

// tableHeader is the table's header row, cells trimmed.
var tableHeader = []string{"package", "may import (of ours)", "may import (other modules)", "its tests too"}

// parseRules reads the table whose header is tableHeader from doc.
func parseRules(doc string) ([]rule, error) {
	lines := strings.Split(doc, "\n")
	start := -1
	for i, l := range lines {
		if slices.Equal(tableCells(l), tableHeader) {
			if start >= 0 {
				return nil, errors.New("two tables of import rules")
			}
			start = i
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("no table with the header | %s |", strings.Join(tableHeader, " | "))
	}
	if start+1 >= len(lines) || strings.Trim(lines[start+1], "|-: \t") != "" || !strings.Contains(lines[start+1], "-") {
		return nil, errors.New("the table's header is not followed by a separator row")
	}
	var rules []rule
	seen := map[string]bool{}
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(strings.TrimSpace(l), "|") {
			break
		}
		cells := tableCells(l)
		if len(cells) != len(tableHeader) {
			return nil, fmt.Errorf("row %q has %d cells, want %d", l, len(cells), len(tableHeader))
		}
		r := rule{pkg: unquote(cells[0])}
		if !strings.HasPrefix(r.pkg, "internal/") && !strings.HasPrefix(r.pkg, "cmd/") {
			return nil, fmt.Errorf("row %q: %q is not a package of the module (internal/… or cmd/…)", l, cells[0])
		}
		if seen[r.pkg] {
			return nil, fmt.Errorf("%s has two rows", r.pkg)
		}
		seen[r.pkg] = true
		var err error
		if r.ours, err = tableList(cells[1]); err != nil {
			return nil, fmt.Errorf("row %s: %v", r.pkg, err)
		}
		if r.others, err = tableList(cells[2]); err != nil {
			return nil, fmt.Errorf("row %s: %v", r.pkg, err)
		}
		switch cells[3] {
		case "yes":
			r.tests = true
		case "no":
		default:
			return nil, fmt.Errorf("row %s: last cell %q is neither yes nor no", r.pkg, cells[3])
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		return nil, errors.New("the table has no rows")
	}
	return rules, nil
}

// tableCells splits a markdown table row into trimmed cells, or returns nil.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
		return nil
	}
	cells := strings.Split(line[1:len(line)-1], "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

// tableList reads a cell listing packages or modules: "—" for none, else a comma-separated
// list of `path`s.
func tableList(cell string) ([]string, error) {
	if cell == "—" {
		return nil, nil
	}
	var out []string
	for _, item := range strings.Split(cell, ",") {
		p := unquote(strings.TrimSpace(item))
		if p == "" || strings.ContainsAny(p, " `") {
			return nil, fmt.Errorf("%q is not a list of `paths` or —", cell)
		}
		out = append(out, p)
	}
	return out, nil
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '`' && s[len(s)-1] == '`' {
		return s[1 : len(s)-1]
	}
	return s
}

// listedPackage is what `go list` says of one package, import paths in full.
type listedPackage struct {
	Path        string   // relative to module
	Imports     []string // direct imports of its own code
	Deps        []string // everything its own code depends on, transitively
	TestImports []string // direct imports of its _test.go files (both packages)
}

func goList(t *testing.T, root string) []listedPackage {
	t.Helper()
	// go test puts the go command of the running toolchain first on PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goTool, "list", "-f",
		`{{.ImportPath}}	{{join .Imports " "}}	{{join .Deps " "}}	{{join .TestImports " "}} {{join .XTestImports " "}}`, "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 4 {
			t.Fatalf("go list printed %q", l)
		}
		rel, ok := strings.CutPrefix(f[0], module+"/")
		if !ok {
			t.Fatalf("go list printed %q, not a package of %s", f[0], module)
		}
		pkgs = append(pkgs, listedPackage{Path: rel, Imports: strings.Fields(f[1]), Deps: strings.Fields(f[2]), TestImports: strings.Fields(f[3])})
	}
	return pkgs
}

// checkArchitecture returns every way pkgs break rules, given the pending exceptions.
func checkArchitecture(rules []rule, pkgs []listedPackage, pending []pendingImport) []string {
	var problems []string
	report := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	byPkg := map[string]rule{}
	for _, r := range rules {
		byPkg[r.pkg] = r
	}
	listed := map[string]bool{}
	for _, p := range pkgs {
		listed[p.Path] = true
		if _, ok := byPkg[p.Path]; !ok {
			report("%s is not in %s's table: add a row saying what it may import", p.Path, architectureDoc)
		}
	}
	for _, r := range rules {
		if !listed[r.pkg] {
			report("%s's table has a row for %s, which is not a package of the module", architectureDoc, r.pkg)
		}
		for _, o := range r.ours {
			if _, ok := byPkg[o]; !ok {
				report("%s's row for %s allows %s, which has no row of its own", architectureDoc, r.pkg, o)
			}
		}
	}

	// allowed: the table's edges plus the pending ones.
	allowed := map[string]map[string]bool{}
	for _, r := range rules {
		allowed[r.pkg] = map[string]bool{}
		for _, o := range r.ours {
			allowed[r.pkg][o] = true
		}
	}
	for _, e := range pending {
		if allowed[e.from][e.to] {
			report("pending exception %s → %s is allowed by the table anyway: remove it", e.from, e.to)
		}
	}
	isPending := func(from, to string) bool {
		return slices.ContainsFunc(pending, func(e pendingImport) bool { return e.from == from && e.to == to })
	}
	// reach: what each package may depend on transitively.
	var reach func(pkg string, seen map[string]bool)
	reach = func(pkg string, seen map[string]bool) {
		for o := range allowed[pkg] {
			if !seen[o] {
				seen[o] = true
				reach(o, seen)
			}
		}
		for _, e := range pending {
			if e.from == pkg && !seen[e.to] {
				seen[e.to] = true
				reach(e.to, seen)
			}
		}
	}

	ours := func(path string) (string, bool) { return strings.CutPrefix(path, module+"/") }
	for _, p := range pkgs {
		r, ok := byPkg[p.Path]
		if !ok {
			continue
		}
		used := map[string]bool{}
		for _, imp := range p.Imports {
			rel, isOurs := ours(imp)
			switch {
			case isOurs && rel == "internal/testkit":
				report("%s imports internal/testkit in its own code; only _test.go files may", p.Path)
			case isOurs:
				used[rel] = true
				if !allowed[p.Path][rel] && !isPending(p.Path, rel) {
					report("%s imports %s, which %s does not allow (it may import: %s)", p.Path, rel, architectureDoc, listOrNone(r.ours))
				}
			case isStdlib(imp):
			case !slices.ContainsFunc(r.others, func(m string) bool { return imp == m || strings.HasPrefix(imp, m+"/") }):
				report("%s imports %s, a module %s does not allow (it may import: %s)", p.Path, imp, architectureDoc, listOrNone(r.others))
			}
		}
		for _, e := range pending {
			if e.from == p.Path && !used[e.to] {
				report("%s no longer imports %s: remove the pending exception (%q) from architecture_test.go and %s", e.from, e.to, e.until, architectureDoc)
			}
		}
		may := map[string]bool{}
		reach(p.Path, may)
		for _, d := range p.Deps {
			if rel, isOurs := ours(d); isOurs && !may[rel] {
				report("%s depends on %s through its imports, which %s does not allow", p.Path, rel, architectureDoc)
			}
		}
		if !r.tests {
			continue
		}
		for _, imp := range p.TestImports {
			rel, isOurs := ours(imp)
			if isOurs && rel != p.Path && rel != "internal/testkit" && !allowed[p.Path][rel] {
				report("%s's tests import %s, which %s does not allow (they may import: %s)", p.Path, rel, architectureDoc, listOrNone(append(slices.Clone(r.ours), "internal/testkit")))
			}
		}
	}
	return problems
}

// isStdlib reports whether an import path is the standard library's: no dot in its first
// element (the rule cmd/go applies too).
func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "nothing"
	}
	return strings.Join(l, ", ")
}

// TestArchitecture holds every package of the module to docs/architecture.md's table.
func TestArchitecture(t *testing.T) {
	root := ModuleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(architectureDoc)))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := parseRules(string(doc))
	if err != nil {
		t.Fatalf("%s: %v", architectureDoc, err)
	}
	pkgs := goList(t, root)
	if len(pkgs) < len(rules) {
		t.Fatalf("go list found %d packages, fewer than the table's %d rows", len(pkgs), len(rules))
	}
	for _, p := range checkArchitecture(rules, pkgs, pending) {
		t.Error(p)
	}
}

// The check finds each kind of violation, on a made-up module.
func TestArchitectureCheck(t *testing.T) {
	rules := []rule{
		{pkg: "internal/box", others: []string{"golang.org/x/crypto"}, tests: true},
		{pkg: "internal/wamp", tests: true},
		{pkg: "internal/router", ours: []string{"internal/wamp"}, tests: true},
		{pkg: "cmd/cbx", ours: []string{"internal/router", "internal/wamp"}},
		{pkg: "internal/testkit", tests: true},
	}
	// m spells import paths as go list does: packages of ours in full, others as given.
	m := func(paths ...string) []string {
		var out []string
		for _, p := range paths {
			if strings.HasPrefix(p, "internal/") || strings.HasPrefix(p, "cmd/") {
				p = module + "/" + p
			}
			out = append(out, p)
		}
		return out
	}
	good := func() []listedPackage {
		return []listedPackage{
			{Path: "internal/box", Imports: m("golang.org/x/crypto/nacl/box", "errors"), TestImports: m("internal/testkit", "testing")},
			{Path: "internal/wamp", Imports: m("fmt"), TestImports: m("internal/testkit", "github.com/gammazero/nexus/v3/router")},
			{Path: "internal/router", Imports: m("internal/wamp"), Deps: m("internal/wamp", "fmt")},
			{Path: "cmd/cbx", Imports: m("internal/router", "internal/box"), Deps: m("internal/router", "internal/wamp", "internal/box"), TestImports: m("internal/box")},
			{Path: "internal/testkit"},
		}
	}
	noPending := []pendingImport(nil)
	cbxBox := []pendingImport{{from: "cmd/cbx", to: "internal/box", until: "later"}}

	if p := checkArchitecture(rules, good(), cbxBox); len(p) != 0 {
		t.Fatalf("a module that keeps the rules is refused: %q", p)
	}
	for _, c := range []struct {
		name    string
		edit    func([]listedPackage) []listedPackage
		pending []pendingImport
		want    string
	}{
		{"forbidden import", func(p []listedPackage) []listedPackage {
			p[2].Imports = append(p[2].Imports, m("internal/box")...)
			p[2].Deps = append(p[2].Deps, m("internal/box")...)
			return p
		}, cbxBox, "internal/router imports internal/box, which docs/architecture.md does not allow (it may import: internal/wamp)"},
		{"forbidden dependency through another package", func(p []listedPackage) []listedPackage {
			p[2].Deps = append(p[2].Deps, m("internal/box")...)
			return p
		}, cbxBox, "internal/router depends on internal/box through its imports"},
		{"forbidden test import", func(p []listedPackage) []listedPackage {
			p[2].TestImports = append(p[2].TestImports, m("internal/box")...)
			return p
		}, cbxBox, "internal/router's tests import internal/box"},
		{"forbidden other module", func(p []listedPackage) []listedPackage {
			p[1].Imports = append(p[1].Imports, "github.com/spf13/cobra")
			return p
		}, cbxBox, "internal/wamp imports github.com/spf13/cobra, a module docs/architecture.md does not allow (it may import: nothing)"},
		{"testkit in production code", func(p []listedPackage) []listedPackage {
			p[3].Imports = append(p[3].Imports, m("internal/testkit")...)
			return p
		}, cbxBox, "cmd/cbx imports internal/testkit in its own code"},
		{"package without a row", func(p []listedPackage) []listedPackage {
			return append(p, listedPackage{Path: "internal/new"})
		}, cbxBox, "internal/new is not in docs/architecture.md's table"},
		{"row without a package", func(p []listedPackage) []listedPackage {
			return slices.Delete(p, 1, 2)
		}, cbxBox, "docs/architecture.md's table has a row for internal/wamp, which is not a package of the module"},
		{"import without its pending exception", func(p []listedPackage) []listedPackage { return p }, noPending,
			"cmd/cbx imports internal/box, which docs/architecture.md does not allow"},
		{"pending exception outlives its import", func(p []listedPackage) []listedPackage {
			p[3].Imports = m("internal/router")
			return p
		}, cbxBox, "cmd/cbx no longer imports internal/box: remove the pending exception (\"later\")"},
	} {
		t.Run(c.name, func(t *testing.T) {
			problems := checkArchitecture(rules, c.edit(good()), c.pending)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, c.want) }) {
				t.Errorf("got %q\nwant a problem starting %q", problems, c.want)
			}
		})
	}
}

// The table parser refuses tables it cannot read rather than checking fewer rules.
func TestParseRules(t *testing.T) {
	const header = "| package | may import (of ours) | may import (other modules) | its tests too |\n|---|---|---|---|\n"
	rules, err := parseRules("text\n\n" + header +
		"| `internal/box` | — | `golang.org/x/crypto` | yes |\n" +
		"| `cmd/cbx` | `internal/box`, `internal/wamp` | — | no |\n\nmore text | with a bar |\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []rule{
		{pkg: "internal/box", others: []string{"golang.org/x/crypto"}, tests: true},
		{pkg: "cmd/cbx", ours: []string{"internal/box", "internal/wamp"}},
	}
	if fmt.Sprint(rules) != fmt.Sprint(want) {
		t.Errorf("parsed %+v, want %+v", rules, want)
	}
	for name, doc := range map[string]string{
		"no table":       "| package | may import |\n|---|---|\n| `internal/box` | — |\n",
		"no rows":        header + "\n",
		"no separator":   strings.Replace(header, "|---|---|---|---|\n", "", 1) + "| `internal/box` | — | — | yes |\n",
		"missing cell":   header + "| `internal/box` | — | yes |\n",
		"not a package":  header + "| `github.com/x/y` | — | — | yes |\n",
		"two rows":       header + "| `internal/box` | — | — | yes |\n| `internal/box` | — | — | yes |\n",
		"empty list":     header + "| `internal/box` |  | — | yes |\n",
		"not yes or no":  header + "| `internal/box` | — | — | maybe |\n",
		"two tables":     header + "| `internal/box` | — | — | yes |\n\n" + header + "| `internal/wamp` | — | — | yes |\n",
		"space in entry": header + "| `internal/box` | `internal/a internal/b` | — | yes |\n",
	} {
		if r, err := parseRules(doc); err == nil {
			t.Errorf("%s: parsed %+v", name, r)
		}
	}
}

func FuzzParseRules(f *testing.F) {
	if doc, err := os.ReadFile(filepath.Join(ModuleRoot(f), filepath.FromSlash(architectureDoc))); err == nil {
		f.Add(string(doc))
	}
	f.Add("| package | may import (of ours) | may import (other modules) | its tests too |\n|---|---|---|---|\n| `internal/box` | — | — | yes |\n")
	f.Add("| package | may import (of ours) | may import (other modules) | its tests too |\n|-|\n|")
	f.Fuzz(func(t *testing.T, doc string) {
		rules, err := parseRules(doc)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range rules {
			if r.pkg == "" || seen[r.pkg] {
				t.Fatalf("rule for %q accepted twice or empty", r.pkg)
			}
			seen[r.pkg] = true
			for _, p := range append(slices.Clone(r.ours), r.others...) {
				if p == "" || strings.ContainsAny(p, " `|") {
					t.Fatalf("entry %q accepted", p)
				}
			}
		}
	})
}
