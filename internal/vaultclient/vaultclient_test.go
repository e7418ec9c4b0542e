package vaultclient

import (
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOwn(t *testing.T) {
	t.Setenv("VAULT_WRAP_TTL", "60s")
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:8201")
	t.Setenv("VAULT_TOKEN", "env-token")

	caller, err := api.NewClient(&api.Config{Address: "http://127.0.0.1:8200"})
	require.NoError(t, err)
	caller.SetToken("caller-token")
	caller.AddHeader("X-Test", "kept")

	c, err := Own(caller)
	require.NoError(t, err)
	assert.NotSame(t, caller, c)
	assert.Equal(t, "caller-token", c.Token(), "the token is kept though CloneToken is off")
	assert.Equal(t, "kept", c.Headers().Get("X-Test"))
	assert.Equal(t, "http://127.0.0.1:8200", c.Address())
	require.NotNil(t, c.CurrentWrappingLookupFunc())
	assert.Empty(t, c.CurrentWrappingLookupFunc()("GET", "secret/data/x"), "VAULT_WRAP_TTL is ignored")

	c.SetToken("changed")
	assert.Equal(t, "caller-token", caller.Token(), "the caller's client is untouched")
	assert.Nil(t, caller.CurrentWrappingLookupFunc())

	env, err := Own(nil)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8201", env.Address())
	assert.Equal(t, "env-token", env.Token())
	assert.Empty(t, env.CurrentWrappingLookupFunc()("GET", "secret/data/x"))
}
