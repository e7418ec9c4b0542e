package admin_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/internal/vaulttest"
)

// vault is the real Vault the integration tests talk to: the embedded
// dev Vault, or the external one EDGE_TEST_VAULT_ADDR names.
var vault *vaulttest.Server

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse() // for testing.Verbose
	// Covers a first build of the dev Vault (about two minutes).
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	begin := time.Now()
	srv, err := vaulttest.Start(ctx, vaulttest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Vault for the tests:", err)
		return 1
	}
	defer func() {
		if err := srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping Vault:", err)
		}
	}()
	vault = srv
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "admin tests: Vault ready in %s\n", time.Since(begin).Round(time.Millisecond))
	}

	// Every test may rely on the default deployment being set up: the
	// KV v2 mount and the "edge-user" policy.
	a, err := admin.New(admin.Config{Client: rootClient(), Mount: srv.Mount})
	if err == nil {
		err = a.Setup(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up the default deployment:", err)
		return 1
	}
	return m.Run()
}

// newClient returns a vault/api client for the test Vault with token.
func newClient(token string) *api.Client {
	cfg := api.DefaultConfig()
	cfg.Address = vault.Addr
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		panic(err)
	}
	c.SetToken(token)
	// Keep a developer's VAULT_WRAP_TTL or VAULT_NAMESPACE out.
	c.SetWrappingLookupFunc(func(string, string) string { return "" })
	c.ClearNamespace()
	return c
}

func rootClient() *api.Client { return newClient(vault.RootToken) }

// newAdmin returns an Admin using the root token, for cfg with the test
// mount as the default mount.
func newAdmin(t testing.TB, cfg admin.Config) *admin.Admin {
	t.Helper()
	if cfg.Client == nil {
		cfg.Client = rootClient()
	}
	if cfg.Mount == "" {
		cfg.Mount = vault.Mount
	}
	a, err := admin.New(cfg)
	require.NoError(t, err)
	return a
}

// unique returns prefix followed by random hex, for names no other test
// uses.
func unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// newUser makes a fresh userpass user, with its own identity entity,
// holding policies, logged in.
func newUser(t testing.TB, policies ...string) vaulttest.User {
	t.Helper()
	u, err := vault.NewUser(context.Background(), vaulttest.UniqueName("u"), policies...)
	require.NoError(t, err)
	return u
}
