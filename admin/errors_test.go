package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
)

// fakeToken is the token the fake Vault servers below are given; no
// error may print it.
const fakeToken = "hvs.FAKE-token-that-must-never-be-printed"

// fakeVault starts an HTTP server answering every request with status
// and body, and returns an Admin using it and the request counter.
func fakeVault(t *testing.T, status int, body string) (*admin.Admin, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	cfg := api.DefaultConfig()
	cfg.Address = srv.URL
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken(fakeToken)
	a, err := admin.New(admin.Config{Client: c})
	require.NoError(t, err)
	return a, &n
}

// TestBadInputSendsNoRequest checks that invalid org names and entity ids
// are refused with edge.ErrBadEntry before any request.
func TestBadInputSendsNoRequest(t *testing.T) {
	a, requests := fakeVault(t, 500, `{"errors":["must not be reached"]}`)
	ctx := context.Background()
	const goodOrg, goodID = "acme", "0b5b3e1c-6f0a-4c33-9d27-5d6f5c7a0e11"
	badOrgs := []string{"", "a/b", "..", ".", "a b", "a\nb", "a%2fb", "*", "+", "é", strings.Repeat("o", 257)}
	badIDs := []string{"", "a/b", "..", fakeToken, "id with space", strings.Repeat("i", 257)}

	type call struct {
		name string
		do   func(org, id string) error
	}
	orgCalls := []call{
		{"CreateOrg", func(org, _ string) error { return a.CreateOrg(ctx, org) }},
		{"DeleteOrg", func(org, _ string) error { return a.DeleteOrg(ctx, org) }},
		{"Members", func(org, _ string) error { _, err := a.Members(ctx, org); return err }},
		{"Admins", func(org, _ string) error { _, err := a.Admins(ctx, org); return err }},
		{"OrgMembersPolicyName", func(org, _ string) error { _, err := a.OrgMembersPolicyName(org); return err }},
		{"OrgAdminsGroupName", func(org, _ string) error { _, err := a.OrgAdminsGroupName(org); return err }},
	}
	memberCalls := []call{
		{"AddMember", func(org, id string) error { return a.AddMember(ctx, org, id) }},
		{"RemoveMember", func(org, id string) error { return a.RemoveMember(ctx, org, id) }},
		{"AddAdmin", func(org, id string) error { return a.AddAdmin(ctx, org, id) }},
		{"RemoveAdmin", func(org, id string) error { return a.RemoveAdmin(ctx, org, id) }},
	}

	check := func(t *testing.T, err error, id string) {
		t.Helper()
		assert.ErrorIs(t, err, edge.ErrBadEntry)
		var ae *admin.Error
		if assert.True(t, errors.As(err, &ae), "error is an *admin.Error: %T", err) {
			assert.Equal(t, edge.ErrBadEntry, ae.Kind)
		}
		if id != "" && err != nil {
			// A token passed by mistake as an entity id is never echoed.
			assert.NotContains(t, err.Error(), id)
		}
	}
	for _, c := range append(orgCalls, memberCalls...) {
		for _, org := range badOrgs {
			t.Run(c.name+"/org="+strings.ToValidUTF8(org[:min(len(org), 12)], "?"), func(t *testing.T) {
				check(t, c.do(org, goodID), "")
			})
		}
	}
	for _, c := range memberCalls {
		for _, id := range badIDs {
			t.Run(c.name+"/id="+id[:min(len(id), 12)], func(t *testing.T) {
				check(t, c.do(goodOrg, id), id)
			})
		}
	}
	assert.Zero(t, requests.Load(), "requests sent to Vault")
}

// TestVaultErrors checks how failures Vault reports come back: classified,
// with the HTTP status reachable, on one line, without the token.
func TestVaultErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		status   int
		body     string
		call     func(a *admin.Admin) error
		wantKind error
		wantText string
	}{
		{
			name: "setup forbidden", status: 403, body: `{"errors":["1 error occurred:\n\t* permission denied\n\n"]}`,
			call:     func(a *admin.Admin) error { return a.Setup(ctx) },
			wantKind: edge.ErrPermissionDenied, wantText: "vault returned 403",
		},
		{
			name: "create org forbidden", status: 403, body: `{"errors":["permission denied"]}`,
			call:     func(a *admin.Admin) error { return a.CreateOrg(ctx, "acme") },
			wantKind: edge.ErrPermissionDenied, wantText: `edge admin: create org (org "acme"): policy "edge-org-acme-members": permission denied: vault returned 403: permission denied`,
		},
		{
			name: "add member forbidden", status: 403, body: `{"errors":["permission denied"]}`,
			call:     func(a *admin.Admin) error { return a.AddMember(ctx, "acme", "e1") },
			wantKind: edge.ErrPermissionDenied, wantText: `group "edge-org-acme-members"`,
		},
		{
			name: "add member unknown org", status: 404, body: `{"errors":[]}`,
			call:     func(a *admin.Admin) error { return a.AddMember(ctx, "acme", "e1") },
			wantKind: admin.ErrUnknownOrg, wantText: `edge admin: add member (org "acme", entity "e1"): group "edge-org-acme-members": org not found`,
		},
		{
			name: "members unknown org", status: 404, body: `{"errors":[]}`,
			call:     func(a *admin.Admin) error { _, err := a.Members(ctx, "acme"); return err },
			wantKind: edge.ErrNotFound, wantText: "org not found",
		},
		{
			name: "server error", status: 500, body: `{"errors":["internal error"]}`,
			call:     func(a *admin.Admin) error { return a.DeleteOrg(ctx, "acme") },
			wantText: "vault returned 500: internal error",
		},
		{
			name: "proxy page", status: 502, body: `<html>` + fakeToken + `</html>`,
			call:     func(a *admin.Admin) error { return a.RemoveAdmin(ctx, "acme", "e1") },
			wantText: "vault returned 502",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := fakeVault(t, tt.status, tt.body)
			err := tt.call(a)
			require.Error(t, err)
			var ae *admin.Error
			require.True(t, errors.As(err, &ae), "error is an *admin.Error: %T", err)
			if tt.wantKind != nil {
				assert.ErrorIs(t, err, tt.wantKind)
			} else {
				assert.Nil(t, ae.Kind)
			}
			var re *api.ResponseError
			if tt.status != 404 && assert.True(t, errors.As(err, &re), "the *api.ResponseError is reachable") {
				assert.Equal(t, tt.status, re.StatusCode)
			}
			msg := err.Error()
			assert.Contains(t, msg, tt.wantText)
			assert.NotContains(t, msg, fakeToken)
			assert.NotContains(t, msg, "\n")
		})
	}
}

func TestErrorKinds(t *testing.T) {
	assert.ErrorIs(t, admin.ErrUnknownOrg, edge.ErrNotFound)
	assert.ErrorIs(t, admin.ErrUnknownEntity, edge.ErrNotFound)
	assert.NotErrorIs(t, admin.ErrMountType, edge.ErrNotFound)
	assert.NotErrorIs(t, admin.ErrNotManaged, edge.ErrNotFound)
	assert.NotErrorIs(t, admin.ErrUnknownOrg, admin.ErrUnknownEntity)

	err := error(&admin.Error{Op: "add member", Org: "acme", Kind: admin.ErrUnknownOrg})
	assert.ErrorIs(t, err, admin.ErrUnknownOrg)
	assert.ErrorIs(t, err, edge.ErrNotFound)
	assert.NotErrorIs(t, err, edge.ErrBadEntry)
	assert.Equal(t, `edge admin: add member (org "acme"): org not found`, err.Error())
}
