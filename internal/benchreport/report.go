package main

import (
	"fmt"
	"math"
	"strings"
)

// verdict is a target's outcome.
type verdict struct {
	target, result, detail string
}

const (
	met    = "met"
	missed = "**missed**"
	noise  = "inside the noise"
)

// targets checks issue 11's targets, on the reads, writes, lists and
// wraps that ask Vault, issue 12's target for a cached read, and issue
// 20's for one service acting for many users.
func targets(a *analysis) []verdict {
	return append(sessionTargets(a), tenantTargets(a)...)
}

// sessionTargets checks issue 11's and 12's targets: operations on one
// session.
func sessionTargets(a *analysis) []verdict {
	var vs []verdict
	vs = append(vs, cachedTarget(a)...)
	a = a.uncached()

	// Every operation: median within 1.05× of plain net/http.
	var within, tied []string
	var over []string
	for _, c := range a.cases {
		r := c.ratio("plain", "ns/op")
		switch {
		case !r.ok:
		case r.value <= 1.05:
			within = append(within, c.op+" "+c.label())
		case r.noise():
			tied = append(tied, fmt.Sprintf("%s %s (%.2f×)", c.op, c.label(), r.value))
		default:
			over = append(over, fmt.Sprintf("%s %s (%.2f×)", c.op, c.label(), r.value))
		}
	}
	vs = append(vs, verdict{"Every operation: median time within 1.05× of plain net/http doing the same requests",
		outcome(len(over), len(tied)),
		countDetail(len(within), len(a.cases), "at or below 1.05×", "above, but inside the noise", tied, over)})

	// Reads beat vault/api's KVv2.Get.
	within, tied, over = nil, nil, nil
	n := 0
	for _, c := range a.cases {
		if c.op != "read" {
			continue
		}
		n++
		r := c.ratio("vaultapi", "ns/op")
		switch {
		case !r.ok:
		case r.value < 1 && !r.noise():
			within = append(within, c.label())
		case r.noise():
			tied = append(tied, fmt.Sprintf("%s (%.2f×)", c.label(), r.value))
		default:
			over = append(over, fmt.Sprintf("%s (%.2f×)", c.label(), r.value))
		}
	}
	vs = append(vs, verdict{"Reads faster than vault/api's KVv2.Get",
		outcome(len(over), len(tied)), countDetail(len(within), n, "faster, beyond the noise", "a difference inside the noise", tied, over)})

	// allocs/op at most vault/api's helper's.
	within, over = nil, nil
	for _, c := range a.cases {
		sdk, other := c.median("sdk", "allocs/op"), c.median("vaultapi", "allocs/op")
		if math.IsNaN(sdk) || math.IsNaN(other) {
			continue
		}
		if sdk <= other {
			within = append(within, c.op+" "+c.label())
		} else {
			over = append(over, fmt.Sprintf("%s %s (%s against %s)", c.op, c.label(), fmtCount(sdk), fmtCount(other)))
		}
	}
	vs = append(vs, verdict{"allocs/op at most vault/api's helper's",
		outcome(len(over), 0), countDetail(len(within), len(a.cases), "at most vault/api's", "", nil, over)})

	// Parallel throughput at 32 goroutines at least 0.95× plain.
	within, tied, over = nil, nil, nil
	n = 0
	for _, c := range a.cases {
		if c.conc != 32 {
			continue
		}
		n++
		r := c.ratio("plain", "ns/op")
		if !r.ok {
			continue
		}
		throughput := 1 / r.value
		switch {
		case throughput >= 0.95:
			within = append(within, c.op+" "+c.label())
		case r.noise():
			tied = append(tied, fmt.Sprintf("%s %s (%.2f×)", c.op, c.label(), throughput))
		default:
			over = append(over, fmt.Sprintf("%s %s (%.2f×)", c.op, c.label(), throughput))
		}
	}
	vs = append(vs, verdict{"Throughput at 32 goroutines at least 0.95× plain net/http's",
		outcome(len(over), len(tied)), countDetail(len(within), n, "at or above 0.95×", "below, but inside the noise", tied, over)})

	// List of 10,000 names: one request, memory within 2× plain.
	var details []string
	bad := 0
	for _, c := range a.cases {
		if c.op != "list" || c.params["names"] != "10000" {
			continue
		}
		req := c.median("sdk", "requests/op")
		r := c.ratio("plain", "B/op")
		details = append(details, fmt.Sprintf("%s: %s request/op, %s the memory of plain", c.label(), fmtCount(req), fmtRatio(r)))
		if req != 1 || !r.ok || r.value > 2 {
			bad++
		}
	}
	vs = append(vs, verdict{"List of 10,000 names: one request, memory within 2× plain net/http's",
		outcome(bad, 0), strings.Join(details, "; ")})

	// Client-side work under 5 µs for 1 KB, linear in size.
	details, bad = nil, 0
	for _, op := range []string{"encode", "inspect", "decode"} {
		cs := a.clientSide(op, "1KB")
		if cs == nil {
			continue
		}
		ns := cs.units["ns/op"].median
		details = append(details, fmt.Sprintf("%s %s", op, fmtNs(ns)))
		if ns >= 5000 {
			bad++
		}
	}
	if len(details) > 0 {
		vs = append(vs, verdict{"Client-side work (encode with the envelope check, the check alone, decode) under 5 µs for a 1 kB value",
			outcome(bad, 0), "at 1 kB: " + strings.Join(details, ", ")})
	}
	details, bad = nil, 0
	for _, op := range []string{"encode", "inspect", "decode", "encode-envelope", "decode-envelope"} {
		small, large := a.clientSide(op, "100KB"), a.clientSide(op, "1MB")
		if small == nil || large == nil {
			continue
		}
		perByte := (large.units["ns/op"].median / 1e6) / (small.units["ns/op"].median / 1e5)
		details = append(details, fmt.Sprintf("%s %.2f", op, perByte))
		if perByte > 1.5 {
			bad++
		}
	}
	if len(details) > 0 {
		vs = append(vs, verdict{"Client-side work linear in the value's size",
			outcome(bad, 0), "time per byte at 1 MB over time per byte at 100 kB (1.00: linear): " + strings.Join(details, ", ")})
	}
	return vs
}

// cachedTarget checks issue 12's target: a cached read under 2 µs and 0
// requests.
func cachedTarget(a *analysis) []verdict {
	var details []string
	bad, n := 0, 0
	for _, c := range a.cases {
		if c.op != cachedOp {
			continue
		}
		n++
		ns, req := c.median("sdk", "ns/op"), c.median("sdk", "requests/op")
		details = append(details, fmt.Sprintf("%s: %s, %s requests/op", c.label(), fmtNs(ns), fmtCount(req)))
		if !(ns < 2000) || req != 0 {
			bad++
		}
	}
	if n == 0 {
		return nil
	}
	return []verdict{{"A cached read (Config.CacheTTL) under 2 µs, with 0 requests", outcome(bad, 0), strings.Join(details, "; ")}}
}

// writeCached renders the cached reads beside the same reads without the
// cache and beside plain net/http's.
func writeCached(p func(string, ...any), a *analysis) {
	var rows []string
	for _, c := range a.cases {
		if c.op != cachedOp {
			continue
		}
		uncached := a.find("read", c.params["size"], c.conc)
		if uncached == nil {
			continue
		}
		cached, sdk, plain := c.median("sdk", "ns/op"), uncached.median("sdk", "ns/op"), c.median("plain", "ns/op")
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s |", c.label(), fmtNs(cached), fmtNs(sdk), fmtNs(plain),
			fmtRatioValue(cached/sdk), fmtRatioValue(cached/plain), fmtBytes(c.median("sdk", "B/op")), fmtCount(c.median("sdk", "requests/op"))))
	}
	if len(rows) == 0 {
		return
	}
	p("## Cached reads\n\n")
	p("`BenchmarkCachedRead`: a session with `Config.CacheTTL` set reads a secret it has read before (client=sdk), beside the same read without the cache (`BenchmarkRead`'s client=sdk) and beside plain net/http asking Vault. A cached read returns a deep copy of the value, so its memory is the copy's.\n\n")
	p("| case | cached | uncached SDK | plain net/http | cached ÷ uncached | cached ÷ plain | cached B/op | requests/op |\n")
	p("| --- | --: | --: | --: | --: | --: | --: | --: |\n")
	p("%s\n\n", strings.Join(rows, "\n"))
}

func outcome(missedN, tiedN int) string {
	switch {
	case missedN > 0:
		return missed
	case tiedN > 0:
		return met + ", or " + noise
	}
	return met
}

func countDetail(good, total int, what, tiedWhat string, tied, over []string) string {
	s := fmt.Sprintf("%d of %d cases %s", good, total, what)
	if len(tied) > 0 {
		s += "; " + tiedWhat + ": " + strings.Join(tied, ", ")
	}
	if len(over) > 0 {
		s += "; missed: " + strings.Join(over, ", ")
	}
	return s
}

func (a *analysis) clientSide(op, size string) *clientSide {
	for _, c := range a.client {
		if c.op == op && c.size == size {
			return c
		}
	}
	return nil
}

// writeReport renders BENCHMARKS.md.
func writeReport(o options, a *analysis) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Performance: the SDK beside plain net/http and vault/api\n\n")
	p("<!-- Generated by %s; do not edit. The analysis is internal/benchreport/notes.md. -->\n\n", "`go run ./internal/benchreport`")
	p("What the SDK adds on top of the wire. Every operation runs against the same embedded dev Vault, with the same least-privilege user token (the Edge user policy only), three ways, in the same run:\n\n")
	p("- **sdk**: the SDK call (`sess.Secrets.ReadUserSecret`, ...), on a session made as a service makes it;\n")
	p("- **plain**: the same Vault requests with `net/http` and `encoding/json` alone, the floor any client pays (its transport keeps 64 idle connections);\n")
	p("- **vaultapi**: vault/api's natural helper: `KVv2.Get`, `KVv2.Put` with check-and-set (after `KVv2.GetMetadata` for an update), `KVv2.DeleteMetadata`, `Logical().List`, and a read on a client whose `SetWrappingLookupFunc` asks for wrapping, on a client from `api.DefaultConfig`.\n\n")
	p("Each serially and from 8 and 32 goroutines sharing one client (time per operation is then wall time over operations: the inverse of throughput). Values of 100 B, 10 kB and 500 kB of JSON for read and create, folders of 10, 1,000 and 10,000 names for list. A ratio is the SDK's median over the other client's: **below 1 the SDK is faster or leaner**. `~` marks a difference inside the noise.\n\n")
	p("![SDK ÷ plain net/http and SDK ÷ vault/api, per operation: time, memory and allocations, on a log scale](%s)\n\n", o.chart)

	p("## Targets\n\n")
	p("| target | result | detail |\n| --- | --- | --- |\n")
	for _, v := range targets(a) {
		p("| %s | %s | %s |\n", v.target, v.result, v.detail)
	}
	p("\n")

	single := a.without(tenantCases)
	p("## Ratios\n\n")
	p("SDK ÷ plain net/http and SDK ÷ vault/api, medians of %d rounds.\n\n", a.rounds)
	p("| operation | case | SDK time | time ÷ plain | time ÷ vault/api | B/op ÷ plain | B/op ÷ vault/api | allocs ÷ plain | allocs ÷ vault/api |\n")
	p("| --- | --- | --: | --: | --: | --: | --: | --: | --: |\n")
	for _, c := range single.cases {
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.op, c.label(), fmtNs(c.median("sdk", "ns/op")),
			fmtRatio(c.ratio("plain", "ns/op")), fmtRatio(c.ratio("vaultapi", "ns/op")),
			fmtRatio(c.ratio("plain", "B/op")), fmtRatio(c.ratio("vaultapi", "B/op")),
			fmtRatio(c.ratio("plain", "allocs/op")), fmtRatio(c.ratio("vaultapi", "allocs/op")))
	}
	p("\n")

	writeCached(p, a)
	writeTenant(p, a)

	p("## Medians\n\n")
	p("Per client, the median of %d rounds; ± is the largest distance of a round from the median. dials/op counts the TCP connections a client opened while timed (after a warm-up of one operation per goroutine), requests/op the HTTP requests it sent.\n\n", a.rounds)
	p("| operation | case | client | time | B/op | allocs/op | dials/op | requests/op |\n")
	p("| --- | --- | --- | --: | --: | --: | --: | --: |\n")
	for _, c := range single.cases {
		for _, cl := range clients {
			u, ok := c.clients[cl]
			if !ok {
				continue
			}
			p("| %s | %s | %s | %s%s | %s | %s | %s | %s |\n", c.op, c.label(), cl,
				fmtNs(u["ns/op"].median), fmtSpread(u["ns/op"]), fmtBytes(c.median(cl, "B/op")), fmtCount(c.median(cl, "allocs/op")),
				fmtCount(c.median(cl, "dials/op")), fmtCount(c.median(cl, "requests/op")))
		}
	}
	p("\n")

	if len(a.client) > 0 {
		p("## Client-side work, without Vault\n\n")
		p("What the SDK does to a value on its own (`BenchmarkClientSide`), for values of 1 kB, 100 kB and 1 MB of JSON (the 1 MB one is `MaxValueSize`): **encode** is all a write does before its request (`json.Marshal`, the checks and the exact-JSON envelope decision, the request body); **inspect** is the envelope check alone; **decode** is all a read does with Vault's answer. The `-envelope` rows are a value that holds a number float64 cannot, stored in the exact-JSON envelope. **json-marshal** and **json-decode** are what the plain client does with encoding/json, for comparison. MB/s that holds from 100 kB to 1 MB means time linear in the size.\n\n")
		p("| operation | size | time | MB/s | B/op | allocs/op |\n| --- | --- | --: | --: | --: | --: |\n")
		for _, c := range a.client {
			p("| %s | %s | %s%s | %s | %s | %s |\n", c.op, sizeLabel(c.size), fmtNs(c.units["ns/op"].median), fmtSpread(c.units["ns/op"]),
				fmtCount(math.Round(c.units["MB/s"].median)), fmtBytes(c.units["B/op"].median), fmtCount(c.units["allocs/op"].median))
		}
		p("\n")
	}

	p("## How this was measured\n\n")
	p("- Machine: %s.\n", o.machine)
	p("- Go: %s. Vault: %s (the embedded dev Vault, `cmd/edge-devvault`: in memory, on 127.0.0.1, a child process of the test binary, so B/op and allocs/op are the client's alone).\n", o.goVersion, orUnknown(o.vaultVersion))
	p("- Command: `%s`. It builds the test binary once (`go test -c`) and runs every benchmark once per round, %d rounds, each round in a fresh process with a fresh dev Vault, the same as `%s` run %d times: each benchmark's rounds are spread over the whole run, interleaved with all the others, and each round rotates which client runs first.\n",
		o.command, a.rounds, orUnknown(o.testCommand), a.rounds)
	if len(o.roundsInfo) > 0 {
		p("%s\n", loadReport(o))
	}
	p("- Noise: a difference is inside the noise (`~`) when a two-sided Mann–Whitney U test of the two clients' %d rounds gives p ≥ %.2f, benchstat's test and threshold. The typical largest distance of a round from its median (the median over all benchmarks) is %.1f%% for time, %.1f%% for B/op and %.1f%% for allocs/op: on 2 cores the client and Vault compete for the CPU, so time varies from round to round far more than memory does.\n",
		a.rounds, alpha, 100*a.spread["ns/op"], 100*a.spread["B/op"], 100*a.spread["allocs/op"])
	p("- Raw numbers: rerun with `-raw bench.txt` to keep the benchmark output (benchstat reads it); `-from bench.txt` redraws this report from it.\n\n")

	p("%s", notes)
	return b.String()
}

// loadReport says how busy the machine was with other work. The 1-minute
// load average counts the benchmark's own two processes (the test binary
// and its dev Vault keep it near 2 on 2 cores), so only the load before
// the first round, and the CPU other processes used during each round
// (other-cpu, measured from /proc/stat less the round's own rusage), tell.
func loadReport(o options) string {
	ris := o.roundsInfo
	var rounds []string
	maxOther, haveOther := 0.0, false
	for i, ri := range ris {
		s := fmt.Sprintf("round %d: %s s", i+1, orUnknown(ri.seconds))
		if ri.otherCPU != "" {
			s += fmt.Sprintf(", other work %s cores", ri.otherCPU)
			haveOther = true
			maxOther = max(maxOther, first(ri.otherCPU))
		}
		rounds = append(rounds, s)
	}
	startLoad := ris[0].loadBefore
	var quiet bool
	var how string
	if haveOther {
		// The CPU other processes used during the rounds says it; the
		// 1-minute load average lags (it still counts work that ended
		// before the first round).
		quiet = maxOther < 0.25
		how = fmt.Sprintf("1-minute load average %s before the first round (the benchmark's own test binary and dev Vault then keep it near 2); CPU used by other processes during each round, measured from /proc/stat less the round's own usage: %s", orUnknown(firstField(startLoad)), strings.Join(rounds, "; "))
	} else {
		quiet = first(startLoad) < 1
		var loads []string
		for i, ri := range ris {
			loads = append(loads, fmt.Sprintf("round %d: %s → %s", i+1, firstField(ri.loadBefore), firstField(ri.loadAfter)))
		}
		how = fmt.Sprintf("1-minute load average %s before the first round; during the run the benchmark's own test binary and dev Vault keep it near 2 (before and after each round: %s); round times: %s", orUnknown(firstField(startLoad)), strings.Join(loads, ", "), strings.Join(rounds, ", "))
	}
	if o.machineNote != "" {
		how += "; " + o.machineNote
	}
	if quiet {
		return "- Machine state: otherwise quiet: " + how + "."
	}
	return fmt.Sprintf("- Machine state: **loaded by other work during the run**, so time ratios are noisier than on a quiet machine (B/op and allocs/op are not affected): %s.", how)
}

func firstField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// first returns the first number of a load average, or 0.
func first(load string) float64 {
	var v float64
	fmt.Sscanf(load, "%g", &v)
	return v
}
