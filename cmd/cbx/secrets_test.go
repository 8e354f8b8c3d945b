package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// A secret read from env:NAME must not reach the commands cbx runs (register --exec).
func TestChildEnvDropsSecretVariables(t *testing.T) {
	t.Setenv("CBX_TEST_TICKET", "s3cret-ticket")
	t.Setenv("CBX_TEST_HARMLESS", "visible")
	f := &factory{io: &ioStreams{In: strings.NewReader("")}, getenv: os.Getenv}
	b, _, err := f.readSecret("env:CBX_TEST_TICKET", "--ticket")
	if err != nil || string(b) != "s3cret-ticket" {
		t.Fatalf("readSecret: %q, %v", b, err)
	}
	env := f.childEnv()
	for _, kv := range env {
		if strings.Contains(kv, "s3cret-ticket") {
			t.Fatalf("the secret reached the child environment: %q", kv)
		}
	}
	if !slices.Contains(env, "CBX_TEST_HARMLESS=visible") {
		t.Fatal("an ordinary variable was dropped")
	}
}
