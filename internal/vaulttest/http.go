package vaulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Raw requests to the server, for provisioning and for tests.

// Do sends one request to the server and returns the status code and body.
// For a cluster it goes to the node that was active after the last cluster
// method (initially Addr); DoAt sends to a given node.
// path is the request path with query, e.g. "/v1/sys/mounts"; it is sent as
// given (percent-encodings preserved, dot segments not cleaned by the
// client). token, when not empty, goes in X-Vault-Token. body may be nil,
// []byte, string, an io.Reader (all sent as is) or any other value (sent as
// JSON). PATCH bodies are labelled application/merge-patch+json, others
// application/json. Redirects are returned, not followed.
func (s *Server) Do(ctx context.Context, method, path, token string, body any) (status int, respBody []byte, err error) {
	return s.DoAt(ctx, s.target(), method, path, token, body)
}

// DoAt is Do against the node at addr (one of Nodes' addresses; any base
// URL works).
func (s *Server) DoAt(ctx context.Context, addr, method, path, token string, body any) (status int, respBody []byte, err error) {
	addr = strings.TrimRight(addr, "/")
	if !strings.HasPrefix(path, "/") {
		return 0, nil, fmt.Errorf("vaulttest: Do: path %q must start with /", path)
	}
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	case io.Reader:
		r = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, fmt.Errorf("vaulttest: Do: encoding body: %w", err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, addr+path, r)
	if err != nil {
		return 0, nil, fmt.Errorf("vaulttest: Do: %w", err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	req.Header.Set("X-Vault-Request", "true")
	if r != nil {
		if method == http.MethodPatch {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	client := s.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("vaulttest: %s %s: %w", method, redactQuery(path), err)
	}
	defer resp.Body.Close()
	respBody, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, respBody, fmt.Errorf("vaulttest: %s %s: reading body: %w", method, redactQuery(path), err)
	}
	return resp.StatusCode, respBody, nil
}

func redactQuery(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i] + "?..."
	}
	return p
}

// vaultErrors extracts Vault's "errors" array from a response body for error
// messages (Vault error messages do not contain tokens).
func vaultErrors(body []byte) string {
	var e struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		return strings.Join(e.Errors, "; ")
	}
	if len(body) > 200 {
		return fmt.Sprintf("(%d byte body)", len(body))
	}
	return strings.TrimSpace(string(body))
}
