package edge_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// BenchmarkTenant is one service acting for many users: every operation
// is an incoming request carrying one end user's token, for which the
// service reads that user's secret. The users are a pool of
// benchTenantUsers userpass users (made once per Vault and test binary),
// taken in turn, one per operation. Three ways, side by side in one run:
//
//	client=sdk      one edge.Client made once; per operation
//	                c.Session(ctx, token), ReadUserSecret, Close
//	client=plain    net/http with one shared transport (64 idle
//	                connections): the GET with the user's token header
//	client=vaultapi one shared vault/api client; per operation Clone,
//	                SetToken(token), KVv2(mount).Get
//
// Cases (Benchmark names are key=value, as benchstat reads them):
//
//	user=returning  the Client knows every token's identity (warmed up):
//	                the SDK should send the read alone
//	user=new        the Client has not seen the token: a Client whose
//	                identity cache holds one token
//	                (Config.IdentityCacheSize 1), with the pool taken in
//	                turn, so every operation's token is one it does not
//	                know, and it looks the identity up (lookup-self). The
//	                plain and vault/api clients, which cannot know a new
//	                token's entity either, look it up the same way before
//	                the read
//	wire=http       the dev Vault over plain HTTP/1.1
//	wire=tls        the TLS dev Vault (edgetest.StartTLS), HTTP/2
//
// each serially and from 8 and 32 goroutines (conc=1, 8, 32), as the
// other comparison benchmarks. Every client counts at the wire: the TCP
// connections its transport dials (dials/op, after a warm-up of every
// user and one operation per goroutine), the requests its transport
// writes (requests/op, from net/http's httptrace WroteRequest, which
// sees every attempt and works for HTTP/2 as for HTTP/1.1; the SDK's
// transport cannot be wrapped without replacing the pool it sizes
// itself), and those of them sent on an HTTP/2 connection (h2req/op).
//
// sessions=10000 makes 10,000 sessions of one Client (for the pool's
// tokens, identities known) and keeps them alive, each having learnt its
// identity (LookupEntityID, no request): the bytes and allocations each
// costs, the heap each holds after a GC, and the goroutines added; and
// the cost of WithOrg, a different org per request.
func BenchmarkTenant(b *testing.B) {
	for _, wire := range []string{"http", "tls"} {
		vault := edgetest.Start(b)
		if wire == "tls" {
			vault = edgetest.StartTLS(b)
		}
		users, n := []string{"returning", "new"}, benchTenantUsers
		if wire == "tls" {
			users, n = users[:1], benchTenantUsers/2
		}
		pool := tenantPoolOf(b, vault, n)
		for _, user := range users {
			for _, conc := range benchConcs {
				tenantCompare(b, fmt.Sprintf("user=%s/wire=%s/conc=%d", user, wire, conc), conc, pool, user == "new")
			}
		}
	}
	b.Run("sessions=10000", func(b *testing.B) { benchSessions(b, tenantPoolOf(b, edgetest.Start(b), benchTenantUsers), 10_000) })
}

// benchTenantUsers is the number of users of the plain HTTP Vault's pool:
// twice the most goroutines, so that the concurrent operations of a new
// user's case seldom share a token (which would share its lookup). The
// TLS Vault's, for returning users alone, holds half as many.
const benchTenantUsers = 64

// tenantSecret is the name of the secret every user of a pool holds.
const tenantSecret = "tenant"

// tenantPool is a pool of users of one Vault, each holding a 100 B secret
// named tenantSecret.
type tenantPool struct {
	vault *edgetest.Vault
	users []edgetest.User
	paths []string // per user: the secret's KV v2 path below the mount
}

var tenantPools = struct {
	mu sync.Mutex
	m  map[*edgetest.Vault]*tenantPool
}{m: map[*edgetest.Vault]*tenantPool{}}

// tenantPoolOf returns vault's pool of n users, making it on the first
// call (userpass logins are slow: once per test binary).
func tenantPoolOf(b *testing.B, vault *edgetest.Vault, n int) *tenantPool {
	b.Helper()
	tenantPools.mu.Lock()
	defer tenantPools.mu.Unlock()
	if p := tenantPools.m[vault]; p != nil && len(p.users) == n {
		return p
	}
	p := &tenantPool{vault: vault}
	root := vault.RootClient(b)
	defer root.CloneConfig().HttpClient.CloseIdleConnections()
	kv := root.KVv2(vault.Mount())
	value := map[string]any(edge.BenchValue(100))
	p.users = make([]edgetest.User, n)
	p.paths = make([]string, n)
	// Eight at a time, as tenantUsers makes them.
	err := parallel(8, n, func(i int) error {
		p.users[i] = vault.NewUser(b)
		p.paths[i] = "edge/users/" + p.users[i].EntityID + "/" + tenantSecret
		_, err := kv.Put(context.Background(), p.paths[i], value)
		return err
	})
	require.NoError(b, err)
	tenantPools.m[vault] = p
	return p
}

// wireCounts counts what one client's transport puts on the wire.
type wireCounts struct {
	dials, requests, h2 atomic.Int64
}

// dialer returns a DialContext (net/http's dialer settings) that counts
// the TCP connections it opens.
func (w *wireCounts) dialer() func(context.Context, string, string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		w.dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}
}

// traced returns ctx with an httptrace that counts the requests written
// on the wire, and those sent on an HTTP/2 connection.
func (w *wireCounts) traced(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if tc, ok := info.Conn.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" {
				w.h2.Add(1)
			}
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { w.requests.Add(1) },
	})
}

// tenantAPIConfig returns vault/api's DefaultConfig for vault (its CA
// trusted over TLS), dialing through w.
func tenantAPIConfig(b *testing.B, vault *edgetest.Vault, w *wireCounts) *api.Config {
	b.Helper()
	cfg := api.DefaultConfig()
	require.NoError(b, cfg.Error)
	cfg.Address = vault.Addr()
	if ca := vault.CACert(); ca != "" {
		require.NoError(b, cfg.ConfigureTLS(&api.TLSConfig{CACert: ca}))
	}
	cfg.HttpClient.Transport.(*http.Transport).DialContext = w.dialer()
	return cfg
}

// tenantOp is one operation for the user of operation i.
type tenantOp func(ctx context.Context, i int) error

// tenantCompare runs one case's three variants as sub-benchmarks
// name/client=<variant>, rotated by EDGE_BENCH_ROUND as compare does,
// each with clients of its own made before its timer starts.
func tenantCompare(b *testing.B, name string, conc int, pool *tenantPool, newUser bool) {
	type variant struct {
		name string
		make func(b *testing.B, w *wireCounts) tenantOp
	}
	order := []variant{
		{"sdk", func(b *testing.B, w *wireCounts) tenantOp { return pool.sdk(b, w, newUser) }},
		{"plain", func(b *testing.B, w *wireCounts) tenantOp { return pool.plain(b, w, newUser) }},
		{"vaultapi", func(b *testing.B, w *wireCounts) tenantOp { return pool.vaultapi(b, w, newUser) }},
	}
	round, _ := strconv.Atoi(os.Getenv("EDGE_BENCH_ROUND"))
	k := round % len(order)
	for _, v := range append(order[k:], order[:k]...) {
		b.Run(name+"/client="+v.name, func(b *testing.B) {
			w := &wireCounts{}
			do := v.make(b, w)
			ctx := w.traced(context.Background())
			// Operations take the users in turn, warm-up and timed
			// ones alike: for a new user, the token of each is never
			// the one the Client remembers.
			var next atomic.Int64
			op := func(int) error { return do(ctx, int(next.Add(1)-1)) }
			// Warm-up, untimed: every user once (a returning user's
			// identity is then known), then four operations per
			// goroutine from all of them at once (the connections
			// they need).
			require.NoError(b, parallel(1, len(pool.users), op))
			require.NoError(b, parallel(conc, 4*conc, op))
			dials, requests, h2 := w.dials.Load(), w.requests.Load(), w.h2.Load()
			timeOps(b, conc, func(context.Context, int, int) error { return op(0) })
			b.ReportMetric(float64(w.dials.Load()-dials)/float64(b.N), "dials/op")
			b.ReportMetric(float64(w.requests.Load()-requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(w.h2.Load()-h2)/float64(b.N), "h2req/op")
		})
	}
}

// sdk returns the SDK's operation: a session of the user's token on one
// shared Client, the read, Close. For a new user the Client remembers
// one token's identity, so none of the pool's, taken in turn, is known.
func (p *tenantPool) sdk(b *testing.B, w *wireCounts, newUser bool) tenantOp {
	b.Helper()
	cfg := edge.Config{Mount: p.vault.Mount()}
	if newUser {
		cfg.IdentityCacheSize = 1
	}
	var err error
	cfg.Client, err = api.NewClient(tenantAPIConfig(b, p.vault, w))
	require.NoError(b, err)
	cfg.Client.ClearToken()
	c, err := edge.NewClient(context.Background(), cfg)
	require.NoError(b, err)
	b.Cleanup(func() { _ = c.Close() })
	return func(ctx context.Context, i int) error {
		s, err := c.Session(ctx, p.users[i%len(p.users)].Token)
		if err != nil {
			return err
		}
		_, err = s.Secrets.ReadUserSecret(ctx, tenantSecret)
		_ = s.Close()
		return err
	}
}

// plain returns net/http's operation: the GET with the user's token, on
// one transport with 64 idle connections (HTTP/2 over TLS, with the CA);
// for a new user, after a lookup-self that gives the entity.
func (p *tenantPool) plain(b *testing.B, w *wireCounts, newUser bool) tenantOp {
	b.Helper()
	t := http.DefaultTransport.(*http.Transport).Clone() // ForceAttemptHTTP2
	t.DialContext = w.dialer()
	t.MaxIdleConnsPerHost = 64
	if ca := p.vault.CACert(); ca != "" {
		pem, err := os.ReadFile(ca)
		require.NoError(b, err)
		roots := x509.NewCertPool()
		require.True(b, roots.AppendCertsFromPEM(pem))
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	hc := &http.Client{Transport: t}
	b.Cleanup(hc.CloseIdleConnections)
	clients := make([]*plainClient, len(p.users))
	dataPaths := make([]string, len(p.users))
	for i, u := range p.users {
		clients[i] = &plainClient{hc: hc, addr: p.vault.Addr(), token: u.Token}
		dataPaths[i] = p.vault.Mount() + "/data/" + p.paths[i]
	}
	prefix := p.vault.Mount() + "/data/edge/users/"
	return func(ctx context.Context, i int) error {
		pc, path := clients[i%len(clients)], dataPaths[i%len(clients)]
		if newUser {
			id, err := pc.entity(ctx)
			if err != nil {
				return err
			}
			path = prefix + id + "/" + tenantSecret
		}
		_, err := pc.read(ctx, path)
		return err
	}
}

// entity returns the entity of p's token, from Vault (lookup-self).
func (p *plainClient) entity(ctx context.Context) (string, error) {
	resp, err := p.do(ctx, http.MethodGet, "auth/token/lookup-self", nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	var body struct {
		Data struct {
			EntityID string `json:"entity_id"`
		} `json:"data"`
	}
	if err := decode(resp, &body); err != nil {
		return "", err
	}
	if body.Data.EntityID == "" {
		return "", fmt.Errorf("lookup-self returned no entity")
	}
	return body.Data.EntityID, nil
}

// vaultapi returns vault/api's way: one shared client, per operation a
// Clone with the user's token and KVv2.Get; for a new user, after
// Auth().Token().LookupSelf gives the entity.
func (p *tenantPool) vaultapi(b *testing.B, w *wireCounts, newUser bool) tenantOp {
	b.Helper()
	shared, err := api.NewClient(tenantAPIConfig(b, p.vault, w))
	require.NoError(b, err)
	shared.ClearToken()
	shared.ClearNamespace()
	b.Cleanup(shared.CloneConfig().HttpClient.CloseIdleConnections)
	mount := p.vault.Mount()
	return func(ctx context.Context, i int) error {
		c, err := shared.Clone()
		if err != nil {
			return err
		}
		c.SetToken(p.users[i%len(p.users)].Token)
		path := p.paths[i%len(p.paths)]
		if newUser {
			s, err := c.Auth().Token().LookupSelfWithContext(ctx)
			if err != nil {
				return err
			}
			id, _ := s.Data["entity_id"].(string)
			if id == "" {
				return fmt.Errorf("lookup-self returned no entity")
			}
			path = "edge/users/" + id + "/" + tenantSecret
		}
		_, err = c.KVv2(mount).Get(ctx, path)
		return err
	}
}

// benchSessions makes n sessions of one Client, for the pool's tokens
// (their identities known), each learning its identity with no request,
// and keeps them alive: per session its time (ns/session), the bytes and
// allocations it cost (B/session, allocs/session), the heap it holds
// after a GC (heap-B/session), the goroutines and requests it added
// (goroutines/session, requests/session); and per WithOrg call its bytes
// and allocations (withorg-B/call, withorg-allocs/call).
func benchSessions(b *testing.B, pool *tenantPool, n int) {
	w := &wireCounts{}
	cfg := edge.Config{Mount: pool.vault.Mount()}
	var err error
	cfg.Client, err = api.NewClient(tenantAPIConfig(b, pool.vault, w))
	require.NoError(b, err)
	cfg.Client.ClearToken()
	c, err := edge.NewClient(context.Background(), cfg)
	require.NoError(b, err)
	defer func() { _ = c.Close() }()
	ctx := w.traced(context.Background())
	// Warm-up: every token's identity known to the Client.
	for _, u := range pool.users {
		s, err := c.Session(ctx, u.Token)
		require.NoError(b, err)
		_, err = s.LookupEntityID(ctx)
		require.NoError(b, err)
		_ = s.Close()
	}
	sessions := make([]*edge.Session, n)
	var ns, allocs, bytes, heap, goroutines, requests float64
	var before, after runtime.MemStats
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		g, r := runtime.NumGoroutine(), w.requests.Load()
		start := time.Now()
		b.StartTimer()
		for k := range sessions {
			s, err := c.Session(ctx, pool.users[k%len(pool.users)].Token)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.LookupEntityID(ctx); err != nil {
				b.Fatal(err)
			}
			sessions[k] = s
		}
		b.StopTimer()
		ns += float64(time.Since(start))
		runtime.ReadMemStats(&after)
		allocs += float64(after.Mallocs - before.Mallocs)
		bytes += float64(after.TotalAlloc - before.TotalAlloc)
		goroutines += float64(runtime.NumGoroutine() - g)
		requests += float64(w.requests.Load() - r)
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap += float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
		for k, s := range sessions {
			_ = s.Close()
			sessions[k] = nil
		}
		b.StartTimer()
	}
	b.StopTimer()
	per := float64(b.N) * float64(n)
	b.ReportMetric(ns/per, "ns/session")
	b.ReportMetric(bytes/per, "B/session")
	b.ReportMetric(allocs/per, "allocs/session")
	b.ReportMetric(heap/per, "heap-B/session")
	b.ReportMetric(goroutines/per, "goroutines/session")
	b.ReportMetric(requests/per, "requests/session")

	// WithOrg: a different org per request, on a session of the Client.
	s, err := c.Session(ctx, pool.users[0].Token)
	require.NoError(b, err)
	defer func() { _ = s.Close() }()
	const calls = 10_000
	derived := make([]*edge.Session, calls)
	runtime.GC()
	runtime.ReadMemStats(&before)
	for k := range derived {
		if derived[k], err = s.WithOrg("acme"); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(derived)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/calls, "withorg-B/call")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/calls, "withorg-allocs/call")
}
