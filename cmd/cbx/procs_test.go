package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// The garbage collector's settings per command: the router keeps its floor
// (gcBallastSize), the streaming clients run at clientGCPercent, the other commands at
// Go's default; GOGC or GOMEMLIMIT set by the user turn both off (the user's setting is
// honoured as it is).
func TestGCSettingsPerCommand(t *testing.T) {
	saved, savedGC := ownsProcess, debug.SetGCPercent(100)
	ownsProcess = true
	t.Cleanup(func() { ownsProcess, gcBallast = saved, nil; debug.SetGCPercent(savedGC) })
	type gc struct{ ballast, percent int }
	def := gc{0, 100}
	client := gc{0, clientGCPercent}
	want := map[string]gc{
		"router": {gcBallastSize, 100}, "publish": client, "subscribe": client, "call": client, "register": client,
		"bench pubsub": client, "bench call": client,
		"keygen": def, "keys add": def, "seal": def, "open": def, "wait": def, "version": def,
	}
	for name, w := range want {
		for _, env := range []string{"", "GOGC", "GOMEMLIMIT"} {
			t.Run(name+"/"+env, func(t *testing.T) {
				t.Setenv("GOGC", "")
				t.Setenv("GOMEMLIMIT", "")
				w := w
				if env != "" {
					t.Setenv(env, map[string]string{"GOGC": "200", "GOMEMLIMIT": "1GiB"}[env])
					w = def
				}
				gcBallast = nil
				debug.SetGCPercent(100)
				args := strings.Fields(name)
				root := newRootCmdFor(treeFactory(), args)
				c, _, err := root.Find(args)
				if err != nil || c.Name() != args[len(args)-1] {
					t.Fatalf("Find(%s): %v, %v", name, c, err)
				}
				chooseGC(c)
				if got := (gc{len(gcBallast), debug.SetGCPercent(100)}); got != w {
					t.Fatalf("ballast %d bytes, GOGC %d; want %d, %d", got.ballast, got.percent, w.ballast, w.percent)
				}
			})
		}
	}
}
