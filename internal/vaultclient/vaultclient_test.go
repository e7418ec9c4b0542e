package vaultclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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

// TestRedirects: a 307 or 308 is followed in net/http with the request's
// own body, once; anything else reaches vault/api as it was.
func TestRedirects(t *testing.T) {
	var bodies []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, r.Method+" "+string(b)+" "+r.Header.Get("X-Vault-Token"))
		_, _ = io.WriteString(w, `{"data":{}}`)
	}))
	defer target.Close()
	tests := []struct {
		status    int
		location  string
		followed  bool
		wantError bool
	}{
		{http.StatusTemporaryRedirect, target.URL, true, false},
		{http.StatusPermanentRedirect, target.URL, true, false},
		// vault/api follows a 302 itself, with the object it encodes
		// (none here: a request made of bytes is re-sent as null).
		{http.StatusFound, target.URL, true, false},
		{http.StatusTemporaryRedirect, "", false, false}, // to itself: a second redirect is not followed twice
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			bodies = nil
			var redirects int
			var standby *httptest.Server
			standby = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				redirects++
				loc := tt.location
				if loc == "" {
					loc = standby.URL
				}
				http.Redirect(w, r, loc+r.URL.RequestURI(), tt.status)
			}))
			defer standby.Close()
			caller, err := api.NewClient(&api.Config{Address: standby.URL, MaxRetries: -1})
			require.NoError(t, err)
			caller.SetToken("tok")
			c, err := Own(caller)
			require.NoError(t, err)
			ctx, attempts := Track(context.Background())
			_, err = c.Logical().WriteBytesWithContext(ctx, "secret/data/x", []byte(`{"data":{"a":1}}`))
			if tt.status != http.StatusFound {
				assert.True(t, attempts.Lost(), "a redirected call may have reached Vault")
			}
			if !tt.followed {
				assert.Empty(t, bodies, "not followed")
				return
			}
			require.NoError(t, err)
			require.Len(t, bodies, 1)
			if tt.status == http.StatusFound {
				assert.Equal(t, "PUT null tok", bodies[0], "vault/api's own rule, as before")
				return
			}
			assert.Equal(t, `PUT {"data":{"a":1}} tok`, bodies[0], "the same method, body and token")
			assert.Equal(t, 1, redirects)
		})
	}
}
