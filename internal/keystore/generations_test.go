package keystore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second originator key (32 bytes of 0x01), for the publisher's generation 2.
const origPriv2 = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="

// sampleV2: a publisher's entry in its second generation, the first retiring.
const sampleV2 = `cbx-keystore v2

prefix "com.example.secure."
generation 1
retire-after 2026-08-01T00:00:00Z
originator-private ` + origPriv + `
responder-public ` + respPub + `
generation 2
originator-private ` + origPriv2 + `
responder-public ` + respPub + `

prefix ""
generation 1
single ` + singlePriv + `
end
`

func TestParseGenerations(t *testing.T) {
	ks, err := Parse([]byte(sampleV2))
	if err != nil {
		t.Fatal(err)
	}
	if ks.Version() != 2 {
		t.Fatalf("version %d", ks.Version())
	}
	e, _ := ks.Get("com.example.secure.")
	gens := e.Generations()
	if len(gens) != 2 || gens[0].Number != 1 || gens[1].Number != 2 || e.Newest() != gens[1] {
		t.Fatalf("generations %+v", gens)
	}
	// The entry's key fields are the newest generation's: it seals.
	if e.OriginatorPrivate == nil || *e.OriginatorPrivate != *priv(t, origPriv2) || *gens[0].OriginatorPrivate != *priv(t, origPriv) {
		t.Fatal("the newest generation is not the entry's")
	}
	want := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	if !gens[0].RetireAfter.Equal(want) || !gens[1].RetireAfter.IsZero() {
		t.Fatalf("retire-after %v, %v", gens[0].RetireAfter, gens[1].RetireAfter)
	}
	if gens[0].RetiredAt(want.Add(-time.Second)) || !gens[0].RetiredAt(want) || !gens[0].RetiredAt(want.Add(time.Hour)) || gens[1].RetiredAt(want.Add(1000*time.Hour)) {
		t.Fatal("RetiredAt is wrong around the retire-after time")
	}
	// Each generation precomputes its own box.
	if gens[0].Key(true) == nil || gens[1].Key(true) == nil || *gens[0].Key(true) == *gens[1].Key(true) || e.Key(true) != gens[1].Key(true) {
		t.Fatal("generations share or lack boxes")
	}
	if !bytes.Equal(ks.Marshal(), mustParse(t, ks.Marshal()).Marshal()) {
		t.Fatal("marshal is not stable")
	}
	if !strings.Contains(string(ks.Marshal()), "generation 2\noriginator-private "+origPriv2) {
		t.Fatalf("marshal:\n%s", ks.Marshal())
	}
}

func mustParse(t *testing.T, data []byte) *Keystore {
	t.Helper()
	ks, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// A version 1 file's entries are generation 1, and it is read as version 1.
func TestParseVersion1(t *testing.T) {
	ks := mustParse(t, []byte(sample))
	if ks.Version() != 1 {
		t.Fatalf("version %d", ks.Version())
	}
	for _, e := range ks.Entries() {
		if gens := e.Generations(); len(gens) != 1 || gens[0].Number != 1 || len(e.Older) != 0 {
			t.Fatalf("entry %q: %d generations", e.Prefix, len(gens))
		}
	}
	out := ks.Marshal()
	if !bytes.Contains(out, []byte("cbx-keystore v2\n")) || bytes.Count(out, []byte("\ngeneration 1\n")) != 3 {
		t.Fatalf("not written as version 2:\n%s", out)
	}
}

func TestRotatedAndRetired(t *testing.T) {
	e := &Entry{Prefix: "a.", OriginatorPrivate: priv(t, origPriv), ResponderPublic: pub(t, respPub)}
	next := &Generation{OriginatorPrivate: priv(t, origPriv2), ResponderPublic: pub(t, respPub), Number: 9, RetireAfter: time.Now()}
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	r, err := e.Rotated(next, at)
	if err != nil {
		t.Fatal(err)
	}
	gens := r.Generations()
	if len(gens) != 2 || gens[1].Number != 2 || !gens[1].RetireAfter.IsZero() || !gens[0].RetireAfter.Equal(at) ||
		*r.OriginatorPrivate != *priv(t, origPriv2) || *gens[0].OriginatorPrivate != *priv(t, origPriv) {
		t.Fatalf("rotated: %+v %+v", gens[0], gens[1])
	}
	if e.Newest().Number != 1 || len(e.Older) != 0 {
		t.Fatal("Rotated changed the entry it was called on")
	}
	// A third generation without a date leaves generation 1's date; an earlier date
	// moves it, a later one does not.
	third := &Generation{Single: priv(t, singlePriv)}
	r3, err := r.Rotated(third, time.Time{})
	if err != nil || !r3.Generations()[0].RetireAfter.Equal(at) || !r3.Generations()[1].RetireAfter.IsZero() {
		t.Fatalf("third generation: %v", err)
	}
	later, err := r.Rotated(third, at.Add(time.Hour))
	if err != nil || !later.Generations()[0].RetireAfter.Equal(at) || !later.Generations()[1].RetireAfter.Equal(at.Add(time.Hour)) {
		t.Fatalf("later date: %v", err)
	}
	// The keys of an existing generation are not a new one.
	var ge *GenerationError
	if _, err := r.Rotated(&Generation{OriginatorPrivate: priv(t, origPriv), ResponderPublic: pub(t, respPub)}, time.Time{}); !errors.As(err, &ge) || !strings.Contains(err.Error(), "the new keys are those of generation 1") {
		t.Fatalf("old keys again: %v", err)
	}
	// An invalid new generation is refused with the entry's rules.
	if _, err := r.Rotated(&Generation{ResponderPublic: pub(t, respPub)}, time.Time{}); !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), "generation 3: allows no direction") {
		t.Fatalf("invalid generation: %v", err)
	}

	// Retiring: an older generation only.
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	rr, err := r3.Retired(2, now)
	if err != nil || !rr.Generations()[1].RetireAfter.Equal(now) || !rr.Generations()[0].RetireAfter.Equal(at) || !r3.Generations()[1].RetireAfter.IsZero() {
		t.Fatalf("retire 2: %v", err)
	}
	for n, want := range map[int]string{3: "generation 3 is the newest, which seals", 0: "has no generation 0 (it has 3 generations)", 4: "has no generation 4"} {
		if _, err := r3.Retired(n, now); !errors.As(err, &ge) || !strings.Contains(err.Error(), want) {
			t.Errorf("Retired(%d): %v, want %q", n, err, want)
		}
	}
	// What Rotated and Retired make survives the file format.
	ks := New()
	if err := ks.Put(rr); err != nil {
		t.Fatal(err)
	}
	back, _ := mustParse(t, ks.Marshal()).Get("a.")
	if len(back.Generations()) != 3 || !back.Generations()[1].RetireAfter.Equal(now) || back.Single == nil {
		t.Fatalf("round trip: %+v", back.Generations())
	}
}

// A version 1 keystore is read as it is, left unchanged by reading, and written as
// version 2 by the next update, which says so; a version 3 keystore is refused and never
// overwritten.
func TestUpgradeOnWriteAndNewerRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keystore")
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := Load(path, WithNotices(func(n Notice) { t.Errorf("notice on load: %+v", n) }))
	if err != nil || ks.Version() != 1 || len(ks.Entries()) != 3 {
		t.Fatalf("load v1: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != sample {
		t.Fatal("loading changed the file")
	}
	var notices []Notice
	err = Update(path, func(ks *Keystore) error {
		if ks.Version() != 1 {
			t.Errorf("Update read version %d", ks.Version())
		}
		return nil
	}, WithNotices(func(n Notice) { notices = append(notices, n) }))
	if err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || notices[0].UpgradedFrom != 1 || notices[0].Path != path {
		t.Fatalf("notices %+v", notices)
	}
	after, err := Load(path)
	if err != nil || after.Version() != 2 {
		t.Fatalf("after the update: %v", err)
	}
	before := mustParse(t, []byte(sample))
	if !bytes.Equal(after.Marshal(), before.Marshal()) {
		t.Fatal("the upgrade changed the keys")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode after the upgrade: %v %v", st.Mode(), err)
	}
	// A second update has nothing to upgrade.
	notices = nil
	if err := Update(path, func(*Keystore) error { return nil }, WithNotices(func(n Notice) { notices = append(notices, n) })); err != nil || len(notices) != 0 {
		t.Fatalf("second update: %v %+v", err, notices)
	}

	newer := strings.Replace(sampleV2, "cbx-keystore v2", "cbx-keystore v3", 1)
	if err := os.WriteFile(path, []byte(newer), 0o600); err != nil {
		t.Fatal(err)
	}
	var ve *VersionError
	var pe *ParseError
	if _, err := Load(path); !errors.As(err, &ve) || ve.Version != 3 || !errors.As(err, &pe) {
		t.Fatalf("load v3: %v", err)
	}
	err = Update(path, func(ks *Keystore) error {
		t.Error("Update ran fn on a newer keystore")
		return nil
	})
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "written by a newer cbx") {
		t.Fatalf("update v3: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != newer {
		t.Fatal("a newer keystore was overwritten")
	}
}

// The example in the package comment is a valid keystore.
func TestPackageCommentExample(t *testing.T) {
	src, err := os.ReadFile("format.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	in := false
	for _, l := range strings.Split(string(src), "\n") {
		switch {
		case strings.HasPrefix(l, "//\tcbx-keystore v"):
			in = true
		case !strings.HasPrefix(l, "//\t") && l != "//":
			if in {
				in = false
			}
		}
		if in {
			lines = append(lines, strings.TrimPrefix(strings.TrimPrefix(l, "//"), "\t"))
		}
	}
	ks, err := Parse([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	e, ok := ks.Get("com.example.secure.")
	if !ok || len(e.Generations()) != 2 || e.Generations()[0].RetireAfter.IsZero() || len(ks.Entries()) != 2 {
		t.Fatalf("the example parsed to %+v", ks.Entries())
	}
}
