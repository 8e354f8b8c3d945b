package wamp

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
)

// The msgpack memos (keyedDicts, keyedReads, keyIDs) are shared by every goroutine.
// Encoding and decoding dicts that name key ids, from several goroutines at once, with
// values of every kind beside them (some of which the memos must refuse: uint64, float,
// int, binary, nil, nested containers), and nested at up to the nesting limit, gives what
// the reference encoder and reader give, and a caller changing a dict it read does not
// change what is read next. Run with -race, it also checks the memos' sharing.
func TestMsgpackMemosMatchReferenceConcurrently(t *testing.T) {
	keys := []string{OptEncKey, OptPPTKeyID, OptEncAlgo, OptAcknowledge, "a", "\x00b"}
	vals := []any{"k1", "k2", "", "\x00x", true, false, int64(1), int64(-1), int64(1 << 40),
		uint64(1), float64(1), 1, []byte{1}, []byte("k1"), nil}
	gen := func(r *rand.Rand) any {
		d := map[string]any{}
		for range r.IntN(5) {
			var v any
			switch i := r.IntN(len(vals) + 2); i {
			case len(vals):
				v = map[string]any{OptEncKey: "k1"}
			case len(vals) + 1:
				v = []any{"k1"}
			default:
				v = vals[i]
			}
			d[keys[r.IntN(len(keys))]] = v
		}
		if r.IntN(2) == 0 {
			d[OptEncKey] = []string{"k1", "k2", "k3", "k4", "k5", "k6"}[r.IntN(6)]
		}
		var v any = d
		depth := r.IntN(3)
		if depth == 2 {
			depth = NestMessage.limit() - 1
		}
		for range depth {
			v = []any{v}
		}
		return v
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 3000 {
				v := gen(r)
				for _, nest := range []Nest{NestValue, NestMessage} {
					want, wantErr := refMsgpackAppend(nil, v, nest)
					got, err := msgpackAppend(nil, v, 0, nest.limit())
					if errText(err) != errText(wantErr) || err == nil && !bytes.Equal(got, want) {
						t.Errorf("encoding %#v (nest %d): %x, %v; reference %x, %v", v, nest, got, err, want, wantErr)
						return
					}
					if wantErr != nil {
						continue
					}
					for _, limit := range []int{NestValue.limit(), NestMessage.limit()} {
						rv, rerr := refMsgpackDecode(want, limit)
						fv, ok := msgpackDecode(want, limit)
						if ok != (rerr == nil) || ok && !reflect.DeepEqual(fv, rv) {
							t.Errorf("reading %x (limit %d): %#v, %v; reference %#v, %v", want, limit, fv, ok, rv, rerr)
							return
						}
						for ok {
							if l, isList := fv.([]any); isList {
								fv = l[0]
								continue
							}
							if m, isDict := fv.(map[string]any); isDict {
								m[OptEncKey], m["zz"] = "changed", int64(5)
								delete(m, OptEncAlgo)
							}
							break
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}

// The kept topics and procedures (uris) are shared by every goroutine too: PUBLISHes and
// CALLs with more URIs in turn than there are slots, read from several goroutines at
// once, are what the list form reads, and a caller's changes to what it read do not
// reach the next read. Run with -race, it also checks the sharing.
func TestKeptURIsConcurrently(t *testing.T) {
	var frames [][]byte
	for i := range 2 * keptSlots {
		uri := fmt.Sprintf("com.example.uri%d", i)
		for _, m := range []Message{
			&Publish{Request: ID(i + 1), Options: Dict{}, Topic: uri, Payload: Payload{Args: List{int64(i)}}},
			&Call{Request: ID(i + 1), Options: Dict{OptEncKey: "k1", OptEncAlgo: EncAlgoCryptobox}, Procedure: uri, Payload: Payload{Bare: []byte{byte(i)}}},
		} {
			f, err := MsgPack.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, f)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 2))
			for range 5000 {
				f := frames[r.IntN(len(frames))]
				got, err := MsgPack.Unmarshal(f)
				want, werr := msgpackUnmarshalList(f)
				if err != nil || werr != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%x: %#v, %v; through the list %#v, %v", f, got, err, want, werr)
					return
				}
				switch m := got.(type) {
				case *Publish:
					m.Options["x"], m.Args[0] = true, "changed"
				case *Call:
					m.Options[OptEncKey], m.Bare[0] = "changed", 0xff
				}
			}
		}()
	}
	wg.Wait()
}
