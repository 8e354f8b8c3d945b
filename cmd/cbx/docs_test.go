package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Comments all over the repository justify code by a section of docs/wire.md, written
// "wire.md §N" or "wire.md §N.M", optionally followed by a sub-heading name in double
// quotes, a letter in parentheses ("§6.1(a)"), a range ("§1.5–1.6") or more sections
// (", §1.2", " and §3"). docs/wire.md gives every section a heading of a fixed form:
//
//	## N. Title      a section
//	### N.M Title    a subsection, or a numbered pitfall of §5
//
// A citation resolves when docs/wire.md has the heading for each section it names and,
// when it quotes a name, that name appears in the section's text (its heading line up to
// the next heading of the same or a higher level).

// wireHeading matches the two heading forms above.
var wireHeading = regexp.MustCompile(`^(##|###) (\d+)(?:\.(\d+))?(\.?) `)

// wireSection is one numbered section of docs/wire.md.
type wireSection struct {
	level int    // 2 for "## N.", 3 for "### N.M"
	text  string // the heading line and everything up to the next heading of level ≤ this
}

// parseWireSections indexes docs/wire.md by section number ("1", "1.5", "5.12"). A
// heading that looks numbered but breaks the two forms, or a number used twice, is an
// error: either would make some citation resolve to the wrong place.
func parseWireSections(doc string) (map[string]*wireSection, error) {
	lines := strings.Split(doc, "\n")
	type open struct {
		num   string
		level int
		start int
	}
	var heads []open
	for i, l := range lines {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		level := len(l) - len(strings.TrimLeft(l, "#"))
		m := wireHeading.FindStringSubmatch(l)
		if m == nil {
			heads = append(heads, open{level: level, start: i}) // unnumbered: ends sections only
			continue
		}
		switch {
		case m[1] == "##" && (m[3] != "" || m[4] != "."):
			return nil, fmt.Errorf("line %d: %q: a section heading is \"## N. Title\"", i+1, l)
		case m[1] == "###" && (m[3] == "" || m[4] != ""):
			return nil, fmt.Errorf("line %d: %q: a subsection heading is \"### N.M Title\"", i+1, l)
		}
		num := m[2]
		if m[3] != "" {
			num += "." + m[3]
		}
		heads = append(heads, open{num: num, level: level, start: i})
	}
	sections := map[string]*wireSection{}
	for i, h := range heads {
		if h.num == "" {
			continue
		}
		if _, dup := sections[h.num]; dup {
			return nil, fmt.Errorf("line %d: section %s has two headings", h.start+1, h.num)
		}
		end := len(lines)
		for _, next := range heads[i+1:] {
			if next.level <= h.level {
				end = next.start
				break
			}
		}
		sections[h.num] = &wireSection{level: h.level, text: strings.Join(lines[h.start:end], "\n")}
	}
	return sections, nil
}

// wireCitation is one section a comment cites.
type wireCitation struct {
	where   string // file:line
	section string // "1.5"
	name    string // the quoted sub-heading name, if any
}

var (
	// wireCite finds a citation; a line break (with its comment marker) may sit between
	// the file name and the first "§".
	wireCite = regexp.MustCompile(`wire\.md(?:\s*(?://|#)?\s*)§`)
	// wireRef is one cited section at the start of the remaining text: §N[.M], an
	// optional "(a)", an optional range end "–N.M" or "-N.M", an optional quoted name.
	wireRef = regexp.MustCompile(`^§(\d+(?:\.\d+)?)(?:\([a-z]\))?(?:[–-](\d+(?:\.\d+)?))?(?: "([^"\n]+)")?`)
	// wireMore joins further sections to a citation: ", §…" or " and §…".
	wireMore = regexp.MustCompile(`^(?:,\s*|\s+and\s+)§`)
)

// extractWireCitations returns every section cited in one file's text.
func extractWireCitations(file, text string) []wireCitation {
	var out []wireCitation
	for _, loc := range wireCite.FindAllStringIndex(text, -1) {
		line := 1 + strings.Count(text[:loc[0]], "\n")
		rest := text[loc[1]-len("§"):]
		for {
			m := wireRef.FindStringSubmatch(rest)
			if m == nil {
				break
			}
			where := fmt.Sprintf("%s:%d", file, line)
			out = append(out, wireCitation{where: where, section: m[1], name: m[3]})
			if m[2] != "" {
				out = append(out, wireCitation{where: where, section: m[2]})
			}
			rest = rest[len(m[0]):]
			more := wireMore.FindString(rest)
			if more == "" {
				break
			}
			rest = rest[len(more)-len("§"):]
		}
	}
	return out
}

// checkWireCitations reports every citation that does not resolve in sections.
func checkWireCitations(sections map[string]*wireSection, cites []wireCitation) []string {
	var problems []string
	for _, c := range cites {
		s, ok := sections[c.section]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: cites wire.md §%s, which has no heading in docs/wire.md", c.where, c.section))
		case c.name != "" && !strings.Contains(s.text, c.name):
			problems = append(problems, fmt.Sprintf("%s: cites wire.md §%s %q, which that section does not mention", c.where, c.section, c.name))
		}
	}
	return problems
}

func TestWireCitationsResolve(t *testing.T) {
	// The checker itself, on a small document and made-up sources: it must find what is
	// wrong, or the repository check below proves nothing. "wire" + ".md" keeps these
	// made-up citations out of the repository walk, which reads this file too.
	const cite = "wire" + ".md "
	fakeDoc := strings.Join([]string{
		"# Title",
		"## 1. One",
		"### 1.1 First",
		"text",
		"#### Failures on receive",
		"### 1.2 Second",
		"## 3. Routers",
		"### 3.1 Crossbar.io",
		"### 3.2 nexus",
		"## 5. Pitfalls",
		"### 5.12 Twelve",
		"## 7. Sources",
	}, "\n")
	sections, err := parseWireSections(fakeDoc)
	if err != nil {
		t.Fatalf("parseWireSections(fake): %v", err)
	}
	for _, tc := range []struct {
		name, src string
		bad       int // unresolved citations expected
		found     int // citations expected in all
	}{
		{"resolves", "// x (" + cite + "§1.1).", 0, 1},
		{"top level", "// x (" + cite + "§3).", 0, 1},
		{"pitfall", "// x (" + cite + "§5.12).", 0, 1},
		{"bogus section", "// x (" + cite + "§9.9).", 1, 1},
		{"bogus subsection of a real section", "// x (" + cite + "§1.7).", 1, 1},
		{"bogus pitfall", "// x (" + cite + "§5.13).", 1, 1},
		{"list", "// x (" + cite + "§1.1, §1.2 and §7).", 0, 3},
		{"list with one bogus", "// x (" + cite + "§1.1, §4).", 1, 2},
		{"range", "// # Lookup (" + cite + "§1.1–1.2)", 0, 2},
		{"range to nowhere", "// # Lookup (" + cite + "§1.1–1.9)", 1, 2},
		{"letter", "// x (" + cite + "§1.2(a)).", 0, 1},
		{"named", "// x (" + cite + "§3 \"nexus\").", 0, 1},
		{"named in a sub-sub-heading", "// x (" + cite + "§1.1 \"Failures on receive\").", 0, 1},
		{"name not in that section", "// x (" + cite + "§3.1 \"nexus\").", 1, 1},
		{"name nowhere", "// x (" + cite + "§3 \"xconn\").", 1, 1},
		{"across a line break", "// rules of basic/messages.md and " + strings.TrimSpace(cite) + "\n// §8.1 on lists.", 1, 1},
		{"python comment", "# as an application does (" + cite + "§1.2): x", 0, 1},
		{"no section named", "// see " + cite + "for details", 0, 0},
	} {
		cites := extractWireCitations("fake.go", tc.src)
		problems := checkWireCitations(sections, cites)
		if len(cites) != tc.found || len(problems) != tc.bad {
			t.Errorf("%s: %q: %d citations, %d unresolved %q; want %d and %d", tc.name, tc.src, len(cites), len(problems), problems, tc.found, tc.bad)
		}
	}
	for _, bad := range []string{"## 1 One", "### 1. One", "## 1.1. One", "### 1 One", "## 1. A\n## 1. B"} {
		if _, err := parseWireSections(bad); err == nil {
			t.Errorf("parseWireSections(%q): no error", bad)
		}
	}

	// The repository: every citation in a Go or Python file resolves in docs/wire.md.
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "wire.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections, err = parseWireSections(string(doc))
	if err != nil {
		t.Fatalf("docs/wire.md: %v", err)
	}
	var cites []wireCitation
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "node_modules" || (strings.HasPrefix(n, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".go" && ext != ".py" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		cites = append(cites, extractWireCitations(filepath.ToSlash(rel), string(b))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The code cites the document some seventy times; far fewer means the walk or the
	// extraction broke and the check below would pass vacuously.
	if len(cites) < 50 {
		t.Fatalf("found only %d citations of wire.md in the repository", len(cites))
	}
	for _, p := range checkWireCitations(sections, cites) {
		t.Error(p)
	}
	t.Logf("%d citations of wire.md checked", len(cites))
	if os.Getenv("CBX_LIST_WIRE_CITATIONS") != "" {
		for _, c := range cites {
			t.Logf("%s §%s %q", c.where, c.section, c.name)
		}
	}
}
