package edge_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge/edgetest"
)

// proxy sits between a session and the real Vault: it counts requests and
// can rewrite Vault's answers, to test what Vault alone would never do.
type proxy struct {
	*httptest.Server
	requests atomic.Int64

	mu     sync.Mutex
	modify func(*http.Response) error
}

func newProxy(t *testing.T) *proxy {
	t.Helper()
	vault := edgetest.Start(t)
	target, err := url.Parse(vault.Addr())
	require.NoError(t, err)
	p := &proxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		p.mu.Lock()
		modify := p.modify
		p.mu.Unlock()
		if modify == nil {
			return nil
		}
		return modify(resp)
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// setBody replaces the body of resp.
func setBody(resp *http.Response, b []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
}

// rewriteJSON decodes the JSON object in resp's body, lets edit change
// it, and puts it back.
func rewriteJSON(resp *http.Response, edit func(body map[string]any)) error {
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err
	}
	edit(body)
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	setBody(resp, b)
	return nil
}

// setModify installs f to rewrite every answer from now on (nil: none).
func (p *proxy) setModify(f func(*http.Response) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.modify = f
}
