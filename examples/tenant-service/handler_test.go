package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// tenants is a running handler on one Client of the dev Vault, with two
// users who each hold a user secret of the same name, an org whose
// member is alice (not bob), and the org's admin carol.
type tenants struct {
	url              string
	alice, bob       edgetest.User
	carol            edgetest.User
	org              string
	aliceKey, bobKey edge.Secret // user secret "api-key" of each
	teamDB           edge.Secret // org secret "team-db"
	logs             *syncBuffer
}

func setupTenants(t *testing.T) *tenants {
	t.Helper()
	ctx := context.Background()
	v := edgetest.Start(t)
	tt := &tenants{alice: v.NewUser(t), bob: v.NewUser(t), carol: v.NewUser(t), logs: &syncBuffer{}}
	tt.org = v.NewOrg(t, tt.carol)
	v.AddMember(t, tt.org, tt.alice)
	tt.aliceKey = edge.Secret{"key": edgetest.UniqueName("alice-value")}
	tt.bobKey = edge.Secret{"key": edgetest.UniqueName("bob-value")}
	tt.teamDB = edge.Secret{"user": "app", "password": edgetest.UniqueName("db-password")}
	require.NoError(t, v.Session(t, tt.alice, "").Secrets.CreateUserSecret(ctx, "api-key", tt.aliceKey))
	require.NoError(t, v.Session(t, tt.bob, "").Secrets.CreateUserSecret(ctx, "api-key", tt.bobKey))
	require.NoError(t, v.Session(t, tt.carol, tt.org).Secrets.CreateOrgSecret(ctx, "team-db", tt.teamDB))

	c, err := edge.NewClient(ctx, clientConfig(t, v))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	logger := slog.New(slog.NewTextHandler(tt.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(newHandler(c, logger))
	t.Cleanup(srv.Close)
	tt.url = srv.URL
	return tt
}

// response is what the service answered.
type response struct {
	status int
	header http.Header
	body   string
}

// noRedirects is an HTTP client that shows redirects rather than
// following them, so that a path the mux rewrote cannot pass for an
// answer of the handler.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get sends GET url+path with the Authorization header auth ("": none).
func get(t *testing.T, url, path, auth string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+path, nil)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := noRedirects.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// TestHandler drives the service as its callers would: each user gets
// their own secret and never the other's, members get the org's secret,
// and every failure has its status and a JSON body holding no token and
// no value.
func TestHandler(t *testing.T) {
	t.Parallel()
	tt := setupTenants(t)
	const unknownToken = "hvs.CAESIunknownTokenThatVaultNeverIssued0000"
	bearer := func(token string) string { return "Bearer " + token }
	userKey, orgDB := "/secrets/user/api-key", "/secrets/org/"+tt.org+"/team-db"

	for _, tc := range []struct {
		name   string
		auth   string
		path   string
		status int
		want   edge.Secret // the value of a 200
	}{
		{name: "alice reads her user secret", auth: bearer(tt.alice.Token), path: userKey, status: 200, want: tt.aliceKey},
		{name: "bob reads his user secret of the same name", auth: bearer(tt.bob.Token), path: userKey, status: 200, want: tt.bobKey},
		{name: "scheme in lower case", auth: "bearer " + tt.bob.Token, path: userKey, status: 200, want: tt.bobKey},
		{name: "member reads the org secret", auth: bearer(tt.alice.Token), path: orgDB, status: 200, want: tt.teamDB},
		{name: "admin reads the org secret", auth: bearer(tt.carol.Token), path: orgDB, status: 200, want: tt.teamDB},
		{name: "non-member reads the org secret", auth: bearer(tt.bob.Token), path: orgDB, status: 403},
		{name: "non-member reads a missing org secret", auth: bearer(tt.bob.Token), path: "/secrets/org/" + tt.org + "/nothing", status: 403},
		{name: "missing user secret", auth: bearer(tt.alice.Token), path: "/secrets/user/nothing", status: 404},
		{name: "carol has no api-key", auth: bearer(tt.carol.Token), path: userKey, status: 404},
		{name: "missing org secret", auth: bearer(tt.alice.Token), path: "/secrets/org/" + tt.org + "/nothing", status: 404},
		{name: "no authorization", path: userKey, status: 401},
		{name: "another scheme", auth: "Basic " + tt.alice.Token, path: userKey, status: 401},
		{name: "bearer without token", auth: "Bearer", path: userKey, status: 401},
		{name: "bearer with empty token", auth: "Bearer ", path: orgDB, status: 401},
		{name: "token with a space", auth: bearer(tt.alice.Token + " x"), path: userKey, status: 400},
		{name: "token with a control byte", auth: bearer(tt.alice.Token[:4] + "\t" + tt.alice.Token[4:]), path: userKey, status: 400},
		{name: "token with a leading space", auth: bearer(" " + tt.alice.Token), path: orgDB, status: 400},
		{name: "unknown token, user secret", auth: bearer(unknownToken), path: userKey, status: 403},
		{name: "unknown token, org secret", auth: bearer(unknownToken), path: orgDB, status: 403},
		// Escaped, so that the mux does not clean the path into a redirect
		// and the name reaches the SDK, which refuses it.
		{name: "name ..", auth: bearer(tt.alice.Token), path: "/secrets/user/%2E%2E", status: 400},
		{name: "name with a dot", auth: bearer(tt.alice.Token), path: "/secrets/user/api.key", status: 400},
		{name: "name with a slash", auth: bearer(tt.alice.Token), path: "/secrets/user/a%2Fb", status: 400},
		{name: "org ..", auth: bearer(tt.alice.Token), path: "/secrets/org/%2E%2E/team-db", status: 400},
		{name: "org name too odd", auth: bearer(tt.alice.Token), path: "/secrets/org/ac%20me/team-db", status: 400},
		{name: "unknown route", auth: bearer(tt.alice.Token), path: "/secrets/api-key", status: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, tt.url, tc.path, tc.auth)
			require.Equal(t, tc.status, resp.status, resp.body)
			for _, token := range []string{tt.alice.Token, tt.bob.Token, tt.carol.Token, unknownToken} {
				assert.NotContains(t, resp.body, token, "a token in the body")
			}
			if tc.status == http.StatusOK {
				assert.Equal(t, "no-store", resp.header.Get("Cache-Control"))
				var got edge.Secret
				require.NoError(t, json.Unmarshal([]byte(resp.body), &got))
				assert.Equal(t, tc.want, got)
				return
			}
			if tc.path == "/secrets/api-key" {
				return // the mux's own 404, not the service's
			}
			var got map[string]string
			require.NoError(t, json.Unmarshal([]byte(resp.body), &got), "a JSON error body: %s", resp.body)
			assert.NotEmpty(t, got["error"])
			assert.Len(t, got, 1)
			for _, s := range []edge.Secret{tt.aliceKey, tt.bobKey, tt.teamDB} {
				for _, value := range s {
					assert.NotContains(t, resp.body, value, "a value in an error body")
				}
			}
			if tc.status == http.StatusUnauthorized {
				assert.Equal(t, `Bearer realm="tenant-service"`, resp.header.Get("WWW-Authenticate"))
			}
		})
	}

	t.Run("the method is part of the route", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, tt.url+userKey, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", bearer(tt.alice.Token))
		resp, err := noRedirects.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})

	logs := tt.logs.String()
	assert.Contains(t, logs, "request failed", "failures are logged")
	for _, secret := range []string{tt.alice.Token, tt.bob.Token, tt.carol.Token, unknownToken, tt.aliceKey["key"].(string), tt.bobKey["key"].(string), tt.teamDB["password"].(string)} {
		assert.NotContains(t, logs, secret)
	}
}

// TestHandlerConcurrentTenants sends 50 concurrent requests, alternating
// between alice and bob, who hold a user secret of the same name: each
// answer is its own caller's value.
func TestHandlerConcurrentTenants(t *testing.T) {
	t.Parallel()
	tt := setupTenants(t)
	var wg sync.WaitGroup
	for i := range 50 {
		user, want := tt.alice, tt.aliceKey
		if i%2 == 1 {
			user, want = tt.bob, tt.bobKey
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodGet, tt.url+"/secrets/user/api-key", nil)
			if !assert.NoError(t, err) {
				return
			}
			req.Header.Set("Authorization", "Bearer "+user.Token)
			resp, err := http.DefaultClient.Do(req)
			if !assert.NoError(t, err) {
				return
			}
			defer resp.Body.Close()
			var got edge.Secret
			assert.Equal(t, http.StatusOK, resp.StatusCode, "request %d", i)
			assert.NoError(t, json.NewDecoder(resp.Body).Decode(&got), "request %d", i)
			assert.Equal(t, want, got, "request %d, as %s", i, user.Name)
		}()
	}
	wg.Wait()
}

// TestHandlerVaultUnavailable points the Client at a port nobody listens
// on: both routes answer 503 with Retry-After, and no token.
func TestHandlerVaultUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	ac := api.DefaultConfig()
	require.NoError(t, ac.Error)
	ac.Address = "http://" + addr
	ac.MaxRetries = 0 // no waiting between vault/api's retries of a refused connection
	vc, err := api.NewClient(ac)
	require.NoError(t, err)
	vc.ClearToken()
	c, err := edge.NewClient(context.Background(), edge.Config{Client: vc, Mount: "secret"})
	require.NoError(t, err, "a Client with no token of its own makes no request")
	t.Cleanup(func() { _ = c.Close() })
	srv := httptest.NewServer(newHandler(c, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)

	const token = "hvs.CAESItokenOfACallerWhileVaultIsDown00000"
	for _, path := range []string{"/secrets/user/api-key", "/secrets/org/acme/team-db"} {
		t.Run(path, func(t *testing.T) {
			resp := get(t, srv.URL, path, "Bearer "+token)
			assert.Equal(t, http.StatusServiceUnavailable, resp.status, resp.body)
			assert.Equal(t, retryAfter, resp.header.Get("Retry-After"))
			assert.JSONEq(t, `{"error": "vault is unavailable: try again later"}`, resp.body)
		})
	}
}

// TestStatusOf maps each kind the SDK returns for a read to its status,
// wrapped or not.
func TestStatusOf(t *testing.T) {
	kind := func(k error) error { return &edge.Error{Op: "read", Scope: "user", Name: "n", Kind: k} }
	for _, tc := range []struct {
		err    error
		status int
	}{
		{kind(edge.ErrBadEntry), 400},
		{kind(edge.ErrNotFound), 404},
		{kind(edge.ErrPermissionDenied), 403},
		{kind(edge.ErrNoEntity), 403},
		{kind(edge.ErrUnavailable), 503},
		{fmt.Errorf("reading: %w", kind(edge.ErrNotFound)), 404},
		{&edge.Error{Op: "read", Err: context.DeadlineExceeded}, 504},
		{kind(edge.ErrUndecodable), 500},
		{kind(edge.ErrNoOrg), 500},
		{errors.New("something else"), 500},
	} {
		t.Run(strings.ReplaceAll(tc.err.Error(), " ", "_"), func(t *testing.T) {
			status, text := statusOf(tc.err)
			assert.Equal(t, tc.status, status)
			assert.NotEmpty(t, text)
		})
	}
}
