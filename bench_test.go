package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
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

// The benchmarks below put the SDK side by side with the floor any client
// pays and with vault/api's own helpers. Each operation runs in three
// variants, in the same run, against the same dev Vault, with the same
// least-privilege user token and on the same secrets:
//
//	client=sdk      the SDK call (sess.Secrets.ReadUserSecret, ...)
//	client=plain    the same Vault requests with net/http and encoding/json
//	client=vaultapi vault/api's natural helper (KVv2.Get, KVv2.Put with
//	                CAS, KVv2.DeleteMetadata, Logical().List, a read with
//	                SetWrappingLookupFunc)
//
// each serially (conc=1) and from 8 and 32 goroutines sharing one client
// (conc=8, conc=32), whose ns/op is wall time divided by operations, the
// inverse of throughput. Names are key=value, as benchstat reads them.
// They include Vault's own work on loopback, so compare medians of several
// runs: go run ./internal/benchreport does, and writes BENCHMARKS.md.
//
// Every variant's client counts the TCP connections it opens (dials/op,
// 0 for a client that keeps its connections) and the HTTP requests it
// sends (requests/op).

// benchSizes are the value sizes of read and create, in bytes of JSON.
var benchSizes = []struct {
	name  string
	bytes int
}{{"100B", 100}, {"10KB", 10_000}, {"500KB", 500_000}}

// benchConcs are the numbers of goroutines sharing one client.
var benchConcs = []int{1, 8, 32}

// benchListSizes are the numbers of names a listed folder holds.
var benchListSizes = []int{10, 1_000, 10_000}

// benchWrapTTL is the wrapping TTL of every variant's wrap: the SDK's
// default.
const benchWrapTTL = "300s"

func BenchmarkRead(b *testing.B) {
	env := newBenchEnv(b)
	for _, size := range benchSizes {
		name := "read" + size.name
		require.NoError(b, env.create(name, edge.BenchValue(size.bytes)))
		for _, conc := range benchConcs {
			env.compare(b, fmt.Sprintf("size=%s/conc=%d", size.name, conc), conc, env.readVariants(name))
		}
	}
}

// readVariants reads the user's secret name: the SDK on env's session,
// plain net/http, vault/api's KVv2.Get.
func (env *benchEnv) readVariants(name string) variants {
	return variants{
		sdk: func(ctx context.Context, i, g int) error {
			_, err := env.sess.Secrets.ReadUserSecret(ctx, name)
			return err
		},
		plain: func(ctx context.Context, i, g int) error {
			_, err := env.plain.read(ctx, env.dataPath(name))
			return err
		},
		vaultapi: func(ctx context.Context, i, g int) error {
			_, err := env.kv.Get(ctx, env.kvPath(name))
			return err
		},
	}
}

// BenchmarkCachedRead reads secrets through a session whose read cache
// is on (client=sdk, Config.CacheTTL of an hour): after the warm-up, every
// read is answered from memory, 0 requests/op. The other clients read
// from Vault as in BenchmarkRead; BenchmarkRead's client=sdk is the same
// read without the cache.
func BenchmarkCachedRead(b *testing.B) {
	env := newBenchEnvConfig(b, edge.Config{CacheTTL: time.Hour})
	for _, size := range benchSizes[:2] {
		name := "cached" + size.name
		require.NoError(b, env.create(name, edge.BenchValue(size.bytes)))
		for _, conc := range benchConcs {
			env.compare(b, fmt.Sprintf("size=%s/conc=%d", size.name, conc), conc, env.readVariants(name))
		}
	}
}

func BenchmarkCreate(b *testing.B) {
	env := newBenchEnv(b)
	for _, size := range benchSizes {
		value := edge.BenchValue(size.bytes)
		for _, conc := range benchConcs {
			// Each operation creates a new name; the names are
			// deleted after each run, untimed.
			env.compare(b, fmt.Sprintf("size=%s/conc=%d", size.name, conc), conc, variants{
				sdk: func(ctx context.Context, i, g int) error {
					return env.sess.Secrets.CreateUserSecret(ctx, env.fresh("c"), value)
				},
				plain: func(ctx context.Context, i, g int) error {
					return env.plain.write(ctx, env.dataPath(env.fresh("c")), 0, value)
				},
				vaultapi: func(ctx context.Context, i, g int) error {
					_, err := env.kv.Put(ctx, env.kvPath(env.fresh("c")), value, api.WithCheckAndSet(0))
					return err
				},
			})
		}
	}
}

// BenchmarkUpdate updates one secret per goroutine: a check-and-set write
// after a metadata read, two requests in every variant.
func BenchmarkUpdate(b *testing.B) {
	env := newBenchEnv(b)
	value := edge.BenchValue(100)
	for _, conc := range benchConcs {
		names := env.createMany(b, "u", conc, value)
		env.compare(b, fmt.Sprintf("size=100B/conc=%d", conc), conc, variants{
			sdk: func(ctx context.Context, i, g int) error {
				return env.sess.Secrets.UpdateUserSecret(ctx, names[g], value)
			},
			plain: func(ctx context.Context, i, g int) error {
				version, err := env.plain.version(ctx, env.metaPath(names[g]))
				if err != nil {
					return err
				}
				return env.plain.write(ctx, env.dataPath(names[g]), version, value)
			},
			vaultapi: func(ctx context.Context, i, g int) error {
				md, err := env.kv.GetMetadata(ctx, env.kvPath(names[g]))
				if err != nil {
					return err
				}
				_, err = env.kv.Put(ctx, env.kvPath(names[g]), value, api.WithCheckAndSet(md.CurrentVersion))
				return err
			},
		})
	}
}

// BenchmarkDelete deletes secrets created before each run, untimed.
func BenchmarkDelete(b *testing.B) {
	env := newBenchEnv(b)
	for _, conc := range benchConcs {
		var names []string
		before := func(n int) {
			names = env.createMany(b, "d", n, edge.BenchValue(100))
		}
		env.compareWith(b, fmt.Sprintf("size=100B/conc=%d", conc), conc, before, variants{
			sdk: func(ctx context.Context, i, g int) error {
				return env.sess.Secrets.DeleteUserSecret(ctx, names[i])
			},
			plain: func(ctx context.Context, i, g int) error {
				return env.plain.delete(ctx, env.metaPath(names[i]))
			},
			vaultapi: func(ctx context.Context, i, g int) error {
				return env.kv.DeleteMetadata(ctx, env.kvPath(names[i]))
			},
		})
	}
}

// BenchmarkList lists folders of 10, 1,000 and 10,000 names, each the
// folder of a user of its own.
func BenchmarkList(b *testing.B) {
	for _, n := range benchListSizes {
		env := newBenchEnv(b)
		env.createManyNamed(b, n, func(i int) string { return fmt.Sprintf("n%05d", i) }, edge.Secret{"v": "x"})
		for _, conc := range benchConcs {
			env.compare(b, fmt.Sprintf("names=%d/conc=%d", n, conc), conc, variants{
				sdk: func(ctx context.Context, i, g int) error {
					names, err := env.sess.Secrets.ListUserSecrets(ctx)
					return wantNames(names, err, n)
				},
				plain: func(ctx context.Context, i, g int) error {
					names, err := env.plain.list(ctx, env.folder)
					return wantNames(names, err, n)
				},
				vaultapi: func(ctx context.Context, i, g int) error {
					s, err := env.api.Logical().ListWithContext(ctx, env.folder)
					if err != nil {
						return err
					}
					keys, _ := s.Data["keys"].([]any)
					return wantNames(keys, nil, n)
				},
			})
		}
	}
}

func wantNames[T any](names []T, err error, n int) error {
	if err == nil && len(names) != n {
		err = fmt.Errorf("listed %d names, want %d", len(names), n)
	}
	return err
}

func BenchmarkWrap(b *testing.B) {
	env := newBenchEnv(b)
	require.NoError(b, env.create("wrap", edge.BenchValue(100)))
	for _, conc := range benchConcs {
		env.compare(b, fmt.Sprintf("size=100B/conc=%d", conc), conc, variants{
			sdk: func(ctx context.Context, i, g int) error {
				_, err := env.sess.Secrets.WrapUserSecret(ctx, "wrap")
				return err
			},
			plain: func(ctx context.Context, i, g int) error {
				_, err := env.plain.wrap(ctx, env.dataPath("wrap"))
				return err
			},
			vaultapi: func(ctx context.Context, i, g int) error {
				s, err := env.wrapping.Logical().ReadWithContext(ctx, env.dataPath("wrap"))
				if err == nil && (s == nil || s.WrapInfo == nil || s.WrapInfo.Token == "") {
					err = fmt.Errorf("no wrapping token")
				}
				return err
			},
		})
	}
}

// benchEnv is what one benchmark's three variants share: a fresh
// least-privilege user (the Edge user policy only, as README's access
// model gives every user), admin of a fresh org, and one client per
// variant, each with the user's token and a transport that counts its
// dials.
type benchEnv struct {
	mount  string
	folder string // <mount>/metadata/edge/users/<entity>: the user's secrets, listed
	user   edgetest.User

	sess     *edge.Session // client=sdk
	plain    *plainClient  // client=plain
	api      *api.Client   // client=vaultapi
	kv       *api.KVv2     // env.api.KVv2(mount)
	wrapping *api.Client   // a clone of env.api whose reads are wrapped

	conns map[string]*connCounts // per variant

	setup *plainClient // creates and deletes untimed, on connections of its own

	next    atomic.Int64
	mu      sync.Mutex
	created []string // fresh names made during a run, deleted after it
}

func newBenchEnv(b *testing.B) *benchEnv { return newBenchEnvConfig(b, edge.Config{}) }

// newBenchEnvConfig is newBenchEnv with the session made from cfg (its
// Client, Org and Mount set here).
func newBenchEnvConfig(b *testing.B, cfg edge.Config) *benchEnv {
	b.Helper()
	vault := edgetest.Start(b)
	ctx := context.Background()
	u := vault.NewUser(b)
	org := vault.NewOrg(b, u)
	env := &benchEnv{
		mount:  vault.Mount(),
		folder: vault.Mount() + "/metadata/edge/users/" + u.EntityID,
		user:   u,
		conns:  map[string]*connCounts{},
	}
	// The SDK as a service uses it: NewSession on a client from
	// vault/api's DefaultConfig (what Config{} makes), here with the
	// counting dialer.
	var err error
	cfg.Client, cfg.Org, cfg.Mount = env.apiClient(b, "sdk"), org, vault.Mount()
	env.sess, err = edge.NewSession(ctx, cfg)
	require.NoError(b, err)
	b.Cleanup(func() { _ = env.sess.Close() })

	env.plain = newPlainClient(vault.Addr(), u.Token, env.countingDialer("plain"))
	env.setup = newPlainClient(vault.Addr(), u.Token, (&net.Dialer{}).DialContext)
	printVaultVersion.Do(func() { env.printVaultVersion(b) })
	env.api = env.apiClient(b, "vaultapi")
	env.kv = env.api.KVv2(vault.Mount())
	env.wrapping, err = env.api.Clone()
	require.NoError(b, err)
	env.wrapping.SetToken(u.Token)
	env.wrapping.SetWrappingLookupFunc(func(operation, path string) string { return benchWrapTTL })
	b.Cleanup(func() {
		env.plain.hc.CloseIdleConnections()
		env.setup.hc.CloseIdleConnections()
		env.api.CloneConfig().HttpClient.CloseIdleConnections()
	})
	return env
}

var printVaultVersion sync.Once

// printVaultVersion prints the version Vault reports, as a configuration
// line of the benchmark output ("vault-version: 1.14.0"), which
// internal/benchreport and benchstat read.
func (env *benchEnv) printVaultVersion(b *testing.B) {
	resp, err := env.setup.do(context.Background(), http.MethodGet, "sys/health", nil, http.StatusOK)
	require.NoError(b, err)
	var health struct {
		Version string `json:"version"`
	}
	require.NoError(b, decode(resp, &health))
	fmt.Printf("vault-version: %s\n", health.Version)
}

// apiClient returns a vault/api client made the usual way, from
// DefaultConfig, with the user's token and a dialer counting for variant.
func (env *benchEnv) apiClient(b *testing.B, variant string) *api.Client {
	vault := edgetest.Start(b)
	cfg := api.DefaultConfig()
	cfg.Address = vault.Addr()
	cfg.HttpClient.Transport.(*http.Transport).DialContext = env.countingDialer(variant)
	c, err := api.NewClient(cfg)
	require.NoError(b, err)
	c.SetToken(env.user.Token)
	return c
}

// connCounts counts what a client's connections carry: the connections
// it opens, and the HTTP requests it sends.
type connCounts struct {
	dials, requests atomic.Int64
}

// countingDialer returns a DialContext for variant's transport (net/http's
// dialer settings) that counts its dials and the requests sent on them.
func (env *benchEnv) countingDialer(variant string) func(context.Context, string, string) (net.Conn, error) {
	n := &connCounts{}
	env.conns[variant] = n
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.dials.Add(1)
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, n: n}, nil
	}
}

// countingConn counts the HTTP/1.1 requests written on a connection: a
// transport writes each request's line and headers in one write.
type countingConn struct {
	net.Conn
	n *connCounts
}

func (c *countingConn) Write(p []byte) (int, error) {
	for _, m := range []string{"GET /", "PUT /", "POST /", "DELETE /", "LIST /"} {
		if bytes.HasPrefix(p, []byte(m)) {
			c.n.requests.Add(1)
			break
		}
	}
	return c.Conn.Write(p)
}

func (env *benchEnv) kvPath(name string) string {
	return "edge/users/" + env.user.EntityID + "/" + name
}
func (env *benchEnv) dataPath(name string) string {
	return env.mount + "/data/" + env.kvPath(name)
}
func (env *benchEnv) metaPath(name string) string {
	return env.mount + "/metadata/" + env.kvPath(name)
}

// create creates secret name holding value, untimed, on the setup
// client.
func (env *benchEnv) create(name string, value edge.Secret) error {
	return env.setup.write(context.Background(), env.dataPath(name), 0, value)
}

// fresh returns a name no run has used, to be deleted after the run.
func (env *benchEnv) fresh(prefix string) string {
	name := prefix + strconv.FormatInt(env.next.Add(1), 10)
	env.mu.Lock()
	env.created = append(env.created, name)
	env.mu.Unlock()
	return name
}

// createMany creates n fresh names holding value, untimed, and returns
// them.
func (env *benchEnv) createMany(b *testing.B, prefix string, n int, value edge.Secret) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = prefix + strconv.FormatInt(env.next.Add(1), 10)
	}
	env.createManyNamed(b, n, func(i int) string { return names[i] }, value)
	return names
}

// createManyNamed creates secrets name(0) to name(n-1) holding value,
// from 16 goroutines on the setup client.
func (env *benchEnv) createManyNamed(b *testing.B, n int, name func(int) string, value edge.Secret) {
	b.Helper()
	err := parallel(16, n, func(i int) error { return env.create(name(i), value) })
	require.NoError(b, err)
}

// deleteCreated deletes the fresh names of the last run.
func (env *benchEnv) deleteCreated(b *testing.B) {
	b.Helper()
	env.mu.Lock()
	names := env.created
	env.created = nil
	env.mu.Unlock()
	err := parallel(16, len(names), func(i int) error {
		return env.setup.delete(context.Background(), env.metaPath(names[i]))
	})
	require.NoError(b, err)
}

// parallel calls f(0) to f(n-1) from up to conc goroutines and returns
// the first error.
func parallel(conc, n int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// variants holds one operation for each client. i is the operation's
// index in the run (0 to b.N-1) and g its goroutine's (0 to conc-1).
type variants struct {
	sdk, plain, vaultapi func(ctx context.Context, i, g int) error
}

// compare runs the three variants of one case as sub-benchmarks
// name/client=<variant>, one after the other, so that they meet the same
// state of Vault and of the machine. Each run first warms its client up
// with one operation from each of its goroutines, untimed, so that it
// holds the connections they need; then dials/op counts the connections
// it opens while timed (0 when it keeps them), and requests/op the HTTP
// requests it sends. EDGE_BENCH_ROUND (set by internal/benchreport)
// rotates which variant runs first.
func (env *benchEnv) compare(b *testing.B, name string, conc int, v variants) {
	env.compareWith(b, name, conc, nil, v)
}

// compareWith is compare with before(n) called untimed before each run,
// n the number of operations of the run and its warm-up.
func (env *benchEnv) compareWith(b *testing.B, name string, conc int, before func(n int), v variants) {
	order := []struct {
		name string
		op   func(ctx context.Context, i, g int) error
	}{{"sdk", v.sdk}, {"plain", v.plain}, {"vaultapi", v.vaultapi}}
	round, _ := strconv.Atoi(os.Getenv("EDGE_BENCH_ROUND"))
	k := round % len(order)
	for _, c := range append(order[k:], order[:k]...) {
		b.Run(name+"/client="+c.name, func(b *testing.B) {
			if before != nil {
				before(b.N + conc)
			}
			ctx := context.Background()
			require.NoError(b, parallel(conc, conc, func(g int) error { return c.op(ctx, b.N+g, g) }))
			counts := env.conns[c.name]
			dials, requests := counts.dials.Load(), counts.requests.Load()
			timeOps(b, conc, c.op)
			b.ReportMetric(float64(counts.dials.Load()-dials)/float64(b.N), "dials/op")
			b.ReportMetric(float64(counts.requests.Load()-requests)/float64(b.N), "requests/op")
			env.deleteCreated(b)
		})
	}
}

// timeOps times b.N calls of op from conc goroutines (conc 1: serially).
// It starts exactly conc goroutines, whatever GOMAXPROCS is, which
// b.RunParallel cannot, and tells op its goroutine; ns/op is then wall
// time per operation, as with RunParallel.
func timeOps(b *testing.B, conc int, op func(ctx context.Context, i, g int) error) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer b.StopTimer()
	if conc == 1 {
		for i := range b.N {
			if err := op(ctx, i, 0); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N || failed.Load() != nil {
					return
				}
				if err := op(ctx, i, g); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// plainClient does the SDK's Vault requests with net/http and
// encoding/json alone: the floor any client pays. Its transport is
// net/http's default one with enough idle connections for 32 goroutines.
type plainClient struct {
	hc    *http.Client
	addr  string
	token string
}

func newPlainClient(addr, token string, dial func(context.Context, string, string) (net.Conn, error)) *plainClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = dial
	t.MaxIdleConnsPerHost = 64
	return &plainClient{hc: &http.Client{Transport: t}, addr: addr, token: token}
}

// do sends one request and returns the response if its status is want.
func (p *plainClient) do(ctx context.Context, method, path string, body []byte, want int, header ...string) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.addr+"/v1/"+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Token", p.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		drain(resp)
		return nil, fmt.Errorf("%s %s: status %d", method, path, resp.StatusCode)
	}
	return resp, nil
}

// drain reads the rest of resp's body and closes it, so that its
// connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

// decode decodes resp's JSON body into v and drains it.
func decode(resp *http.Response, v any) error {
	defer drain(resp)
	return json.NewDecoder(resp.Body).Decode(v)
}

func (p *plainClient) read(ctx context.Context, path string) (map[string]any, error) {
	resp, err := p.do(ctx, http.MethodGet, path, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var body struct {
		Data struct {
			Data map[string]any `json:"data"`
		} `json:"data"`
	}
	err = decode(resp, &body)
	return body.Data.Data, err
}

// write is a KV v2 write with check-and-set version cas.
func (p *plainClient) write(ctx context.Context, path string, cas int, value map[string]any) error {
	var body struct {
		Options struct {
			CAS int `json:"cas"`
		} `json:"options"`
		Data map[string]any `json:"data"`
	}
	body.Options.CAS = cas
	body.Data = value
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := p.do(ctx, http.MethodPut, path, b, http.StatusOK)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// version returns the current version of the secret whose metadata path
// is path.
func (p *plainClient) version(ctx context.Context, path string) (int, error) {
	resp, err := p.do(ctx, http.MethodGet, path, nil, http.StatusOK)
	if err != nil {
		return 0, err
	}
	var body struct {
		Data struct {
			CurrentVersion int `json:"current_version"`
		} `json:"data"`
	}
	err = decode(resp, &body)
	return body.Data.CurrentVersion, err
}

func (p *plainClient) delete(ctx context.Context, path string) error {
	resp, err := p.do(ctx, http.MethodDelete, path, nil, http.StatusNoContent)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

func (p *plainClient) list(ctx context.Context, path string) ([]string, error) {
	resp, err := p.do(ctx, http.MethodGet, path+"?list=true", nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var body struct {
		Data struct {
			Keys []string `json:"keys"`
		} `json:"data"`
	}
	err = decode(resp, &body)
	return body.Data.Keys, err
}

// wrap reads path wrapped and returns the wrapping token.
func (p *plainClient) wrap(ctx context.Context, path string) (string, error) {
	resp, err := p.do(ctx, http.MethodGet, path, nil, http.StatusOK, "X-Vault-Wrap-TTL", benchWrapTTL)
	if err != nil {
		return "", err
	}
	var body struct {
		WrapInfo struct {
			Token        string    `json:"token"`
			Accessor     string    `json:"accessor"`
			TTL          int       `json:"ttl"`
			CreationTime time.Time `json:"creation_time"`
			CreationPath string    `json:"creation_path"`
		} `json:"wrap_info"`
	}
	if err := decode(resp, &body); err != nil {
		return "", err
	}
	if body.WrapInfo.Token == "" {
		return "", fmt.Errorf("no wrapping token")
	}
	return body.WrapInfo.Token, nil
}
