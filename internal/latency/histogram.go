// Package latency records durations in a histogram of bounded relative error and reports
// their percentiles, for `cbx bench`.
//
// A benchmark of a million events cannot keep every sample per subscriber cheaply, and a
// percentile needs no more than a bounded relative error: the histogram has the log-linear
// layout of HdrHistogram (Gil Tene) with 128 buckets per power of two, so that
//
//   - values below 256 (nanoseconds) are counted exactly;
//   - a larger value shares its bucket only with values less than 1/128 (0.79 %) apart;
//   - the histogram has a fixed size (7,424 counters, 58 KiB), whatever the number of
//     samples, and histograms merge by adding their counters.
//
// Min, Max, Count and Mean are exact. A percentile is the nearest-rank value (the smallest
// recorded value v such that at least p % of the samples are ≤ v) rounded up to the end
// of its bucket and clamped to [Min, Max]: never below the exact value and at most 0.79 %
// above it. Rounding up is HdrHistogram's choice too: a reported p99 of 500 µs means at
// least 99 % of the samples were no slower.
//
// It knows nothing of cbx: values are int64 nanoseconds (a time.Duration), and a
// Histogram is not safe for concurrent use (one per recording goroutine, merged at the end).
package latency

import (
	"math"
	"math/bits"
	"time"
)

const (
	subBits  = 7
	subCount = 1 << subBits // buckets per power of two
	// The exact range is [0, 2·subCount); each later power of two 2^(e+subBits) ..
	// 2^(e+subBits+1)-1 has subCount buckets of width 2^e, e = 1 … 63-subBits.
	numBuckets = (64-subBits)*subCount + subCount
)

// Histogram counts durations. The zero value is empty and ready to use.
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	min, max int64
	sum      float64 // in nanoseconds; a float so that it cannot overflow
}

// bucketOf returns the index of v's bucket; v ≥ 0.
func bucketOf(v int64) int {
	u := uint64(v)
	if u < 2*subCount {
		return int(u)
	}
	e := bits.Len64(u) - (subBits + 1) // the shift that leaves subBits+1 significant bits
	return e*subCount + int(u>>e)
}

// bucketHigh is the largest value that falls into bucket i.
func bucketHigh(i int) int64 {
	if i < 2*subCount {
		return int64(i)
	}
	e := i/subCount - 1
	top := uint64(i-e*subCount) << e // the bucket's lowest value
	high := top + (uint64(1) << e) - 1
	if high > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(high)
}

// Record adds one duration. A negative one (impossible on a monotonic clock, but a peer's
// timestamp might produce one) counts as 0.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if h.n == 0 || o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Min is the smallest sample, exactly; 0 when there is none.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max is the largest sample, exactly; 0 when there is none.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the arithmetic mean of the samples; 0 when there is none.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Percentile returns the p-th percentile (0 < p ≤ 100) as the package comment defines
// it; 0 when there are no samples. p ≤ 0 returns Min, p > 100 Max.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if p <= 0 {
		return time.Duration(h.min)
	}
	// Nearest rank: the smallest rank r with r ≥ p/100·n, at least 1.
	rank := uint64(math.Ceil(p / 100 * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(max(bucketHigh(i), h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
