package main

import (
	"testing"
)

// The garbage collector's floor (annotationGCFloor): the router keeps gcBallastSize, the
// streaming clients clientGCBallastSize, the other commands none; GOGC or GOMEMLIMIT set
// by the user turn it off (the user's setting is honoured as it is).
func TestGCFloorPerCommand(t *testing.T) {
	saved := ownsProcess
	ownsProcess = true
	t.Cleanup(func() { ownsProcess, gcBallast = saved, nil })
	want := map[string]int{
		"router": gcBallastSize, "publish": clientGCBallastSize, "subscribe": clientGCBallastSize,
		"call": clientGCBallastSize, "register": clientGCBallastSize,
		"keygen": 0, "keys": 0, "seal": 0, "open": 0, "bench": 0, "wait": 0, "version": 0,
	}
	for name, size := range want {
		for _, env := range []string{"", "GOGC", "GOMEMLIMIT"} {
			t.Run(name+"/"+env, func(t *testing.T) {
				t.Setenv("GOGC", "")
				t.Setenv("GOMEMLIMIT", "")
				if env != "" {
					t.Setenv(env, map[string]string{"GOGC": "200", "GOMEMLIMIT": "1GiB"}[env])
				}
				gcBallast = nil
				root := newRootCmdFor(treeFactory(), []string{name})
				c, _, err := root.Find([]string{name})
				if err != nil || c.Name() != name {
					t.Fatalf("Find(%s): %v, %v", name, c, err)
				}
				chooseGC(c)
				wantLen := size
				if env != "" {
					wantLen = 0
				}
				if len(gcBallast) != wantLen {
					t.Fatalf("ballast %d bytes, want %d", len(gcBallast), wantLen)
				}
			})
		}
	}
}
