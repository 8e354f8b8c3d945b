package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEnvironmentTopic holds `cbx help environment` to the code: every CBX_… name that
// cmd/cbx's own (non-test) code mentions is listed there, so a new variable cannot ship
// undocumented.
func TestEnvironmentTopic(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`\bCBX_[A-Z0-9_]+`)
	seen := map[string]bool{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") || file == "help_environment.go" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range name.FindAllString(string(data), -1) {
			if !seen[v] {
				seen[v] = true
				if !regexp.MustCompile(`\b` + v + `\b`).MatchString(environmentHelp) {
					t.Errorf("%s (in %s) is not listed by `cbx help environment` (help_environment.go)", v, file)
				}
			}
		}
	}
	if len(seen) < 20 {
		t.Fatalf("found only %d variables in the code: %v", len(seen), seen)
	}
	// And nothing is listed that the code does not read or set.
	for _, v := range name.FindAllString(environmentHelp, -1) {
		if !seen[v] {
			t.Errorf("`cbx help environment` lists %s, which cmd/cbx never mentions", v)
		}
	}
}
