package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// clients are the three variants of every Vault benchmark.
var clients = []string{"sdk", "plain", "vaultapi"}

// vaultCase is one operation at one size and concurrency, in the three
// variants: Benchmark<Op>/<params>/client=<variant>.
type vaultCase struct {
	bench   string // e.g. BenchmarkRead/size=100B/conc=1
	op      string // read, create, update, delete, list, wrap
	params  map[string]string
	conc    int
	clients map[string]map[string]summary // variant → unit → rounds
}

// label names the case in tables and the chart: "100 B, 8 goroutines",
// "returning user, TLS, 8 goroutines".
func (c *vaultCase) label() string {
	var what string
	switch {
	case c.params["user"] != "":
		what = c.params["user"] + " user"
		if c.params["wire"] == "tls" {
			what += ", TLS"
		}
	case c.params["names"] != "":
		n, _ := strconv.Atoi(c.params["names"])
		what = thousands(n) + " names"
	case c.params["size"] != "":
		what = sizeLabel(c.params["size"])
	}
	who := "serial"
	if c.conc > 1 {
		who = fmt.Sprintf("%d goroutines", c.conc)
	}
	if what == "" {
		return who
	}
	return what + ", " + who
}

// ratio is the SDK's median over another client's, for one unit, and
// whether the difference is inside the noise.
type ratio struct {
	value float64
	p     float64
	ok    bool // both clients have results
}

func (r ratio) noise() bool { return r.p >= alpha }

func (c *vaultCase) ratio(other, unit string) ratio {
	sdk, ok1 := c.clients["sdk"][unit]
	o, ok2 := c.clients[other][unit]
	if !ok1 || !ok2 || o.median == 0 {
		if ok1 && ok2 && sdk.median == 0 {
			return ratio{value: 1, p: 1, ok: true} // 0 of both
		}
		return ratio{}
	}
	return ratio{value: sdk.median / o.median, p: mannWhitney(sdk.values, o.values), ok: true}
}

func (c *vaultCase) median(client, unit string) float64 {
	s, ok := c.clients[client][unit]
	if !ok {
		return math.NaN()
	}
	return s.median
}

// clientSide is one client-side benchmark (no Vault): an operation on a
// value of one size.
type clientSide struct {
	op, size string
	units    map[string]summary
}

// sessionsRun is BenchmarkTenant's sessions=<n>: the cost of n live
// sessions of one Client, per session.
type sessionsRun struct {
	n     int
	units map[string]summary
}

// analysis is what the report and the chart show.
type analysis struct {
	cases    []*vaultCase
	client   []*clientSide
	sessions []*sessionsRun
	rounds   int
	// spread is the typical (median over benchmarks) largest distance of
	// a round from the median, per unit.
	spread map[string]float64
}

func analyze(s *resultSet) *analysis {
	a := &analysis{rounds: len(s.rounds), spread: map[string]float64{}}
	byBench := map[string]*vaultCase{}
	spreads := map[string][]float64{}
	for _, name := range s.names {
		perUnit := map[string]summary{}
		for _, u := range units(s.samples[name]) {
			var v []float64
			for _, sample := range s.samples[name] {
				if x, ok := sample[u]; ok {
					v = append(v, x)
				}
			}
			if len(v) > 0 {
				perUnit[u] = summarize(v)
				if u == "ns/op" || u == "B/op" || u == "allocs/op" {
					spreads[u] = append(spreads[u], perUnit[u].spread())
				}
			}
		}
		if rest, ok := strings.CutPrefix(name, tenantBench+"/sessions="); ok {
			n, _ := strconv.Atoi(rest)
			a.sessions = append(a.sessions, &sessionsRun{n: n, units: perUnit})
			continue
		}
		if rest, ok := strings.CutPrefix(name, "BenchmarkClientSide/"); ok {
			p := params(rest)
			a.client = append(a.client, &clientSide{op: p["op"], size: p["size"], units: perUnit})
			continue
		}
		bench, variant, ok := strings.Cut(name, "/client=")
		if !ok {
			continue
		}
		c := byBench[bench]
		if c == nil {
			top, rest, _ := strings.Cut(bench, "/")
			c = &vaultCase{
				bench:   bench,
				op:      strings.ToLower(strings.TrimPrefix(top, "Benchmark")),
				params:  params(rest),
				clients: map[string]map[string]summary{},
			}
			c.conc, _ = strconv.Atoi(c.params["conc"])
			byBench[bench] = c
			a.cases = append(a.cases, c)
		}
		c.clients[variant] = perUnit
	}
	for u, v := range spreads {
		slices.Sort(v)
		a.spread[u] = median(v)
	}
	return a
}

// units returns the units of a benchmark's samples, sorted.
func units(samples []map[string]float64) []string {
	var us []string
	for _, sample := range samples {
		for u := range sample {
			if !slices.Contains(us, u) {
				us = append(us, u)
			}
		}
	}
	slices.Sort(us)
	return us
}

// params splits "size=100B/conc=1" into its keys and values.
func params(s string) map[string]string {
	p := map[string]string{}
	for _, kv := range strings.Split(s, "/") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			p[k] = v
		}
	}
	return p
}

// ops returns the operations of the cases, in order of appearance.
// cachedOp is the operation of BenchmarkCachedRead, which issue 11's
// targets leave out: it asks Vault nothing.
const cachedOp = "cachedread"

// tenantBench is the benchmark of one service acting for many users,
// and tenantCases the operation of its cases, whose targets (issue 20's)
// are their own.
const (
	tenantBench = "BenchmarkTenant"
	tenantCases = "tenant"
)

// uncached returns a with the cached reads and the tenant cases left
// out: the cases of issue 11's targets.
func (a *analysis) uncached() *analysis { return a.without(cachedOp, tenantCases) }

// without returns a with the cases of ops left out.
func (a *analysis) without(ops ...string) *analysis {
	b := *a
	b.cases = nil
	for _, c := range a.cases {
		if !slices.Contains(ops, c.op) {
			b.cases = append(b.cases, c)
		}
	}
	return &b
}

// tenant returns the tenant cases.
func (a *analysis) tenant() []*vaultCase {
	var cs []*vaultCase
	for _, c := range a.cases {
		if c.op == tenantCases {
			cs = append(cs, c)
		}
	}
	return cs
}

// find returns the case of op at size and conc, or nil.
func (a *analysis) find(op, size string, conc int) *vaultCase {
	for _, c := range a.cases {
		if c.op == op && c.params["size"] == size && c.conc == conc {
			return c
		}
	}
	return nil
}

func (a *analysis) ops() []string {
	var ops []string
	for _, c := range a.cases {
		if !slices.Contains(ops, c.op) {
			ops = append(ops, c.op)
		}
	}
	return ops
}

func sizeLabel(s string) string {
	for _, u := range []string{"KB", "MB", "B"} {
		if n, ok := strings.CutSuffix(s, u); ok {
			if u == "KB" {
				u = "kB"
			}
			return n + " " + u
		}
	}
	return s
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Formatting of values.

func fmtNs(ns float64) string {
	switch {
	case math.IsNaN(ns):
		return "–"
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
	return fmt.Sprintf("%.2f s", ns/1e9)
}

func fmtBytes(b float64) string {
	switch {
	case math.IsNaN(b):
		return "–"
	case b < 1e3:
		return fmt.Sprintf("%.0f B", b)
	case b < 1e6:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
	return fmt.Sprintf("%.2f MB", b/1e6)
}

func fmtCount(n float64) string {
	switch {
	case math.IsNaN(n):
		return "–"
	case n == math.Trunc(n) || n >= 100:
		return thousands(int(math.Round(n)))
	}
	return strconv.FormatFloat(n, 'f', 2, 64)
}

func fmtUnit(unit string, v float64) string {
	switch unit {
	case "ns/op":
		return fmtNs(v)
	case "B/op":
		return fmtBytes(v)
	}
	return fmtCount(v)
}

// fmtRatio prints a ratio, with ~ when it is inside the noise.
func fmtRatio(r ratio) string {
	if !r.ok {
		return "–"
	}
	s := fmtRatioValue(r.value)
	if r.noise() {
		s += " ~"
	}
	return s
}

// fmtRatioValue writes a ratio with two decimals, or two significant
// digits below 0.1 (a cached read is a thousandth of a request).
func fmtRatioValue(v float64) string {
	if v < 0.1 {
		return fmt.Sprintf("%.2g×", v)
	}
	return fmt.Sprintf("%.2f×", v)
}

func fmtSpread(s summary) string {
	if len(s.values) < 2 {
		return ""
	}
	return fmt.Sprintf(" ±%.0f%%", 100*s.spread())
}
