package main

import (
	"fmt"
	"math"
	"strings"
)

// The section "One service, many users": BenchmarkTenant's cases and
// issue 20's targets for them.

// tenantTargets checks issue 20's targets: a returning user's session
// and read within 1.10× plain net/http and faster than vault/api's
// Clone + SetToken + KVv2.Get, with 1 request, 0 new connections and
// allocations at most vault/api's; a new user at most 2 requests; every
// request over TLS on HTTP/2; and a live session holding at most 2 kB,
// with no goroutine and no request.
func tenantTargets(a *analysis) []verdict {
	var returning, newUser, overTLS []*vaultCase
	for _, c := range a.tenant() {
		switch c.params["user"] {
		case "returning":
			returning = append(returning, c)
		case "new":
			newUser = append(newUser, c)
		}
		if c.params["wire"] == "tls" {
			overTLS = append(overTLS, c)
		}
	}
	var vs []verdict
	if len(returning) > 0 {
		vs = append(vs, timeTarget("One service, many users: a returning user's session and read, median time at most 1.10× plain net/http's GET",
			returning, "plain", func(r ratio) bool { return r.value <= 1.10 }))
		vs = append(vs, timeTarget("One service, many users: a returning user's session and read faster than vault/api's Clone + SetToken + KVv2.Get",
			returning, "vaultapi", func(r ratio) bool { return r.value < 1 && !r.noise() }))

		var details []string
		bad := 0
		for _, c := range returning {
			req, dials := c.median("sdk", "requests/op"), c.median("sdk", "dials/op")
			details = append(details, fmt.Sprintf("%s: %s request/op, %s new connections/op", c.label(), fmtCount(req), fmtCount(dials)))
			if req != 1 || dials != 0 {
				bad++
			}
		}
		vs = append(vs, verdict{"One service, many users: a returning user costs 1 request and 0 new connections after warm-up",
			outcome(bad, 0), strings.Join(details, "; ")})

		details, bad = nil, 0
		for _, c := range returning {
			sdk, other := c.median("sdk", "allocs/op"), c.median("vaultapi", "allocs/op")
			details = append(details, fmt.Sprintf("%s: %s against %s", c.label(), fmtCount(sdk), fmtCount(other)))
			if !(sdk <= other) {
				bad++
			}
		}
		vs = append(vs, verdict{"One service, many users: a returning user's allocs/op at most vault/api's way's",
			outcome(bad, 0), strings.Join(details, "; ")})
	}
	if len(newUser) > 0 {
		var details []string
		bad := 0
		for _, c := range newUser {
			req := c.median("sdk", "requests/op")
			details = append(details, fmt.Sprintf("%s: %s requests/op", c.label(), fmtCount(req)))
			if !(req <= 2) {
				bad++
			}
		}
		vs = append(vs, verdict{"One service, many users: a new user (identity not known to the Client) at most 2 requests",
			outcome(bad, 0), strings.Join(details, "; ")})
	}
	if len(overTLS) > 0 {
		var details []string
		bad := 0
		for _, c := range overTLS {
			var parts []string
			for _, cl := range clients {
				share := c.median(cl, "h2req/op") / c.median(cl, "requests/op")
				parts = append(parts, fmt.Sprintf("%s %.0f%%", cl, 100*share))
				if !(share == 1) {
					bad++
				}
			}
			details = append(details, fmt.Sprintf("%s: %s", c.label(), strings.Join(parts, ", ")))
		}
		vs = append(vs, verdict{"One service, many users: over TLS, every request on HTTP/2",
			outcome(bad, 0), "requests sent on an HTTP/2 connection: " + strings.Join(details, "; ")})
	}
	for _, s := range a.sessions {
		heap, g, req := s.median("heap-B/session"), s.median("goroutines/session"), s.median("requests/session")
		bad := 0
		if !(heap <= 2000) || g != 0 || req != 0 {
			bad++
		}
		vs = append(vs, verdict{fmt.Sprintf("One service, many users: %s live sessions of one Client hold at most 2 kB of heap each, no goroutine, no request", thousands(s.n)),
			outcome(bad, 0), fmt.Sprintf("%s of heap, %s goroutines and %s requests per session", fmtBytes(heap), fmtCount(g), fmtCount(req))})
	}
	return vs
}

// timeTarget checks the SDK's time against other's in cases: ok says
// which ratios meet the target; one that does not, inside the noise, is
// a tie.
func timeTarget(target string, cases []*vaultCase, other string, ok func(ratio) bool) verdict {
	var details []string
	over, tied := 0, 0
	for _, c := range cases {
		r := c.ratio(other, "ns/op")
		if !r.ok {
			continue
		}
		d := c.label() + " " + fmtRatio(r)
		switch {
		case ok(r):
		case r.noise():
			tied++
			d += " (inside the noise)"
		default:
			over++
			d += " (**missed**)"
		}
		details = append(details, d)
	}
	return verdict{target, outcome(over, tied), strings.Join(details, "; ")}
}

// median of unit, NaN if the run did not report it.
func (s *sessionsRun) median(unit string) float64 {
	u, ok := s.units[unit]
	if !ok {
		return math.NaN()
	}
	return u.median
}

// writeTenant renders the section "One service, many users".
func writeTenant(p func(string, ...any), a *analysis) {
	cases := a.tenant()
	if len(cases) == 0 && len(a.sessions) == 0 {
		return
	}
	p("## One service, many users\n\n")
	p("`BenchmarkTenant`: a service receives each end user's Vault token with each incoming request and reads that user's secret (100 B) on the user's behalf, one user after another from a pool of userpass users (64 on the plain HTTP Vault, 32 on the TLS one). Three ways, side by side in the same run:\n\n")
	p("- **sdk**: one `edge.Client`, made once; per request `c.Session(ctx, token)`, `ReadUserSecret`, `Close`;\n")
	p("- **plain**: `net/http` with one transport shared by all users (64 idle connections; HTTP/2 over TLS, trusting the dev Vault's CA): the GET with the user's token header;\n")
	p("- **vaultapi**: vault/api's way, one shared client from `api.DefaultConfig` and per request `Clone()`, `SetToken(token)`, `KVv2(mount).Get`.\n\n")
	p("A **returning user** is one whose token's identity the Client knows. A **new user** is one it does not: a Client whose identity cache holds one token (`Config.IdentityCacheSize: 1`) with the users taken in turn, so that each request's token is one it has not kept, and the SDK looks its identity up (`auth/token/lookup-self`) before the read; plain net/http and vault/api, which need the user's entity for the path as well, make the same lookup first. **TLS** is the dev Vault served over TLS (`edgetest.StartTLS`). Counted at the wire, after a warm-up of every user once and four requests per goroutine: **requests** are the requests each client's transport wrote (net/http's `httptrace` WroteRequest: every attempt, over HTTP/1.1 or HTTP/2; the SDK's transport is its own, sized by the Client, so it is counted without being wrapped), **new conns** the TCP connections its dialer opened. Ratios are the SDK's median over the other client's, %d rounds; `~` marks a difference inside the noise.\n\n", a.rounds)
	if len(cases) > 0 {
		p("| case | SDK time | time ÷ plain | time ÷ vault/api | requests/op (sdk, plain, vault/api) | new conns/op (sdk, plain, vault/api) | B/op ÷ plain | B/op ÷ vault/api | allocs ÷ plain | allocs ÷ vault/api |\n")
		p("| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |\n")
		for _, c := range cases {
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.label(), fmtNs(c.median("sdk", "ns/op")),
				fmtRatio(c.ratio("plain", "ns/op")), fmtRatio(c.ratio("vaultapi", "ns/op")),
				perClient(c, "requests/op"), perClient(c, "dials/op"),
				fmtRatio(c.ratio("plain", "B/op")), fmtRatio(c.ratio("vaultapi", "B/op")),
				fmtRatio(c.ratio("plain", "allocs/op")), fmtRatio(c.ratio("vaultapi", "allocs/op")))
		}
		p("\n")
		p("Per client, the median of %d rounds; ± is the largest distance of a round from the median; HTTP/2 is the share of the requests sent on an HTTP/2 connection.\n\n", a.rounds)
		p("| case | client | time | B/op | allocs/op | new conns/op | requests/op | HTTP/2 |\n")
		p("| --- | --- | --: | --: | --: | --: | --: | --: |\n")
		for _, c := range cases {
			for _, cl := range clients {
				u, ok := c.clients[cl]
				if !ok {
					continue
				}
				h2 := "–"
				if req := c.median(cl, "requests/op"); req > 0 && c.params["wire"] == "tls" {
					h2 = fmt.Sprintf("%.0f%%", 100*c.median(cl, "h2req/op")/req)
				}
				p("| %s | %s | %s%s | %s | %s | %s | %s | %s |\n", c.label(), cl,
					fmtNs(u["ns/op"].median), fmtSpread(u["ns/op"]), fmtBytes(c.median(cl, "B/op")), fmtCount(c.median(cl, "allocs/op")),
					fmtCount(c.median(cl, "dials/op")), fmtCount(c.median(cl, "requests/op")), h2)
			}
		}
		p("\n")
	}
	for _, s := range a.sessions {
		p("### %s live sessions\n\n", thousands(s.n))
		p("`BenchmarkTenant/sessions=%d`: %s sessions of one Client (`c.Session(ctx, token)` for the pool's tokens, whose identities the Client knows), each having learnt its identity (`LookupEntityID`, answered by the Client without a request), all kept alive; no read cache. Per session: the time and the bytes and allocations it cost (from `runtime.MemStats`, the counters `b.ReportAllocs` reads), the heap it holds after a GC, the goroutines and requests it added. Then `WithOrg`, a session on another org per request, per call. Medians of %d rounds.\n\n", s.n, thousands(s.n), a.rounds)
		p("| time per session | B per session | allocs per session | heap held per session | goroutines per session | requests per session | WithOrg B/call | WithOrg allocs/call |\n")
		p("| --: | --: | --: | --: | --: | --: | --: | --: |\n")
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n\n", fmtNs(s.median("ns/session")), fmtBytes(s.median("B/session")), fmtCount(s.median("allocs/session")),
			fmtBytes(s.median("heap-B/session")), fmtCount(s.median("goroutines/session")), fmtCount(s.median("requests/session")),
			fmtBytes(s.median("withorg-B/call")), fmtCount(s.median("withorg-allocs/call")))
	}
}

// perClient prints unit's medians for sdk, plain and vault/api.
func perClient(c *vaultCase, unit string) string {
	var parts []string
	for _, cl := range clients {
		parts = append(parts, fmtCount(c.median(cl, unit)))
	}
	return strings.Join(parts, " · ")
}
