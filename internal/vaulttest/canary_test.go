package vaulttest

// Path traversal canary.
//
// Vault v1.14.0 evaluates ACLs on the request path as it receives it, while
// KV v2 cleans keys ("a/../b" -> "b") when it stores metadata. Since Go 1.22,
// net/http.ServeMux no longer cleans percent-encoded dot segments, so a
// request such as
//
//	PUT /v1/secret/data/edge/users/<attacker>/%2e%2e/<victim>/victim
//
// passes the attacker's templated policy ("secret/data/edge/users/<own
// entity>/*") and lands on the victim's secret. devvault is built with
// //go:debug httpmuxgo121=1 to restore the old ServeMux, which redirects
// such requests to the cleaned path before Vault sees them.
//
// TestCanaryPathTraversal sends a table of traversal requests from an
// attacker towards a victim's secret and requires that none succeeds and
// that the victim's secret is untouched. TestCanaryDetectsVulnerableServer
// proves the canary can fail: it runs the same attack against a devvault
// started with GODEBUG=httpmuxgo121=0 (overriding the //go:debug default,
// the same as building without the directive) and requires the attack to
// succeed there. Checked by hand as well: devvault built without the
// //go:debug line makes TestCanaryPathTraversal fail.
//
// Requests are sent three ways so the traversal bytes really go over the
// wire unnormalised (TestCanaryRequestsAreSentVerbatim checks this): raw
// bytes on a TCP connection, net/http with URL.Opaque, and plain
// http.NewRequest. Redirects are never followed.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// traversals are spellings of "../" (one path segment up).
var traversals = []struct{ name, up string }{
	{"dots-encoded", "%2e%2e/"},
	{"dots-encoded-upper", "%2E%2E/"},
	{"slash-encoded", "..%2F"},
	{"slash-encoded-lower", "..%2f"},
	{"all-encoded", "%2e%2e%2f"},
	{"all-encoded-upper", "%2E%2E%2F"},
	{"half-encoded", ".%2e/"},
	{"half-encoded-2", "%2e./"},
	{"literal", "../"},
}

type canaryOp struct {
	name   string
	method string
	kind   string // "data" or "metadata"
	dir    bool   // target the victim's directory (listing) instead of the secret
	query  string
	body   string // JSON
}

var canaryOps = []canaryOp{
	{name: "read", method: http.MethodGet, kind: "data"},
	{name: "read-metadata", method: http.MethodGet, kind: "metadata"},
	{name: "list", method: "LIST", kind: "metadata", dir: true},
	{name: "list-query", method: http.MethodGet, kind: "metadata", dir: true, query: "list=true"},
	{name: "write-put", method: http.MethodPut, kind: "data", body: `{"data":{"value":"pwned"}}`},
	{name: "write-post", method: http.MethodPost, kind: "data", body: `{"data":{"value":"pwned"}}`},
	{name: "patch", method: http.MethodPatch, kind: "data", body: `{"data":{"value":"pwned"}}`},
	{name: "write-metadata", method: http.MethodPost, kind: "metadata", body: `{"max_versions":1,"custom_metadata":{"pwned":"yes"}}`},
	{name: "delete", method: http.MethodDelete, kind: "data"},
	{name: "delete-metadata", method: http.MethodDelete, kind: "metadata"},
}

const canaryValue = "original"

type canary struct {
	s        *Server
	attacker User
	victim   User
}

// setupCanary creates two fresh users with only the templated per-entity
// policy of userPolicy; the victim writes one secret.
func setupCanary(t *testing.T, s *Server) *canary {
	t.Helper()
	ctx := testContext(t)
	policy := userPolicy(t, s)

	victim, err := s.NewUser(ctx, UniqueName("canary-victim"), policy)
	require.NoError(t, err)
	attacker, err := s.NewUser(ctx, UniqueName("canary-attacker"), policy)
	require.NoError(t, err)
	c := &canary{s: s, attacker: attacker, victim: victim}

	// The victim's secret, version 1.
	w := getJSON(t, s, http.MethodPost, c.userPath("data", victim)+"victim", victim.Token,
		map[string]any{"data": map[string]any{"value": canaryValue}}, http.StatusOK)
	require.EqualValues(t, 1, w["data"].(map[string]any)["version"])

	// Controls, so that the canary cannot pass vacuously: the attacker's
	// token and policy work on its own prefix, and the policy denies the
	// victim's prefix when no traversal is involved.
	getJSON(t, s, http.MethodPost, c.userPath("data", attacker)+"own", attacker.Token,
		map[string]any{"data": map[string]any{"value": "mine"}}, http.StatusOK)
	getJSON(t, s, http.MethodGet, c.userPath("data", attacker)+"own", attacker.Token, nil, http.StatusOK)
	getJSON(t, s, http.MethodPatch, c.userPath("data", attacker)+"own", attacker.Token,
		map[string]any{"data": map[string]any{"value": "still mine"}}, http.StatusOK)
	getJSON(t, s, "LIST", c.userPath("metadata", attacker), attacker.Token, nil, http.StatusOK)
	getJSON(t, s, http.MethodGet, c.userPath("data", victim)+"victim", attacker.Token, nil, http.StatusForbidden)
	getJSON(t, s, http.MethodPut, c.userPath("data", victim)+"victim", attacker.Token,
		map[string]any{"data": map[string]any{"value": "pwned"}}, http.StatusForbidden)
	getJSON(t, s, http.MethodDelete, c.userPath("metadata", victim)+"victim", attacker.Token, nil, http.StatusForbidden)
	return c
}

// userPolicy writes a policy like Edge's user policy, templated per
// identity entity (with "patch" on data, which KV v2 PATCH requires, so
// that PATCH is a meaningful attack), and returns its name.
func userPolicy(t *testing.T, s *Server) string {
	t.Helper()
	ctx := testContext(t)
	policy := UniqueName("edge-canary")
	hcl := fmt.Sprintf(`
path "%[1]s/data/edge/users/{{identity.entity.id}}/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
path "%[1]s/metadata/edge/users/{{identity.entity.id}}/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}
`, s.Mount)
	status, body, err := s.Do(ctx, http.MethodPut, "/v1/sys/policies/acl/"+policy, s.RootToken, map[string]any{"policy": hcl})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status, vaultErrors(body))
	return policy
}

// userPath is "/v1/<mount>/<kind>/edge/users/<entity>/".
func (c *canary) userPath(kind string, u User) string {
	return "/v1/" + c.s.Mount + "/" + kind + "/edge/users/" + u.EntityID + "/"
}

type attackResult struct {
	desc   string
	status int
}

// attack sends every traversal × depth × operation × sender combination
// with the attacker's token and returns all results.
func (c *canary) attack(t *testing.T) []attackResult {
	t.Helper()
	ctx := testContext(t)
	var results []attackResult
	for _, tr := range traversals {
		for depth, prefix := range []string{"", "sub/"} {
			up := strings.Repeat(tr.up, depth+1)
			for _, op := range canaryOps {
				// e.g. /v1/secret/data/edge/users/<attacker>/%2e%2e/<victim>/victim
				p := c.userPath(op.kind, c.attacker) + prefix + up + c.victim.EntityID + "/"
				if !op.dir {
					p += "victim"
				}
				if op.query != "" {
					p += "?" + op.query
				}
				for _, snd := range senders {
					status, err := snd.send(ctx, c.s.Addr, op.method, p, c.attacker.Token, op.body)
					desc := fmt.Sprintf("%s %s [%s/%s/%s depth %d]", op.method, p, tr.name, op.name, snd.name, depth+1)
					require.NoError(t, err, desc)
					results = append(results, attackResult{desc: desc, status: status})
				}
			}
		}
	}
	return results
}

// victimState describes how the victim's secret differs from what it wrote;
// "" means untouched.
func (c *canary) victimState(t *testing.T) string {
	t.Helper()
	ctx := testContext(t)
	var problems []string
	status, body, err := c.s.Do(ctx, http.MethodGet, c.userPath("data", c.victim)+"victim", c.victim.Token, nil)
	require.NoError(t, err)
	var data struct {
		Data struct {
			Data     map[string]any `json:"data"`
			Metadata struct {
				Version      int    `json:"version"`
				DeletionTime string `json:"deletion_time"`
				Destroyed    bool   `json:"destroyed"`
			} `json:"metadata"`
		} `json:"data"`
	}
	if status != http.StatusOK {
		problems = append(problems, fmt.Sprintf("victim read: status %d", status))
	} else if err := json.Unmarshal(body, &data); err != nil {
		problems = append(problems, fmt.Sprintf("victim read: %v", err))
	} else {
		if v := data.Data.Data["value"]; v != canaryValue {
			problems = append(problems, fmt.Sprintf("value is %v", v))
		}
		if v := data.Data.Metadata.Version; v != 1 {
			problems = append(problems, fmt.Sprintf("version is %d", v))
		}
		if data.Data.Metadata.DeletionTime != "" || data.Data.Metadata.Destroyed {
			problems = append(problems, "version deleted/destroyed")
		}
	}

	status, body, err = c.s.Do(ctx, http.MethodGet, c.userPath("metadata", c.victim)+"victim", c.victim.Token, nil)
	require.NoError(t, err)
	var meta struct {
		Data struct {
			CurrentVersion int            `json:"current_version"`
			MaxVersions    int            `json:"max_versions"`
			CustomMetadata map[string]any `json:"custom_metadata"`
			Versions       map[string]any `json:"versions"`
		} `json:"data"`
	}
	if status != http.StatusOK {
		problems = append(problems, fmt.Sprintf("victim metadata read: status %d", status))
	} else if err := json.Unmarshal(body, &meta); err != nil {
		problems = append(problems, fmt.Sprintf("victim metadata read: %v", err))
	} else {
		if meta.Data.CurrentVersion != 1 || len(meta.Data.Versions) != 1 {
			problems = append(problems, fmt.Sprintf("metadata: current_version %d, %d versions", meta.Data.CurrentVersion, len(meta.Data.Versions)))
		}
		if meta.Data.MaxVersions != 0 || len(meta.Data.CustomMetadata) != 0 {
			problems = append(problems, "metadata settings changed")
		}
	}
	return strings.Join(problems, "; ")
}

func statusHistogram(results []attackResult) string {
	counts := map[int]int{}
	for _, r := range results {
		counts[r.status]++
	}
	codes := make([]int, 0, len(counts))
	for c := range counts {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", counts[c], c))
	}
	return strings.Join(parts, " ")
}

// TestCanaryPathTraversal is a security regression test: no spelling of a
// "../" path traversal may let one user touch another user's secrets.
func TestCanaryPathTraversal(t *testing.T) {
	c := setupCanary(t, shared(t))
	results := c.attack(t)
	for _, r := range results {
		if r.status >= 200 && r.status <= 299 {
			t.Errorf("TRAVERSAL SUCCEEDED: %s -> %d", r.desc, r.status)
		}
	}
	t.Logf("%d traversal requests, statuses: %s", len(results), statusHistogram(results))
	assert.Empty(t, c.victimState(t), "victim's secret was modified by traversal requests")
}

// TestCanaryDetectsVulnerableServer shows that the canary fails against a
// Vault served by the Go ≥1.22 ServeMux (GODEBUG=httpmuxgo121=0 overrides
// devvault's //go:debug httpmuxgo121=1). If this test starts failing because
// no traversal succeeds, Vault or Go fixed the problem on their own: the
// canary is then no longer proven to be able to fail, so review it.
func TestCanaryDetectsVulnerableServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an extra devvault")
	}
	ctx := testContext(t)
	s, err := start(ctx, Options{}, startConfig{
		extraEnv:  []string{"GODEBUG=httpmuxgo121=0"},
		extraArgs: []string{"-insecure-skip-mux-check"},
	})
	require.NoError(t, err)
	defer func() { assert.NoError(t, s.Close()) }()

	c := setupCanary(t, s)
	results := c.attack(t)
	var succeeded []string
	for _, r := range results {
		if r.status >= 200 && r.status <= 299 {
			succeeded = append(succeeded, fmt.Sprintf("%s -> %d", r.desc, r.status))
		}
	}
	state := c.victimState(t)
	t.Logf("vulnerable server: %d of %d traversal requests succeeded, statuses: %s; victim: %q",
		len(succeeded), len(results), statusHistogram(results), state)
	for i, s := range succeeded {
		if i == 12 {
			t.Logf("... and %d more", len(succeeded)-i)
			break
		}
		t.Logf("  %s", s)
	}
	assert.NotEmpty(t, succeeded, "no traversal succeeded against the vulnerable server: the canary is not proven to detect the bug")
	assert.NotEmpty(t, state, "the victim's secret survived the vulnerable server")
}

// The canary always runs against a devvault started by this package; also
// check that devvault refuses to start vulnerable without the explicit flag.
func TestDevvaultRefusesVulnerableMux(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an extra devvault")
	}
	_, err := start(testContext(t), Options{}, startConfig{
		extraEnv: []string{"GODEBUG=httpmuxgo121=0"},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "path traversal")
}

type sender struct {
	name string
	send func(ctx context.Context, addr, method, path, token, body string) (int, error)
}

var senders = []sender{
	{"raw", sendRaw},
	{"opaque", sendOpaque},
	{"newrequest", sendNewRequest},
}

var noRedirectClient = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// sendRaw writes the request bytes itself on a fresh connection.
func sendRaw(ctx context.Context, addr, method, path, token, body string) (int, error) {
	u, err := url.Parse(addr)
	if err != nil {
		return 0, err
	}
	host := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			host = net.JoinHostPort(u.Hostname(), "443")
		} else {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	if u.Scheme == "https" {
		conn, err = (&tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: u.Hostname()}}).DialContext(ctx, "tcp", host)
	} else {
		conn, err = d.DialContext(ctx, "tcp", host)
	}
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))

	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nX-Vault-Token: %s\r\nX-Vault-Request: true\r\nConnection: close\r\n", method, path, u.Host, token)
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\n", contentType(method), len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	if _, err := conn.Write(b.Bytes()); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// sendOpaque uses net/http with URL.Opaque, which is sent as the request
// target without any re-encoding.
func sendOpaque(ctx context.Context, addr, method, path, token, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, addr, bodyReader(body))
	if err != nil {
		return 0, err
	}
	p, q, _ := strings.Cut(path, "?")
	req.URL.Path, req.URL.RawPath = "", ""
	req.URL.Opaque = p
	req.URL.RawQuery = q
	return doRequest(req, method, token, body)
}

// sendNewRequest uses plain http.NewRequest (url.Parse keeps the escaped
// form in URL.RawPath, and the client does not clean dot segments).
func sendNewRequest(ctx context.Context, addr, method, path, token, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, addr+path, bodyReader(body))
	if err != nil {
		return 0, err
	}
	return doRequest(req, method, token, body)
}

func bodyReader(body string) io.Reader {
	if body == "" {
		return nil
	}
	return strings.NewReader(body)
}

func doRequest(req *http.Request, method, token, body string) (int, error) {
	req.Header.Set("X-Vault-Token", token)
	req.Header.Set("X-Vault-Request", "true")
	if body != "" {
		req.Header.Set("Content-Type", contentType(method))
	}
	resp, err := noRedirectClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func contentType(method string) string {
	if method == http.MethodPatch {
		return "application/merge-patch+json"
	}
	return "application/json"
}

// TestCanaryRequestsAreSentVerbatim checks, against a plain TCP listener,
// that every sender puts the traversal path on the wire byte for byte.
func TestCanaryRequestsAreSentVerbatim(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					got <- "error: " + err.Error()
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				got <- req.Method + " " + req.RequestURI
				_, _ = io.WriteString(conn, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
			}()
		}
	}()

	ctx := testContext(t)
	addr := "http://" + ln.Addr().String()
	for _, tr := range traversals {
		for _, op := range canaryOps {
			p := "/v1/secret/" + op.kind + "/edge/users/A/sub/" + tr.up + tr.up + "V/victim"
			if op.query != "" {
				p += "?" + op.query
			}
			for _, snd := range senders {
				status, err := snd.send(ctx, addr, op.method, p, "token", op.body)
				require.NoError(t, err)
				require.Equal(t, http.StatusNoContent, status)
				assert.Equal(t, op.method+" "+p, <-got, "sender %s changed the request target", snd.name)
			}
		}
	}
}
