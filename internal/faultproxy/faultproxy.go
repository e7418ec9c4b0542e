// Package faultproxy provides a fault-injecting HTTP reverse proxy for tests.
//
// A Proxy sits in front of a real Vault server. For every request it asks a
// rule which Fault to inject: reset the connection before Vault sees the
// request, lose Vault's answer after Vault has acted on the request, answer
// with a Vault-style error without forwarding, or delay the request. Requests
// without a fault are forwarded with httputil.ReverseProxy: the method, the
// escaped path (never cleaned or decoded), the query, the body and the
// end-to-end headers (X-Vault-Token, X-Vault-Wrap-TTL, ...) reach Vault
// unchanged, and Vault's status, headers and body come back unchanged.
// Hop-by-hop headers such as Connection are not forwarded, as for any proxy,
// and the request body is read whole before it is forwarded.
//
// Clients may retry by themselves, and each attempt is a new request to the
// Proxy: the rule sees it with its own Seq, and Requests and Forwarded count
// it. In particular Go's http.Transport retries a request on a new connection
// when a reused keep-alive connection fails before the first byte of the
// answer, if the request is idempotent (GET, HEAD, OPTIONS, TRACE, or one
// with an Idempotency-Key header) or was not sent at all. A Reset or a Drop
// of such a request can therefore be invisible to the caller (after a Drop,
// the retry reaches Vault a second time). Clients built on
// github.com/hashicorp/vault/api also retry connection errors and 5xx
// answers (Config.MaxRetries, 2 by default). To make a fault surface, match
// every attempt (for example FailNext with a larger n) or turn the retries
// off.
package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what a Proxy does to a request instead of forwarding it normally.
type Fault int

// The faults a Proxy can inject.
const (
	// None forwards the request to Vault and its answer to the client.
	None Fault = iota
	// Reset closes the client's connection abruptly (TCP RST) before
	// forwarding: Vault never sees the request, and the client sees a
	// connection error such as "connection reset by peer" or EOF.
	Reset
	// Drop forwards the request, reads Vault's whole answer (so Vault has
	// acted on the request), then resets the client's connection without
	// answering: the answer is lost.
	Drop
	// Status500 answers 500 {"errors":["injected internal error"]} without
	// forwarding.
	Status500
	// Sealed answers 503 with Vault's body for a sealed Vault,
	// {"errors":["Vault is sealed"]}, without forwarding.
	Sealed
	// TooMany answers 429 with Vault's body for an exceeded rate limit
	// quota, {"errors":["request path \"...\": rate limit quota exceeded"]},
	// without forwarding.
	TooMany
	// Delay waits for the Proxy's delay (see SetDelay), then forwards the
	// request normally. The wait ends early, resetting the connection, if
	// the client gives up on the request or the Proxy is closed.
	Delay
	// BadGateway502After forwards the request and reads Vault's whole
	// answer (so Vault has acted on the request), then answers 502
	// {"errors":["injected bad gateway"]} instead: the answer is lost, but
	// the client gets an HTTP status rather than a connection error.
	BadGateway502After
	// DelayAnswer forwards the request, reads Vault's whole answer (so
	// Vault has acted on the request), then holds it for the Proxy's
	// delay (see SetDelay) before passing it on: an answer that reflects
	// Vault's state when the request arrived, delivered late.
	DelayAnswer
)

var faultNames = [...]string{"None", "Reset", "Drop", "Status500", "Sealed", "TooMany", "Delay", "BadGateway502After", "DelayAnswer"}

// String returns the name of f, such as "Reset".
func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Request describes a request received by a Proxy, for a rule to choose a
// Fault.
type Request struct {
	Method string
	Path   string      // escaped path as sent by the client, e.g. "/v1/secret/data/a%2Fb"
	Seq    int64       // 1 for the first request the Proxy received, then 2, ...
	Header http.Header // a copy of the request's headers
}

// Proxy is a fault-injecting reverse proxy listening on 127.0.0.1. Its
// methods are safe for concurrent use.
type Proxy struct {
	url    string
	srv    *http.Server
	rp     *httputil.ReverseProxy
	tr     *http.Transport
	cancel context.CancelFunc // cancels the context of every request
	served chan struct{}      // closed when srv.Serve has returned

	delay     atomic.Int64 // time.Duration
	requests  atomic.Int64
	forwarded atomic.Int64

	mu       sync.Mutex
	rule     func(Request) Fault
	closed   bool
	handlers sync.WaitGroup // requests being handled; Add only with mu held and !closed
}

// faultKey is the context key under which the Fault of a forwarded request
// is passed to modifyResponse.
type faultKey struct{}

// Errors returned by modifyResponse for proxyError to apply the fault.
var (
	errDrop       = errors.New("faultproxy: drop answer")
	errBadGateway = errors.New("faultproxy: replace answer with 502")
)

var discardLog = log.New(io.Discard, "", 0)

// New starts a Proxy on a free port of 127.0.0.1 that forwards to target, the
// base URL of a Vault server such as "http://127.0.0.1:8200". It injects no
// faults until SetRule or FailNext is called. Close must be called to stop it.
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: bad target: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not an http(s) URL", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		url:    "http://" + ln.Addr().String(),
		cancel: cancel,
		served: make(chan struct{}),
		tr: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			DisableCompression:  true, // pass Accept-Encoding and bodies through untouched
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u) // keeps the escaped path: joins RawPath when set
			pr.Out.Host = pr.In.Host
		},
		Transport:      p.tr,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.proxyError,
		ErrorLog:       discardLog,
	}
	p.srv = &http.Server{
		Handler:     http.HandlerFunc(p.serve),
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    discardLog,
	}
	go func() {
		defer close(p.served)
		_ = p.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return p, nil
}

// URL returns the base URL of p, such as "http://127.0.0.1:41234", to use in
// place of Vault's address.
func (p *Proxy) URL() string { return p.url }

// SetRule makes p call rule for every request from now on to choose its
// Fault; nil injects no faults. The rule may be called concurrently and must
// not block.
func (p *Proxy) SetRule(rule func(Request) Fault) {
	p.mu.Lock()
	p.rule = rule
	p.mu.Unlock()
}

// FailNext replaces p's rule with one that injects f into the next n requests
// for which match returns true (nil matches every request), and no fault
// into any other request.
func (p *Proxy) FailNext(n int, f Fault, match func(Request) bool) {
	var left atomic.Int64
	left.Store(int64(n))
	p.SetRule(func(r Request) Fault {
		if match != nil && !match(r) {
			return None
		}
		for {
			k := left.Load()
			if k <= 0 {
				return None
			}
			if left.CompareAndSwap(k, k-1) {
				return f
			}
		}
	})
}

// SetDelay sets how long the Delay fault holds a request before forwarding it.
// It is zero until set.
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// Requests returns the number of requests p has received, counting each
// attempt of a client that retries.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// Forwarded returns the number of requests that reached Vault, counted when
// Vault's answer arrives, including answers that a fault then discarded.
func (p *Proxy) Forwarded() int64 { return p.forwarded.Load() }

// Close stops p: it closes the listener and every connection, cancels the
// requests in progress (including those waiting in a Delay or for Vault) and
// waits for them to finish, so that no goroutine of p remains. Connections
// taken over for Reset or Drop are closed by their request before it
// finishes. Close may be called more than once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()

	err := p.srv.Close() // first, so that no cancelled request can still answer
	p.cancel()
	<-p.served
	p.handlers.Wait()
	p.tr.CloseIdleConnections() // also closes connections that become idle later
	return err
}

// serve handles a request received by p.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		reset(w)
		return
	}
	p.handlers.Add(1)
	rule := p.rule
	p.mu.Unlock()
	defer p.handlers.Done()

	req := Request{
		Method: r.Method,
		Path:   r.URL.EscapedPath(),
		Seq:    p.requests.Add(1),
		Header: r.Header.Clone(),
	}
	f := None
	if rule != nil {
		f = rule(req)
	}
	switch f {
	case Reset:
		reset(w)
		return
	case Status500:
		writeError(w, http.StatusInternalServerError, "injected internal error")
		return
	case Sealed:
		writeError(w, http.StatusServiceUnavailable, "Vault is sealed")
		return
	case TooMany:
		path := strings.TrimPrefix(r.URL.Path, "/v1/")
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("request path %q: rate limit quota exceeded", path))
		return
	case Delay:
		if d := time.Duration(p.delay.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done(): // client gone or p closed
				t.Stop()
				reset(w)
				return
			}
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), faultKey{}, f))
	if r.ContentLength != 0 {
		// Read the body before forwarding: the server closes it once the
		// answer starts, which would break the transport's request write
		// (and with it the connection to Vault) if Vault answers early.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			reset(w)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	p.rp.ServeHTTP(w, r)
}

// modifyResponse counts Vault's answer and, for the faults that lose it,
// reads it whole and returns an error for proxyError to apply the fault.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	p.forwarded.Add(1)
	f, _ := resp.Request.Context().Value(faultKey{}).(Fault)
	if f == DelayAnswer {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		t := time.NewTimer(time.Duration(p.delay.Load()))
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-resp.Request.Context().Done():
			return resp.Request.Context().Err()
		}
	}
	if f != Drop && f != BadGateway502After {
		return nil
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if f == Drop {
		return errDrop
	}
	return errBadGateway
}

// proxyError answers a request that could not be forwarded or whose answer
// a fault discards.
func (p *Proxy) proxyError(w http.ResponseWriter, _ *http.Request, err error) {
	switch {
	case errors.Is(err, errDrop):
		reset(w)
	case errors.Is(err, errBadGateway):
		writeError(w, http.StatusBadGateway, "injected bad gateway")
	default:
		writeError(w, http.StatusBadGateway, "faultproxy: "+err.Error())
	}
}

// reset closes the client's connection with a TCP RST instead of answering.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection all the same
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // discard unsent data and send RST on Close
	}
	_ = conn.Close()
}

// writeError answers like Vault does for an error: status code and a JSON
// body {"errors":[msg]} followed by a newline.
func writeError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Errors []string `json:"errors"`
	}{[]string{msg}})
}
