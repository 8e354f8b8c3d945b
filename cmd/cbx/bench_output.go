package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cbx-wamp/cbx/internal/latency"
)

// benchResult is one mode of one benchmark run.
type benchResult struct {
	o                *benchOptions
	bench, mode      string
	round            int
	router           string // the URL, or "embedded"
	serializer       string
	form             string // the sealed form (legacy, ppt); "" in plaintext
	started          time.Time
	elapsed          time.Duration // first timed message sent → last one received
	pubElapsed       time.Duration // first timed message sent → last one published (pubsub)
	expected         uint64
	received         uint64 // distinct events received, calls completed
	lost             uint64
	dups             uint64
	errors           uint64 // could not be opened, malformed, or sealed when not due (or the reverse)
	firstErr         error
	firstFail        error  // the first failed call (call)
	dropped          uint64 // what the router reported dropping (pubsub)
	hist             latency.Histogram
	msgsPerS, mbPerS float64
	pubPerS          float64
}

// rates computes the throughput figures.
func (r *benchResult) rates() {
	if s := r.elapsed.Seconds(); s > 0 {
		r.msgsPerS = float64(r.received) / s
		r.mbPerS = r.msgsPerS * float64(r.o.size) / 1e6
	}
	if s := r.pubElapsed.Seconds(); s > 0 {
		r.pubPerS = float64(r.o.msgs) / s
	}
}

// benchField is one named figure of a result, in the order --json and --csv print them.
type benchField struct {
	name  string
	value any // string, int, uint64, or benchFloat
}

// benchFloat is a figure printed with a fixed number of decimals.
type benchFloat struct {
	v    float64
	prec int
}

func (f benchFloat) String() string { return strconv.FormatFloat(f.v, 'f', f.prec, 64) }

func micros(d time.Duration) benchFloat { return benchFloat{float64(d) / 1e3, 3} }

// fields lists a result's figures, each name saying its unit. docs/bench.md describes
// every one; scripts read them by name, so a name never changes meaning.
func (r *benchResult) fields() []benchField {
	r.rates()
	o := r.o
	out := []benchField{
		{"bench", r.bench}, {"mode", r.mode}, {"round", r.round}, {"router", r.router}, {"serializer", r.serializer},
		{"sealed_form", r.form}, {"started", r.started.Format(time.RFC3339)},
		{"msgs", o.msgs}, {"size_bytes", o.size}, {"warmup", o.warmup},
	}
	if r.bench == "pubsub" {
		out = append(out, benchField{"pubs", o.pubs}, benchField{"subs", o.subs}, benchField{"window", o.window}, benchField{"rate_per_s", o.rate})
	} else {
		out = append(out, benchField{"concurrency", o.concurrency}, benchField{"procedure", o.procedure})
	}
	out = append(out,
		benchField{"elapsed_s", benchFloat{r.elapsed.Seconds(), 6}},
		benchField{"msgs_per_s", benchFloat{r.msgsPerS, 1}},
		benchField{"mb_per_s", benchFloat{r.mbPerS, 3}},
	)
	if r.bench == "pubsub" {
		out = append(out, benchField{"pub_msgs_per_s", benchFloat{r.pubPerS, 1}})
	}
	out = append(out,
		benchField{"expected", r.expected}, benchField{"received", r.received}, benchField{"lost", r.lost},
		benchField{"duplicates", r.dups}, benchField{"errors", r.errors},
	)
	if r.bench == "pubsub" {
		out = append(out, benchField{"router_dropped", r.dropped})
	}
	h := &r.hist
	return append(out,
		benchField{"min_us", micros(h.Min())}, benchField{"mean_us", micros(h.Mean())},
		benchField{"p50_us", micros(h.Percentile(50))}, benchField{"p90_us", micros(h.Percentile(90))},
		benchField{"p99_us", micros(h.Percentile(99))}, benchField{"p99_9_us", micros(h.Percentile(99.9))},
		benchField{"max_us", micros(h.Max())},
	)
}

// fieldText is a figure as CSV and the table print it.
func fieldText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case uint64:
		return strconv.FormatUint(v, 10)
	case benchFloat:
		return v.String()
	}
	panic(fmt.Sprintf("bench field of type %T", v))
}

// writeBenchResults prints the results as --json, --csv or the table asks.
func writeBenchResults(f *factory, o *benchOptions, results []*benchResult) error {
	switch {
	case o.json:
		return writeBenchJSON(f.io.Out, results)
	case o.csv:
		return writeBenchCSV(f.io.Out, results)
	}
	return writeBenchTable(f, o, results)
}

// writeBenchJSON prints one JSON object per result, fields in their fixed order.
func writeBenchJSON(w io.Writer, results []*benchResult) error {
	var b strings.Builder
	for _, r := range results {
		b.WriteByte('{')
		for i, fl := range r.fields() {
			if i > 0 {
				b.WriteByte(',')
			}
			name, _ := json.Marshal(fl.name)
			b.Write(name)
			b.WriteByte(':')
			if s, ok := fl.value.(string); ok {
				v, _ := json.Marshal(s)
				b.Write(v)
			} else {
				b.WriteString(fieldText(fl.value))
			}
		}
		b.WriteString("}\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeBenchCSV prints a header and one row per result.
func writeBenchCSV(w io.Writer, results []*benchResult) error {
	cw := csv.NewWriter(w)
	for i, r := range results {
		fields := r.fields()
		if i == 0 {
			names := make([]string, len(fields))
			for j, fl := range fields {
				names[j] = fl.name
			}
			cw.Write(names)
		}
		row := make([]string, len(fields))
		for j, fl := range fields {
			row[j] = fieldText(fl.value)
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// writeBenchTable prints the results for a person: what ran, then one row per mode.
// Colour only on a terminal without NO_COLOR (messages.go).
func writeBenchTable(f *factory, o *benchOptions, results []*benchResult) error {
	var out io.Writer = f.io.Out
	if file, ok := f.io.outFile(); ok {
		out = file // for the renderer's terminal detection; writes still go through f.io.Out
	}
	st := newStyles(out, f.io.stdoutTTY, f.io.noColor)
	var b strings.Builder
	b.WriteString(benchHeadline(o, results[0]) + "\n\n")

	head := []string{"payload", "msgs/s", "MB/s", "min", "p50", "p90", "p99", "p99.9", "max", "lost"}
	if o.rounds > 1 {
		head = slices.Insert(head, 1, "round")
	}
	rows := [][]string{head}
	for _, r := range results {
		r.rates()
		h := &r.hist
		row := []string{
			r.mode, groupDigits(uint64(r.msgsPerS + 0.5)), strconv.FormatFloat(r.mbPerS, 'f', 2, 64),
			benchDuration(h.Min()), benchDuration(h.Percentile(50)), benchDuration(h.Percentile(90)),
			benchDuration(h.Percentile(99)), benchDuration(h.Percentile(99.9)), benchDuration(h.Max()),
			groupDigits(r.lost),
		}
		if o.rounds > 1 {
			row = slices.Insert(row, 1, strconv.Itoa(r.round))
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(head))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for n, row := range rows {
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			cell := pad + c // figures right-aligned
			if i == 0 {
				cell = c + pad
			}
			switch {
			case n == 0:
				cell = st.head.Render(cell)
			case i == len(row)-1 && results[n-1].lost > 0:
				cell = st.warn.Render(cell)
			}
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(cell)
		}
		b.WriteByte('\n')
	}
	if o.mode == "both" && o.procedure == "" {
		plainRate, plainP50 := medianRate(results, "plain")
		sealedRate, sealedP50 := medianRate(results, "sealed")
		if plainRate > 0 {
			of := ""
			if o.rounds > 1 {
				of = fmt.Sprintf(" (medians of %d rounds)", o.rounds)
			}
			b.WriteString(st.dim.Render(fmt.Sprintf("sealed: %.0f %% of plain's msgs/s; p50 %s, %s in plaintext%s",
				100*sealedRate/plainRate, benchDuration(sealedP50), benchDuration(plainP50), of)) + "\n")
		}
	}
	_, err := io.WriteString(f.io.Out, b.String())
	return err
}

// medianRate is the median msgs/s and p50 latency of a mode's results.
func medianRate(results []*benchResult, mode string) (float64, time.Duration) {
	var rates []float64
	var p50s []time.Duration
	for _, r := range results {
		if r.mode == mode {
			rates = append(rates, r.msgsPerS)
			p50s = append(p50s, r.hist.Percentile(50))
		}
	}
	if len(rates) == 0 {
		return 0, 0
	}
	slices.Sort(rates)
	slices.Sort(p50s)
	n := len(rates)
	if n%2 == 1 {
		return rates[n/2], p50s[n/2]
	}
	return (rates[n/2-1] + rates[n/2]) / 2, (p50s[n/2-1] + p50s[n/2]) / 2
}

// benchHeadline says what ran, in one line.
func benchHeadline(o *benchOptions, r *benchResult) string {
	where := "an embedded cbx router"
	if r.router != "embedded" {
		where = r.router
	}
	plural := func(n int, one, many string) string { return countOf(uint64(n), one, many) }
	if o.bench == "call" {
		to := ""
		if o.procedure != "" {
			to = fmt.Sprintf(" to %q (its callee elsewhere)", o.procedure)
		}
		return fmt.Sprintf("cbx bench call: %s of %d bytes%s, %s, %s, through %s",
			plural(o.msgs, "call", "calls"), o.size, to, plural(o.concurrency, "caller", "callers"), r.serializer, where)
	}
	flow := fmt.Sprintf("window %d", o.window)
	if o.window == 0 {
		flow = "unacknowledged"
	}
	if o.rate > 0 {
		flow += fmt.Sprintf(", %s events/s per publisher", groupDigits(uint64(o.rate)))
	}
	return fmt.Sprintf("cbx bench pubsub: %s of %d bytes, %s → %s, %s, %s, through %s",
		plural(o.msgs, "event", "events"), o.size, plural(o.pubs, "publisher", "publishers"),
		plural(o.subs, "subscriber", "subscribers"), r.serializer, flow, where)
}

// benchDuration writes a latency for the table: µs below a millisecond, else ms or s.
func benchDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
}

// countOf writes "1 event", "2 events", "1,000 events".
func countOf(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return groupDigits(n) + " " + many
}

// groupDigits writes n with thousands separated by commas.
func groupDigits(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// benchFailure says what went wrong in a run whose results were printed: messages that
// could not be read (exit 3 or 4 for a sealed payload that did not open, else 1), that
// arrived twice (1), or that were lost (9).
func benchFailure(results []*benchResult) error {
	for _, r := range results {
		if r.errors > 0 {
			what := countOf(r.errors, "event", "events")
			if r.bench == "call" {
				what = countOf(r.errors, "result", "results")
			}
			return fmt.Errorf("%s: %s could not be read; the first: %w", r.mode, what, r.firstErr)
		}
	}
	for _, r := range results {
		if r.dups > 0 {
			return withCode(exitError, fmt.Errorf("%s: %s more than once", r.mode, countOf(r.dups, "event arrived", "events arrived")))
		}
	}
	var lost []string
	var hints []string
	for _, r := range results {
		if r.lost == 0 {
			continue
		}
		if r.bench == "call" {
			lost = append(lost, fmt.Sprintf("%s: %s of %s failed (the first: %v)", r.mode, groupDigits(r.lost), countOf(r.expected, "call", "calls"), r.firstFail))
			continue
		}
		lost = append(lost, fmt.Sprintf("%s: %s of %s did not arrive", r.mode, groupDigits(r.lost), countOf(r.expected, "event", "events")))
		if r.dropped > 0 {
			hints = append(hints, fmt.Sprintf("%s: the router reported dropping %s", r.mode, countOf(r.dropped, "event", "events")))
		}
	}
	if len(lost) == 0 {
		return nil
	}
	if len(hints) > 0 {
		hints = append(hints, "a subscriber did not keep up: a smaller --window or a --rate keeps the router's queues short; cbx router --queue-size makes them longer")
	}
	return withCode(exitLost, errors.New(strings.Join(lost, "; ")), hints...)
}
