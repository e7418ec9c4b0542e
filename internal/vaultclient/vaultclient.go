// Package vaultclient makes the vault/api clients the edge and admin
// packages work with, so that they never change a caller's client, and
// lets a call learn what vault/api's retries did (see Attempts).
package vaultclient

import (
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/hashicorp/vault/api"
	"golang.org/x/net/http2"

	"github.com/edgesdk/edge/internal/vaulterr"
)

// Own returns a client of the caller's own, which shares no mutable state
// with client: a new client from client's configuration (address, TLS,
// timeouts, retry and rate limit settings) with a copy of its token and
// headers (namespace included), and its own http.Client and Transport, so
// that neither vault/api (which rewrites the transport's DialContext for
// a unix:// address) nor a later SetAddress or SetToken on either client
// reaches the other. When client is nil it is a new client from vault/api's
// environment (VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, ...).
//
// Either way the client gets a wrapping lookup that never wraps, so that a
// VAULT_WRAP_TTL in the environment cannot wrap (and so empty) its
// answers (a request that is to be wrapped asks for it itself), and a
// retry policy that reports to Attempts (see Track), within the
// RetryBudget option if given. A transport that is
// not an *http.Transport cannot be copied: it is shared, as the caller
// built it (vault/api refuses unix:// addresses on such a transport).
func Own(client *api.Client, opts ...Option) (*api.Client, error) {
	var cfg *api.Config
	if client != nil {
		cfg = client.CloneConfig()
		if t, ok := cfg.HttpClient.Transport.(*http.Transport); ok {
			cfg.HttpClient.Transport = keepIdle(cloneTransport(t))
		}
	} else {
		cfg = api.DefaultConfig()
		if t, ok := cfg.HttpClient.Transport.(*http.Transport); ok {
			cfg.HttpClient.Transport = keepIdle(cloneTransport(t))
		}
	}
	if cfg.Error != nil {
		return nil, fmt.Errorf("reading the vault environment%s: %w", envAddress(), vaulterr.Config(cfg.Error))
	}
	if !cfg.DisableRedirects {
		cfg.HttpClient.CheckRedirect = followTemporaryRedirect
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("making the vault client: %w", vaulterr.Config(err))
	}
	if client != nil {
		// NewClient reads VAULT_TOKEN, VAULT_NAMESPACE and VAULT_HEADERS
		// from the environment: the caller's client says otherwise.
		c.SetToken(client.Token())
		c.SetHeaders(client.Headers())
	}
	c.SetWrappingLookupFunc(func(operation, path string) string { return "" })
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	o.apply(c, c.CheckRetry())
	return c, nil
}

// envAddress returns " for ADDRESS", the address VAULT_ADDR names
// (scheme and host: never a user's password, a path or a query), for the
// error of an environment vault/api could not read; "" without one.
func envAddress() string {
	u, err := url.Parse(os.Getenv(api.EnvVaultAddress))
	if err != nil || u.Host == "" {
		return ""
	}
	return " for " + u.Scheme + "://" + u.Host
}

// followTemporaryRedirect lets net/http follow one 307 or 308, such as a
// standby's redirect to the active node, itself: it sends the request
// again with the same method and body (go-retryablehttp gives net/http
// the body's GetBody), where vault/api, following it, encodes the
// request's object again and so sends "null" for a request made of bytes.
// It also keeps every retry starting at the client's address: vault/api
// sends all the retries of a call to the target of a redirect it
// followed, and a standby whose forwarded request was cut off by the
// active node's shutdown redirects to that stopped node (TestFailover:
// the whole 30 s retry budget spent on refused connections).
// Anything else (another status, a second redirect, https to http) is
// left to vault/api as it was: its own rules then apply, the downgrade
// refused.
//
// A redirect also marks the call's Attempts (see Track) as possibly
// having reached Vault: a standby answers 307 when it could not forward
// the request, and after a forwarded request was cut off, which the
// active node may have applied before it went down.
func followTemporaryRedirect(req *http.Request, via []*http.Request) error {
	if a, ok := req.Context().Value(attemptsKey{}).(*Attempts); ok {
		a.markReached()
	}
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	switch {
	case status != http.StatusTemporaryRedirect && status != http.StatusPermanentRedirect,
		len(via) != 1,
		via[0].URL.Scheme == "https" && req.URL.Scheme != "https":
		return http.ErrUseLastResponse
	}
	return nil
}

// cloneTransport returns a copy of t with its own connection pool. An
// HTTP/2 setup (vault/api's DefaultConfig configures one) is made anew:
// the copied one would keep putting connections in t's pool. (Its
// StrictMaxConcurrentStreams mode is not used: with more requests
// waiting than the server allows streams, x/net's client deadlocks, its
// waiting requests' reservations counted as streams in use; a Gate
// bounds the requests instead.)
func cloneTransport(t *http.Transport) *http.Transport {
	c := t.Clone()
	if _, h2 := c.TLSNextProto["h2"]; h2 {
		c.TLSNextProto = nil
		if err := http2.ConfigureTransport(c); err != nil {
			// Only possible if c already speaks HTTP/2 natively;
			// then it needs nothing more.
			return c
		}
	}
	return c
}

// keepIdle lets t keep as many idle connections to one host as it keeps
// in all (MaxIdleConns: 100 in vault/api's default transport, which keeps
// only GOMAXPROCS+1 per host). A client made by Own talks to one Vault:
// goroutines sharing it then reuse their connections, where they would
// open a new one for most requests and close it after. A transport that
// keeps no idle connection (DisableKeepAlives, a negative
// MaxIdleConnsPerHost) stays so.
func keepIdle(t *http.Transport) *http.Transport {
	if t.DisableKeepAlives || t.MaxIdleConnsPerHost < 0 {
		return t
	}
	n := t.MaxIdleConns
	if n <= 0 {
		n = 100 // MaxIdleConns 0: no limit in all
	}
	if t.MaxIdleConnsPerHost < n {
		t.MaxIdleConnsPerHost = n
	}
	return t
}

// CloseIdle closes the idle connections of a client made by Own.
func CloseIdle(c *api.Client) {
	if c == nil {
		return
	}
	// CloneConfig copies the http.Client, whose Transport is c's own.
	c.CloneConfig().HttpClient.CloseIdleConnections()
}
