package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/internal/vaulttest"
)

// TestQuickstart runs the quickstart against the embedded dev Vault and
// checks each step's outcome.
func TestQuickstart(t *testing.T) {
	t.Setenv("VAULT_ADDR", "")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	text := out.String()
	t.Log(text)

	want := []struct{ step, outcome string }{
		{"create my-secret {secret: value}", "ok"},
		{"create my-secret again", "ErrAlreadyExists"},
		{"list: [my-secret]", "ok"},
		{"read my-secret: map[secret:value]", "ok"},
		{"read my-secret: map[secret:v2]", "ok"},
		{"wrap my-secret", "ok"},
		{"read my-secret after delete", "ErrNotFound"},
		{"create ../escape", "ErrBadEntry"},
		{"alice creates user secret diary", "ok"},
		{"bob reads user secret diary (his own scope)", "ErrNotFound"},
		{"bob reads alice's diary path with vault/api", "refused by Vault (HTTP 403)"},
		{"carol creates org secret team-db", "ok"},
		{"alice reads org secret team-db (1 field)", "ok"},
		{"alice updates org secret team-db", "ErrPermissionDenied"},
		{"dave (globex) reads acme's team-db", "ErrPermissionDenied"},
		{"carol wraps team-db for two minutes", "ok"},
		{"the receiver verifies it holds acme's team-db", "ok"},
		{"the receiver unwraps it (1 field)", "ok"},
		{"unwrapping it a second time", "ErrInvalidToken"},
	}
	for _, w := range want {
		re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(w.step) + ` +` + regexp.QuoteMeta(w.outcome) + `$`)
		assert.Regexp(t, re, text, w.step)
	}
	// Both scopes ran the walkthrough.
	assert.Len(t, regexp.MustCompile(`(?m)^  create my-secret again +ErrAlreadyExists$`).FindAllString(text, -1), 2)
	assert.NotContains(t, text, "hvs.", "no token is printed")
}

// TestQuickstartWithVaultAddr runs the quickstart against a Vault named
// by VAULT_ADDR, as alice (member of acme): her user secrets go through,
// the org walkthrough stops at its first refused write, and her own
// secret named like the demo's is never touched.
func TestQuickstartWithVaultAddr(t *testing.T) {
	ctx := context.Background()
	srv, err := vaulttest.Start(ctx, vaulttest.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	users, err := provision(ctx, srv) // the quickstart's own demo layout
	require.NoError(t, err)
	alice := users["alice"]
	sess, err := edge.NewSession(ctx, edge.Config{Address: srv.Addr, Token: alice.Token, Mount: srv.Mount})
	require.NoError(t, err)
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "my-secret", edge.Secret{"keep": "me"}))

	t.Setenv("VAULT_ADDR", srv.Addr)
	t.Setenv("VAULT_TOKEN", alice.Token)
	t.Setenv("EDGE_ORG", "acme")
	t.Setenv("EDGE_KV_MOUNT", srv.Mount)
	var out bytes.Buffer
	err = run(ctx, &out)
	t.Log(out.String())
	require.Error(t, err, "alice may not write acme's secrets")
	assert.Regexp(t, `(?m)^  create quickstart-\d+ \{secret: value\} +ErrPermissionDenied$`, out.String())
	assert.Regexp(t, `(?m)^  delete quickstart-\d+ +ok$`, out.String(), "the user walkthrough completed")

	got, err := sess.Secrets.ReadUserSecret(ctx, "my-secret")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"keep": "me"}, got)
	names, err := sess.Secrets.ListUserSecrets(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"my-secret"}, names, "the quickstart cleaned up after itself")
}
