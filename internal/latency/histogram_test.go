package latency

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactPercentile is the nearest-rank percentile of samples, computed from the sorted
// samples themselves: the value at rank ⌈p/100·n⌉ (1-based), at least rank 1.
func exactPercentile(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

var percentiles = []float64{0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100}

func record(values []int64) *Histogram {
	h := &Histogram{}
	for _, v := range values {
		h.Record(time.Duration(v))
	}
	return h
}

// 1 … 100 ns: every value is in the exact range, so each percentile is the textbook one.
func TestPercentilesOfOneToHundred(t *testing.T) {
	var values []int64
	for v := int64(100); v >= 1; v-- { // recorded in reverse: order must not matter
		values = append(values, v)
	}
	h := record(values)
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {90, 90}, {99, 99}, {99.9, 100}, {100, 100}, {1, 1}, {0.5, 1}} {
		if got := h.Percentile(c.p); got != c.want {
			t.Errorf("p%v of 1…100 = %v, want %v", c.p, got, c.want)
		}
	}
	if h.Min() != 1 || h.Max() != 100 || h.Count() != 100 || h.Mean() != 50 { // mean 50.5 truncated
		t.Errorf("min %v max %v count %d mean %v, want 1 100 100 50", h.Min(), h.Max(), h.Count(), h.Mean())
	}
}

// Below 256 ns the histogram is exact: every percentile equals the sorted samples' own.
func TestPercentilesExactBelow256(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		n := 1 + r.IntN(3000)
		values := make([]int64, n)
		for i := range values {
			values[i] = r.Int64N(256)
		}
		h := record(values)
		slices.Sort(values)
		for _, p := range percentiles {
			if got, want := int64(h.Percentile(p)), exactPercentile(values, p); got != want {
				t.Fatalf("round %d (n=%d): p%v = %d, want %d", round, n, p, got, want)
			}
		}
	}
}

// Above, a percentile is never below the exact value and less than 1/128 of it above.
func TestPercentilesBoundedError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 50; round++ {
		n := 1 + r.IntN(20000)
		values := make([]int64, n)
		for i := range values {
			// Log-uniform from 1 ns to about 17 minutes, as latencies spread.
			values[i] = int64(math.Exp(r.Float64() * math.Log(1e12)))
		}
		h := record(values)
		slices.Sort(values)
		for _, p := range percentiles {
			got, want := int64(h.Percentile(p)), exactPercentile(values, p)
			if got < want || float64(got-want) >= float64(want)/128 && got != want {
				t.Fatalf("round %d (n=%d): p%v = %d, exact %d: off by more than 1/128", round, n, p, got, want)
			}
		}
		if int64(h.Min()) != values[0] || int64(h.Max()) != values[n-1] {
			t.Fatalf("min %d max %d, want %d %d", h.Min(), h.Max(), values[0], values[n-1])
		}
		var sum float64
		for _, v := range values {
			sum += float64(v)
		}
		if got, want := float64(h.Mean()), sum/float64(n); math.Abs(got-want) > 1 {
			t.Fatalf("mean %v, want %v", got, want)
		}
	}
}

// One value repeated: every percentile is that value exactly (clamped to min and max),
// however large.
func TestPercentilesOfOneValue(t *testing.T) {
	for _, v := range []int64{0, 1, 255, 256, 257, 1000, 123456789, math.MaxInt64} {
		h := record([]int64{v, v, v})
		for _, p := range percentiles {
			if got := int64(h.Percentile(p)); got != v {
				t.Errorf("p%v of {%d ×3} = %d", p, v, got)
			}
		}
	}
}

// Histograms recorded apart and merged answer as one that recorded everything.
func TestMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	all := &Histogram{}
	merged := &Histogram{}
	merged.Merge(&Histogram{}) // merging an empty one changes nothing
	for part := 0; part < 4; part++ {
		h := &Histogram{}
		for i := 0; i < 1000; i++ {
			v := time.Duration(r.Int64N(int64(time.Second)))
			h.Record(v)
			all.Record(v)
		}
		merged.Merge(h)
	}
	if *merged != *all {
		t.Fatalf("merged histogram differs: count %d/%d min %v/%v max %v/%v", merged.Count(), all.Count(), merged.Min(), all.Min(), merged.Max(), all.Max())
	}
}

// The buckets tile [0, MaxInt64] without gaps or overlaps, each of width below 1/128 of
// its values.
func TestBucketsTile(t *testing.T) {
	last := bucketOf(math.MaxInt64)
	if last >= numBuckets {
		t.Fatalf("MaxInt64 falls in bucket %d of %d", last, numBuckets)
	}
	for i := 0; i <= last; i++ {
		high := bucketHigh(i)
		if bucketOf(high) != i {
			t.Fatalf("bucket %d: its highest value %d falls in bucket %d", i, high, bucketOf(high))
		}
		if i == last {
			if high != math.MaxInt64 {
				t.Fatalf("the last bucket ends at %d", high)
			}
			break
		}
		if bucketOf(high+1) != i+1 {
			t.Fatalf("bucket %d ends at %d, but %d falls in bucket %d", i, high, high+1, bucketOf(high+1))
		}
		if i > 0 {
			low := bucketHigh(i-1) + 1
			if width := high - low + 1; i >= 2*subCount && float64(width) > float64(low)/subCount {
				t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its values", i, low, high, subCount)
			}
		}
	}
}

func TestEmptyAndNegative(t *testing.T) {
	h := &Histogram{}
	if h.Percentile(50) != 0 || h.Min() != 0 || h.Max() != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Fatal("an empty histogram reports something")
	}
	h.Record(-5)
	if h.Min() != 0 || h.Percentile(99) != 0 || h.Count() != 1 {
		t.Fatalf("a negative duration is not counted as 0: min %v p99 %v", h.Min(), h.Percentile(99))
	}
}
