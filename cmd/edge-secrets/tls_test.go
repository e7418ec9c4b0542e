package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// TestUnwrapOverTLS (issue 19, defect 0): the CLI's unwrap, given the
// TLS dev Vault's address and its CA in VAULT_CACERT (HTTP/2, as against
// every production Vault), delivers every secret: 50 of 50. Before the
// SDK's fix, 12 of 50 tokens were redeemed and their answers cut short
// (exit 10). The CLI's wrap, over the same TLS Vault, makes the first
// token.
func TestUnwrapOverTLS(t *testing.T) {
	t.Parallel()
	vault := edgetest.StartTLS(t)
	require.NotEmpty(t, vault.CACert())
	u := newUser(t, vault)
	org := vault.NewOrg(t, u)
	ctx := context.Background()
	sess := vault.Session(t, u, org)
	value := canary()
	require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "tls", edge.Secret{"v": value}))
	senderEnv := []string{"VAULT_ADDR=" + vault.Addr(), "VAULT_CACERT=" + vault.CACert(), "VAULT_TOKEN=" + u.Token,
		"EDGE_ORG=" + org, "EDGE_KV_MOUNT=" + vault.Mount()}
	receiverEnv := []string{"VAULT_ADDR=" + vault.Addr(), "VAULT_CACERT=" + vault.CACert()}

	w, _ := wrap(t, senderEnv, "--org", "tls")
	const rounds = 50
	lost := 0
	for i := range rounds {
		token := w.Token
		if i > 0 {
			ws, err := sess.Secrets.WrapOrgSecret(ctx, "tls")
			require.NoError(t, err)
			token = secret(ws.Token)
		}
		r := cli(t, receiverEnv, token, "unwrap")
		if r.code != 0 || !strings.Contains(r.stdout, value) {
			lost++
			t.Logf("round %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	assert.Zero(t, lost, "of %d handovers through edge-secrets unwrap over TLS", rounds)
}

// TestCommandsOverTLS runs every command against the TLS dev Vault with
// its CA in VAULT_CACERT, as against a production Vault: create, list,
// read, update, wrap, verify, unwrap, delete in both scopes, and whoami.
func TestCommandsOverTLS(t *testing.T) {
	t.Parallel()
	vault := edgetest.StartTLS(t)
	u := newUser(t, vault)
	org := vault.NewOrg(t, u)
	env := []string{"VAULT_ADDR=" + vault.Addr(), "VAULT_CACERT=" + vault.CACert(), "VAULT_TOKEN=" + u.Token,
		"EDGE_ORG=" + org, "EDGE_KV_MOUNT=" + vault.Mount()}
	receiverEnv := []string{"VAULT_ADDR=" + vault.Addr(), "VAULT_CACERT=" + vault.CACert(), "EDGE_KV_MOUNT=" + vault.Mount()}
	for _, sc := range scopes {
		t.Run(sc.name, func(t *testing.T) {
			value := `{"password":"` + canary() + `"}`
			ok(t, env, value, with(with([]string{"create"}, sc.flags...), "db")...)
			assert.Equal(t, "db\n", ok(t, env, "", with([]string{"list"}, sc.flags...)...).stdout)
			assert.Equal(t, value+"\n", ok(t, env, "", with(with([]string{"read"}, sc.flags...), "db")...).stdout)
			updated := `{"password":"` + canary() + `"}`
			ok(t, env, updated, with(with([]string{"update"}, sc.flags...), "db")...)
			w, _ := wrap(t, env, with(sc.flags, "db")...)
			verify := []string{"verify", "--name", "db"}
			if sc.name == "user" {
				verify = append(verify, "--user-entity", u.EntityID)
			} else {
				verify = append(verify, "--org", org)
			}
			ok(t, receiverEnv, w.Token, verify...)
			assert.Equal(t, updated+"\n", ok(t, receiverEnv, w.Token, "unwrap").stdout)
			ok(t, env, "", with(with([]string{"delete"}, sc.flags...), "db")...)
			fails(t, ExitNotFound, env, "", with(with([]string{"read"}, sc.flags...), "db")...)
		})
	}
	assert.Contains(t, ok(t, env, "", "whoami").stdout, u.EntityID)
}
