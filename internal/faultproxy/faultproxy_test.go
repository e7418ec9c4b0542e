package faultproxy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge/internal/faultproxy"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaks := waitGoroutines(5*time.Second, "net/http.", "faultproxy.(*Proxy)"); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n\n%s\n", strings.Join(leaks, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// goroutines returns the stacks of the goroutines that mention any of subs.
func goroutines(subs ...string) []string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, s := range subs {
			if strings.Contains(g, s) {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

// waitGoroutines waits up to timeout for the goroutines that mention any of
// subs to end, and returns the stacks of those that remain.
func waitGoroutines(timeout time.Duration, subs ...string) []string {
	deadline := time.Now().Add(timeout)
	for {
		found := goroutines(subs...)
		if len(found) == 0 || time.Now().After(deadline) {
			return found
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// backend stands in for Vault: it records what it receives and answers
// 201 with a fixed body and headers.
type backend struct {
	*httptest.Server
	hits     atomic.Int64
	answered atomic.Int64 // answers written in full

	mu   sync.Mutex
	last *http.Request
	body []byte
}

const backendBody = `{"data":{"value":"s3cr3t"}}`

func newBackend(t *testing.T, answer []byte) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		b.mu.Lock()
		b.last, b.body = r, body
		b.mu.Unlock()
		b.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", "vault")
		w.Header()["X-Case-Kept"] = []string{"a", "b"}
		w.WriteHeader(http.StatusCreated)
		if _, err := w.Write(answer); err == nil {
			b.answered.Add(1)
		}
	}))
	t.Cleanup(b.Close)
	return b
}

// setup starts a backend, a Proxy in front of it and a client of its own.
func setup(t *testing.T) (*faultproxy.Proxy, *backend, *http.Client) {
	t.Helper()
	b := newBackend(t, []byte(backendBody))
	p, err := faultproxy.New(b.URL)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return p, b, &http.Client{Transport: tr}
}

func newRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	require.NoError(t, err)
	return req
}

// do sends req and returns the status and body of the answer.
func do(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func isConnError(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func TestNoFaultPassesEverythingThrough(t *testing.T) {
	p, b, c := setup(t)
	var seen []faultproxy.Request
	var mu sync.Mutex
	p.SetRule(func(r faultproxy.Request) faultproxy.Fault {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		return faultproxy.None
	})

	const path = "/v1/secret/data/a%2Fb/%2e%2e/c%20d"
	req := newRequest(t, http.MethodPut, p.URL()+path+"?x=1&y=%2F", `{"data":{"k":"v"}}`)
	req.Header.Set("X-Vault-Token", "hvs.token")
	req.Header.Set("X-Vault-Wrap-TTL", "30s")
	req.Header.Set("X-Vault-Request", "true")
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, backendBody, string(body))
	assert.Equal(t, "vault", resp.Header.Get("X-Backend"))
	assert.Equal(t, []string{"a", "b"}, resp.Header["X-Case-Kept"])
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, int64(len(backendBody)), resp.ContentLength)

	b.mu.Lock()
	defer b.mu.Unlock()
	require.NotNil(t, b.last)
	assert.Equal(t, http.MethodPut, b.last.Method)
	assert.Equal(t, path+"?x=1&y=%2F", b.last.RequestURI, "path must be forwarded raw")
	assert.Equal(t, `{"data":{"k":"v"}}`, string(b.body))
	for _, h := range []string{"X-Vault-Token", "X-Vault-Wrap-TTL", "X-Vault-Request", "Accept-Encoding"} {
		assert.Equal(t, req.Header.Get(h), b.last.Header.Get(h), h)
	}

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 1)
	assert.Equal(t, http.MethodPut, seen[0].Method)
	assert.Equal(t, path, seen[0].Path)
	assert.Equal(t, int64(1), seen[0].Seq)
	assert.Equal(t, "hvs.token", seen[0].Header.Get("X-Vault-Token"))
	assert.Equal(t, int64(1), p.Requests())
	assert.Equal(t, int64(1), p.Forwarded())
}

func TestReset(t *testing.T) {
	p, b, c := setup(t)
	p.SetRule(func(faultproxy.Request) faultproxy.Fault { return faultproxy.Reset })

	resp, err := c.Do(newRequest(t, http.MethodPost, p.URL()+"/v1/secret/data/x", `{"data":{}}`))
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)
	assert.True(t, isConnError(err), "want a connection error, got %v", err)
	assert.Zero(t, b.hits.Load(), "Vault must not see the request")
	assert.Equal(t, int64(1), p.Requests())
	assert.Zero(t, p.Forwarded())
}

// TestResetRetriedByTransport documents that http.Transport retries an
// idempotent request whose reused connection is reset, and that the Proxy
// counts both attempts.
func TestResetRetriedByTransport(t *testing.T) {
	p, b, c := setup(t)
	status, _ := do(t, c, newRequest(t, http.MethodGet, p.URL()+"/v1/secret/data/x", ""))
	require.Equal(t, http.StatusCreated, status)

	p.FailNext(1, faultproxy.Reset, nil)
	status, body := do(t, c, newRequest(t, http.MethodGet, p.URL()+"/v1/secret/data/x", ""))
	assert.Equal(t, http.StatusCreated, status)
	assert.Equal(t, backendBody, body)
	assert.Equal(t, int64(3), p.Requests())
	assert.Equal(t, int64(2), p.Forwarded())
	assert.Equal(t, int64(2), b.hits.Load())
}

func TestDrop(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 4<<20) // more than socket buffers hold
	b := newBackend(t, big)
	p, err := faultproxy.New(b.URL)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	p.FailNext(1, faultproxy.Drop, nil)

	resp, err := c.Do(newRequest(t, http.MethodPost, p.URL()+"/v1/secret/data/x", `{"data":{}}`))
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)
	assert.True(t, isConnError(err), "want a connection error, got %v", err)
	assert.Equal(t, int64(1), b.hits.Load(), "Vault must see the request")
	assert.Equal(t, int64(1), b.answered.Load(), "the proxy must read Vault's whole answer")
	assert.Equal(t, int64(1), p.Requests())
	assert.Equal(t, int64(1), p.Forwarded())

	status, body := do(t, c, newRequest(t, http.MethodPost, p.URL()+"/v1/secret/data/x", `{}`))
	assert.Equal(t, http.StatusCreated, status)
	assert.Equal(t, len(big), len(body))
}

// TestEarlyAnswer checks that a large answer to a request with a body comes
// through whole even when Vault answers before the request is fully sent.
func TestEarlyAnswer(t *testing.T) {
	big := bytes.Repeat([]byte("y"), 1<<20)
	early := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(big) // without reading the request body first
	}))
	t.Cleanup(early.Close)
	p, err := faultproxy.New(early.URL)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}

	for range 20 {
		status, body := do(t, c, newRequest(t, http.MethodPost, p.URL()+"/v1/a", strings.Repeat("z", 100<<10)))
		require.Equal(t, http.StatusOK, status)
		require.Len(t, body, len(big))
	}
}

func TestBadGateway502After(t *testing.T) {
	p, b, c := setup(t)
	p.FailNext(1, faultproxy.BadGateway502After, nil)

	resp, err := c.Do(newRequest(t, http.MethodPost, p.URL()+"/v1/secret/data/x", `{"data":{}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Equal(t, `{"errors":["injected bad gateway"]}`+"\n", string(body))
	assert.Empty(t, resp.Header.Get("X-Backend"), "Vault's answer must be lost")
	assert.Equal(t, int64(1), b.hits.Load(), "Vault must see the request")
	assert.Equal(t, int64(1), b.answered.Load())
	assert.Equal(t, int64(1), p.Forwarded())
}

func TestDelayAnswer(t *testing.T) {
	p, b, c := setup(t)
	p.SetDelay(200 * time.Millisecond)
	p.FailNext(1, faultproxy.DelayAnswer, nil)

	start := time.Now()
	resp, err := c.Do(newRequest(t, http.MethodPost, p.URL()+"/v1/secret/data/x", `{"data":{}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Less(t, resp.StatusCode, 300)
	assert.NotEmpty(t, resp.Header.Get("X-Backend"), "Vault's answer arrives")
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "late")
	assert.Equal(t, int64(1), b.answered.Load(), "Vault answered before the wait")
}

func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		fault  faultproxy.Fault
		status int
		body   string
	}{
		{faultproxy.Status500, http.StatusInternalServerError, `{"errors":["injected internal error"]}`},
		{faultproxy.Sealed, http.StatusServiceUnavailable, `{"errors":["Vault is sealed"]}`},
		{faultproxy.TooMany, http.StatusTooManyRequests, `{"errors":["request path \"secret/data/x\": rate limit quota exceeded"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			p, b, c := setup(t)
			p.FailNext(1, tt.fault, nil)
			resp, err := c.Do(newRequest(t, http.MethodGet, p.URL()+"/v1/secret/data/x", ""))
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, tt.body+"\n", string(body))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.Zero(t, b.hits.Load(), "Vault must not see the request")
			assert.Equal(t, int64(1), p.Requests())
			assert.Zero(t, p.Forwarded())
		})
	}
}

func TestFailNext(t *testing.T) {
	p, b, c := setup(t)
	p.FailNext(2, faultproxy.Status500, func(r faultproxy.Request) bool {
		return strings.HasSuffix(r.Path, "/b")
	})
	var got []int
	for _, path := range []string{"/v1/a", "/v1/b", "/v1/a", "/v1/b", "/v1/b", "/v1/a"} {
		status, _ := do(t, c, newRequest(t, http.MethodGet, p.URL()+path, ""))
		got = append(got, status)
	}
	assert.Equal(t, []int{201, 500, 201, 500, 201, 201}, got)

	p.FailNext(1, faultproxy.Sealed, nil)
	got = got[:0]
	for range 2 {
		status, _ := do(t, c, newRequest(t, http.MethodGet, p.URL()+"/v1/a", ""))
		got = append(got, status)
	}
	assert.Equal(t, []int{503, 201}, got)

	p.FailNext(0, faultproxy.Sealed, nil)
	status, _ := do(t, c, newRequest(t, http.MethodGet, p.URL()+"/v1/a", ""))
	assert.Equal(t, http.StatusCreated, status)

	p.SetRule(nil)
	status, _ = do(t, c, newRequest(t, http.MethodGet, p.URL()+"/v1/a", ""))
	assert.Equal(t, http.StatusCreated, status)

	assert.Equal(t, int64(10), p.Requests())
	assert.Equal(t, int64(7), p.Forwarded())
	assert.Equal(t, int64(7), b.hits.Load())
}

func TestFailNextConcurrent(t *testing.T) {
	p, b, c := setup(t)
	p.FailNext(5, faultproxy.Status500, nil)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(p.URL() + "/v1/a")
			if !assert.NoError(t, err) {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusInternalServerError {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(5), failed.Load())
	assert.Equal(t, int64(20), p.Requests())
	assert.Equal(t, int64(15), b.hits.Load())
}

func TestDelay(t *testing.T) {
	p, b, c := setup(t)
	p.SetDelay(100 * time.Millisecond)
	p.FailNext(1, faultproxy.Delay, nil)
	start := time.Now()
	status, body := do(t, c, newRequest(t, http.MethodGet, p.URL()+"/v1/a", ""))
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	assert.Equal(t, http.StatusCreated, status)
	assert.Equal(t, backendBody, body)
	assert.Equal(t, int64(1), b.hits.Load())
}

// TestDelayCancelledByClient checks that a request held by Delay ends within
// 100ms of its client giving up. The latency is measured up to three times so
// that a scheduling hiccup on a loaded machine does not fail the test; every
// attempt must end long before the hour-long delay.
func TestDelayCancelledByClient(t *testing.T) {
	p, b, c := setup(t)
	p.SetDelay(time.Hour)
	p.SetRule(func(faultproxy.Request) faultproxy.Fault { return faultproxy.Delay })

	var took []time.Duration
	for i := int64(1); i <= 3; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		req := newRequest(t, http.MethodGet, p.URL()+"/v1/a", "").WithContext(ctx)
		errc := make(chan error, 1)
		go func() {
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		require.Eventually(t, func() bool { return p.Requests() == i }, 5*time.Second, time.Millisecond)

		cancel()
		start := time.Now()
		require.ErrorIs(t, <-errc, context.Canceled)
		require.Empty(t, waitGoroutines(5*time.Second, "faultproxy.(*Proxy).serve"), "the proxy must stop waiting")
		took = append(took, time.Since(start))
		if took[len(took)-1] <= 100*time.Millisecond {
			break
		}
	}
	assert.LessOrEqual(t, slices.Min(took), 100*time.Millisecond, "took %v", took)
	assert.Zero(t, b.hits.Load())
	assert.Zero(t, p.Forwarded())
}

func TestCloseDuringDelay(t *testing.T) {
	p, b, c := setup(t)
	p.SetDelay(time.Hour)
	p.SetRule(func(faultproxy.Request) faultproxy.Fault { return faultproxy.Delay })

	errc := make(chan error, 1)
	go func() {
		resp, err := c.Get(p.URL() + "/v1/a")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	require.Eventually(t, func() bool { return p.Requests() == 1 }, 5*time.Second, time.Millisecond)

	start := time.Now()
	require.NoError(t, p.Close())
	assert.Less(t, time.Since(start), time.Second)
	assert.Error(t, <-errc, "the client must not get an answer")
	// Close has waited for the handlers; their goroutines end right after.
	assert.Empty(t, waitGoroutines(time.Second, "faultproxy.(*Proxy)"), "Close must stop its handlers")
	assert.Zero(t, b.hits.Load())

	require.NoError(t, p.Close(), "Close twice")
	_, err := c.Get(p.URL() + "/v1/a")
	assert.Error(t, err, "a closed proxy must refuse connections")
}

func TestCloseWhileForwarding(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	defer close(release)
	p, err := faultproxy.New(slow.URL)
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)

	errc := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get(p.URL() + "/v1/a")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	require.Eventually(t, func() bool { return p.Requests() == 1 }, 5*time.Second, time.Millisecond)

	start := time.Now()
	require.NoError(t, p.Close())
	assert.Less(t, time.Since(start), time.Second)
	assert.Error(t, <-errc)
	assert.Empty(t, waitGoroutines(time.Second, "faultproxy.(*Proxy)"))
}

func TestUnreachableTarget(t *testing.T) {
	// Close the dead port only once the proxy has its own, lest the proxy
	// get that very port and forward to itself.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p, err := faultproxy.New("http://" + dead.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	require.NoError(t, dead.Close())
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)

	status, body := do(t, &http.Client{Transport: tr}, newRequest(t, http.MethodGet, p.URL()+"/v1/a", ""))
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Contains(t, body, `"errors":["faultproxy: `)
	assert.Zero(t, p.Forwarded())
}

func TestNewRejectsBadTarget(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:8200", "ftp://127.0.0.1", "http://", "http://[::1"} {
		p, err := faultproxy.New(target)
		assert.Error(t, err, target)
		assert.Nil(t, p)
	}
}

func TestFaultString(t *testing.T) {
	assert.Equal(t, "None", faultproxy.None.String())
	assert.Equal(t, "Reset", faultproxy.Reset.String())
	assert.Equal(t, "BadGateway502After", faultproxy.BadGateway502After.String())
	assert.Equal(t, "DelayAnswer", faultproxy.DelayAnswer.String())
	assert.Equal(t, "Fault(42)", faultproxy.Fault(42).String())
	assert.Equal(t, "Fault(-1)", faultproxy.Fault(-1).String())
}
