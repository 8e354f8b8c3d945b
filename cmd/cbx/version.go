package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at link time for releases (-ldflags "-X main.version=v1.2.3"); otherwise
// it comes from the module's build information, as age and the GitHub CLI do.
var version = ""

// versionString is what `cbx version` and `cbx --version` print: the module version, and
// the VCS revision and commit date the go command stamped into the binary (go build in
// a git checkout does, unless -buildvcs=false), so that a binary can be traced to the
// source it was built from.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return formatVersion(version, bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

// formatVersion is versionString for given build information (nil: none), so that every
// case can be tested with made-up information: a test binary carries none of its own.
//
//	cbx v0.0.0-20261202120000-5a9da7f3c1e6+dirty
//	revision: 5a9da7f3c1e6e1a4f2c8d0e19b2ad1b5c0f4e7a9 (with uncommitted changes)
//	date:     2026-12-02T12:00:00Z
//	go:       go1.26.8 linux/amd64
func formatVersion(linked string, bi *debug.BuildInfo, goVersion, platform string) string {
	v := linked
	if v == "" {
		v = "(devel)"
		if bi != nil && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	settings := map[string]string{}
	if bi != nil {
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cbx %s\n", v)
	switch rev := settings["vcs.revision"]; {
	case rev == "":
		b.WriteString("revision: unknown (the build has no VCS information: built outside a git checkout, or with -buildvcs=false)\n")
	case settings["vcs.modified"] == "true":
		fmt.Fprintf(&b, "revision: %s (with uncommitted changes)\n", rev)
	default:
		fmt.Fprintf(&b, "revision: %s\n", rev)
	}
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(&b, "date:     %s\n", t)
	}
	fmt.Fprintf(&b, "go:       %s %s", goVersion, platform)
	return b.String()
}

func newCmdVersion(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print cbx's version, and the VCS revision and date it was built from",
		Long: `version prints the module version of cbx, the git revision and commit date it was
built from (when the go command recorded them: go build in a git checkout does), and the
Go version and platform. cbx --version prints the same.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(f.io.Out, versionString())
			return err
		},
	}
}
