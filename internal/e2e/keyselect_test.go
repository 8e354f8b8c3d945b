package e2e

import (
	"errors"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keystore"
)

func TestWildcardMayStartWith(t *testing.T) {
	for _, c := range []struct {
		pattern, prefix string
		want            bool
	}{
		{"com..orders", "", true},
		{"com..orders", "com.", true},
		{"com..orders", "com.x.", true},
		{"com..orders", "com.x.ord", true},
		{"com..orders", "com.x.orders", true},
		{"com..orders", "com.x.orders.", false}, // longer than any matching URI
		{"com..orders", "com.x.bills", false},
		{"com..orders", "org.", false},
		{"com..orders", "co", true},
		{"..x", "wamp.", true},
		{"com.a.", "com.a.b", true}, // trailing empty component: any last component
	} {
		if got := wildcardMayStartWith(c.pattern, c.prefix); got != c.want {
			t.Errorf("wildcardMayStartWith(%q, %q) = %v, want %v", c.pattern, c.prefix, got, c.want)
		}
	}
}

// TestCheckCanReceive: entries that would decide the key of a received URI must hold the
// responder keys; others do not matter.
func TestCheckCanReceive(t *testing.T) {
	var priv1, priv2 box.PrivateKey
	priv1[0], priv2[0] = 1, 2
	pub2 := priv2.Public()
	ks := keystore.New()
	// com.out. is a publisher's entry (originator only); com.in. a subscriber's.
	if err := ks.Put(&keystore.Entry{Prefix: "com.out.", OriginatorPrivate: &priv1, ResponderPublic: &pub2}); err != nil {
		t.Fatal(err)
	}
	pub1 := priv1.Public()
	if err := ks.Put(&keystore.Entry{Prefix: "com.in.", ResponderPrivate: &priv2, OriginatorPublic: &pub1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pattern, match string
		refused        bool
	}{
		{"com.in.orders", "exact", false},
		{"com.out.orders", "exact", true},
		{"org.plain", "exact", false},
		{"com.in.", "prefix", false},
		{"com.", "prefix", true}, // com.out.* arrive too
		{"com.out", "prefix", true},
		{"com..orders", "wildcard", true},
		{"com.in..x", "wildcard", false},
		{"org..x", "wildcard", false},
	} {
		err := NewCodec(ks, "ks", WireLegacy).CheckCanReceive(c.pattern, c.match, "events")
		if (err != nil) != c.refused {
			t.Errorf("CheckCanReceive(%q, %s) = %v, want refused=%v", c.pattern, c.match, err, c.refused)
		}
		var cr *CannotReceiveError
		if err != nil && (!errors.As(err, &cr) || cr.Prefix != "com.out." || !strings.Contains(err.Error(), `"com.out."`)) {
			t.Errorf("CheckCanReceive(%q, %s): %v; want a *CannotReceiveError naming the entry", c.pattern, c.match, err)
		}
	}
}
