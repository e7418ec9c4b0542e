package admin_test

import (
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/edgetest"
)

// The integration tests talk to the real Vault edgetest.Start shares,
// provisioned with the default deployment: KV v2 at "secret", userpass
// and the "edge-user" policy.
func TestMain(m *testing.M) { edgetest.Main(m) }

// newClient returns a vault/api client for v with token, retries off.
// It fails t with Fatalf (not require), so that examples can call it too.
func newClient(t testing.TB, v *edgetest.Vault, token string) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = v.Addr()
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("vault client: %v", err)
	}
	c.SetToken(token)
	// Keep a developer's VAULT_WRAP_TTL or VAULT_NAMESPACE out.
	c.SetWrappingLookupFunc(func(string, string) string { return "" })
	c.ClearNamespace()
	return c
}

// newAdmin returns an Admin of v using the root token, for cfg with v's
// mount as the default mount. It fails t with Fatalf (not require), so
// that examples can call it too.
func newAdmin(t testing.TB, v *edgetest.Vault, cfg admin.Config) *admin.Admin {
	t.Helper()
	if cfg.Client == nil {
		cfg.Client = v.RootClient(t)
	}
	if cfg.Mount == "" {
		cfg.Mount = v.Mount()
	}
	a, err := admin.New(cfg)
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	return a
}
