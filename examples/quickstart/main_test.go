package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		{"alice reads org secret team-db (1 fields)", "ok"},
		{"alice updates org secret team-db", "ErrPermissionDenied"},
		{"dave (globex) reads acme's team-db", "ErrPermissionDenied"},
		{"carol wraps team-db for two minutes", "ok"},
		{"the receiver verifies it holds acme's team-db", "ok"},
		{"the receiver unwraps it (1 fields)", "ok"},
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
