package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

func TestMannWhitney(t *testing.T) {
	tests := []struct {
		name string
		x, y []float64
		want float64
	}{
		// All 5 below all 5: 2 of the C(10,5) = 252 splits are as extreme.
		{"separated", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 2.0 / 252},
		{"separated, other side", []float64{6, 7, 8, 9, 10}, []float64{1, 2, 3, 4, 5}, 2.0 / 252},
		{"identical", []float64{3, 3, 3}, []float64{3, 3, 3}, 1},
		{"interleaved", []float64{1, 3, 5, 7}, []float64{2, 4, 6, 8}, 0.6857142857142857},
		{"one value", []float64{1}, []float64{2, 3}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mannWhitney(tt.x, tt.y); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("mannWhitney = %v, want %v", got, tt.want)
			}
		})
	}
	// Large samples: the normal approximation, on the right side of alpha.
	var x, y []float64
	for i := range 15 {
		x = append(x, float64(i))
		y = append(y, float64(i)+100)
	}
	if p := mannWhitney(x, y); p >= alpha {
		t.Errorf("separated samples of 15: p = %v", p)
	}
	if p := mannWhitney(x, x); p < alpha {
		t.Errorf("identical samples of 15: p = %v", p)
	}
}

func TestMedian(t *testing.T) {
	if m := summarize([]float64{5, 1, 3}).median; m != 3 {
		t.Errorf("median = %v", m)
	}
	if m := summarize([]float64{4, 1, 3, 2}).median; m != 2.5 {
		t.Errorf("median = %v", m)
	}
	if s := summarize([]float64{90, 100, 120}).spread(); math.Abs(s-0.2) > 1e-9 {
		t.Errorf("spread = %v", s)
	}
}

// sampleOutput is benchmark output of rounds rounds, with the SDK's time
// sdkFactor times plain's.
func sampleOutput(rounds int, sdkFactor float64) string {
	var b strings.Builder
	b.WriteString("go-version: go1.99\ntest-command: go test -bench .\nreport-command: go run ./internal/benchreport\n")
	for r := range rounds {
		fmt.Fprintf(&b, "round: %d\nload-before: 0.10 0.20 0.30\ngoos: linux\ncpu: Test CPU\nvault-version: 1.14.0\n", r+1)
		for _, op := range []string{"Read/size=100B", "List/names=10000"} {
			for _, conc := range []int{1, 32} {
				base := 1000000.0 + float64(r)*1000
				for _, c := range []struct {
					name   string
					factor float64
					allocs int
				}{{"sdk", sdkFactor, 90}, {"plain", 1, 80}, {"vaultapi", 1.1, 160}} {
					fmt.Fprintf(&b, "Benchmark%s/conc=%d/client=%s-2 \t 100\t %.0f ns/op\t 0 dials/op\t 1.000 requests/op\t %d B/op\t %d allocs/op\n",
						op, conc, c.name, base*c.factor, c.allocs*100, c.allocs)
				}
			}
		}
		fmt.Fprintf(&b, "BenchmarkClientSide/op=decode/size=1KB-2 \t 1000\t %d ns/op\t 400.00 MB/s\t 1500 B/op\t 12 allocs/op\n", 2500+r)
		b.WriteString("PASS\nload-after: 0.40 0.20 0.30\nround-seconds: 100\nother-cpu: 0.02\n")
	}
	return b.String()
}

func TestParseAndAnalyze(t *testing.T) {
	set, err := parse(strings.NewReader(sampleOutput(5, 0.9)))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.rounds) != 5 || set.procs != 2 || set.config["vault-version"] != "1.14.0" || set.rounds[0].loadAfter != "0.40 0.20 0.30" {
		t.Fatalf("parsed %d rounds, procs %d, config %v, rounds %v", len(set.rounds), set.procs, set.config, set.rounds)
	}
	a := analyze(set)
	if len(a.cases) != 4 || len(a.client) != 1 {
		t.Fatalf("%d cases, %d client-side", len(a.cases), len(a.client))
	}
	c := a.cases[0]
	if c.op != "read" || c.conc != 1 || c.label() != "100 B, serial" {
		t.Errorf("case %q %d %q", c.op, c.conc, c.label())
	}
	r := c.ratio("plain", "ns/op")
	if math.Abs(r.value-0.9) > 1e-9 || r.noise() {
		t.Errorf("ratio %+v: want 0.9, beyond the noise", r)
	}
	if got := a.cases[3].label(); got != "10,000 names, 32 goroutines" {
		t.Errorf("label %q", got)
	}
}

func TestReportAndChart(t *testing.T) {
	for _, factor := range []float64{0.9, 1.2, 20} {
		set, err := parse(strings.NewReader(sampleOutput(5, factor)))
		if err != nil {
			t.Fatal(err)
		}
		a := analyze(set)
		o := options{chart: "benchmarks.svg", command: "go run ./internal/benchreport"}
		o.fill(set)
		report := writeReport(o, a)
		for _, want := range []string{"## Targets", "## Ratios", "(benchmarks.svg)", "Vault: 1.14.0", "What the profiles showed", "otherwise quiet", "other work 0.02 cores"} {
			if !strings.Contains(report, want) {
				t.Errorf("factor %v: the report lacks %q", factor, want)
			}
		}
		if factor > 1.05 && !strings.Contains(report, missed) {
			t.Errorf("factor %v: no target missed", factor)
		}
		// The chart is well-formed XML.
		dec := xml.NewDecoder(strings.NewReader(drawChart(a)))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("factor %v: chart: %v", factor, err)
			}
		}
	}
}

func TestCommand(t *testing.T) {
	got := command([]string{"-rounds", "3", "-raw", "x.txt", "-out=/tmp/B.md", "-benchtime=1s"})
	if want := "go run ./internal/benchreport -rounds 3 -benchtime=1s"; got != want {
		t.Errorf("command = %q, want %q", got, want)
	}
}

// tenantOutput is BenchmarkTenant output of rounds rounds, with the SDK's
// time sdkFactor times plain's and sdkRequests requests per returning
// user's operation.
func tenantOutput(rounds int, sdkFactor, sdkRequests float64) string {
	var b strings.Builder
	for r := range rounds {
		fmt.Fprintf(&b, "round: %d\n", r+1)
		for _, name := range []string{"user=returning/wire=http/conc=1", "user=new/wire=http/conc=32", "user=returning/wire=tls/conc=8"} {
			base := 1000000.0 + float64(r)*1000
			for _, c := range []struct {
				name   string
				factor float64
				allocs int
			}{{"sdk", sdkFactor, 100}, {"plain", 1, 80}, {"vaultapi", 1.1, 180}} {
				req, h2 := 1.0, 0.0
				if c.name == "sdk" {
					req = sdkRequests
				}
				if strings.Contains(name, "user=new") {
					req = 2
				}
				if strings.Contains(name, "wire=tls") {
					h2 = req
				}
				fmt.Fprintf(&b, "BenchmarkTenant/%s/client=%s-2 \t 100\t %.0f ns/op\t 0 dials/op\t %.3f h2req/op\t %.3f requests/op\t %d B/op\t %d allocs/op\n",
					name, c.name, base*c.factor, h2, req, c.allocs*80, c.allocs)
			}
		}
		b.WriteString("BenchmarkTenant/sessions=10000-2 \t 20\t 11000000 ns/op\t 648.0 B/session\t 10.00 allocs/session\t 0 goroutines/session\t 472.0 heap-B/session\t 1300 ns/session\t 0 requests/session\t 240.0 withorg-B/call\t 4.000 withorg-allocs/call\t 6480000 B/op\t 100000 allocs/op\n")
	}
	return b.String()
}

func TestTenantSection(t *testing.T) {
	tests := []struct {
		name        string
		factor, req float64
		wantMissed  bool
	}{
		{"targets met", 0.95, 1, false},
		{"slower than plain", 1.3, 1, true},
		{"two requests", 0.95, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := parse(strings.NewReader(tenantOutput(5, tt.factor, tt.req)))
			if err != nil {
				t.Fatal(err)
			}
			a := analyze(set)
			if len(a.tenant()) != 3 || len(a.sessions) != 1 || a.sessions[0].n != 10000 {
				t.Fatalf("%d tenant cases, %d sessions runs", len(a.tenant()), len(a.sessions))
			}
			if got := a.tenant()[2].label(); got != "returning user, TLS, 8 goroutines" {
				t.Errorf("label %q", got)
			}
			o := options{chart: "benchmarks.svg", command: "go run ./internal/benchreport"}
			o.fill(set)
			report := writeReport(o, a)
			for _, want := range []string{"## One service, many users", "### 10,000 live sessions", "| 472 B |", "over TLS, every request on HTTP/2 | met"} {
				if !strings.Contains(report, want) {
					t.Errorf("the report lacks %q", want)
				}
			}
			missedTenant := false
			for _, v := range tenantTargets(a) {
				if v.result == missed {
					missedTenant = true
				}
			}
			if missedTenant != tt.wantMissed {
				t.Errorf("a tenant target missed: %v, want %v\n%v", missedTenant, tt.wantMissed, tenantTargets(a))
			}
			// The tenant cases stay out of issue 11's tables and targets.
			if strings.Contains(report, "| tenant |") {
				t.Errorf("a tenant case in the operations' tables")
			}
		})
	}
}
