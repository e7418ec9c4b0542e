package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/vault/api"
)

// newAPIClient returns a Vault API client of the in-process server at
// addr, authenticated with token, with tlsCfg for an https address (its
// roots, and the client certificate the server requires with
// -tls-client-auth; nil: the system's roots). The usual VAULT_* variables
// are ignored, so that a developer's environment cannot redirect or alter
// the setup requests.
func newAPIClient(addr, token string, tlsCfg *tls.Config) (*api.Client, error) {
	cfg := api.DefaultConfig()
	cfg.Address = addr
	cfg.AgentAddress = ""
	cfg.HttpClient = cleanhttp.DefaultPooledClient()
	cfg.HttpClient.Timeout = 60 * time.Second
	if tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	cfg.HttpClient.Transport.(*http.Transport).TLSClientConfig = tlsCfg
	cfg.Limiter = nil
	cfg.SRVLookup = false
	cfg.MaxRetries = 2
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	c.SetToken(token)
	h := http.Header{}
	h.Set(api.RequestHeaderName, "true")
	c.SetHeaders(h) // drops VAULT_NAMESPACE and VAULT_HEADERS
	return c, nil
}

// setup prepares the server: KV version 2 at mount (replacing the KV
// version 1 mount the Vault test core makes at secret/), and the
// userpass and AppRole auth methods. Nothing Edge-specific: policies,
// users and orgs are for the caller (package edgetest of
// github.com/edgesdk/edge, or package admin directly).
func setup(ctx context.Context, c *api.Client, mount string) error {
	if err := ensureKVv2(ctx, c, mount); err != nil {
		return err
	}
	for _, kind := range []string{"userpass", "approle"} {
		if err := ensureAuth(ctx, c, kind, kind); err != nil {
			return err
		}
	}
	return waitKVv2Usable(ctx, c, mount)
}

func ensureKVv2(ctx context.Context, c *api.Client, mount string) error {
	mounts, err := c.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return fmt.Errorf("listing secret engines: %w", err)
	}
	m, exists := mounts[mount+"/"]
	switch {
	case exists && m.Type == "kv" && m.Options["version"] == "2":
		return nil
	case exists:
		// The Vault test core mounts secret/ as KV v1; replace it.
		if err := c.Sys().UnmountWithContext(ctx, mount); err != nil {
			return fmt.Errorf("unmounting %s/ (%s v%s): %w", mount, m.Type, m.Options["version"], err)
		}
	}
	err = c.Sys().MountWithContext(ctx, mount, &api.MountInput{
		Type:        "kv",
		Description: "edge KV v2 (devvault)",
		Options:     map[string]string{"version": "2"},
	})
	if err != nil {
		return fmt.Errorf("mounting KV v2 at %s/: %w", mount, err)
	}
	return nil
}

func ensureAuth(ctx context.Context, c *api.Client, path, typ string) error {
	auths, err := c.Sys().ListAuthWithContext(ctx)
	if err != nil {
		return fmt.Errorf("listing auth methods: %w", err)
	}
	if a, ok := auths[path+"/"]; ok {
		if a.Type != typ {
			return fmt.Errorf("auth method at %s/ has type %q, want %q", path, a.Type, typ)
		}
		return nil
	}
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, path, &api.EnableAuthOptions{Type: typ}); err != nil {
		return fmt.Errorf("enabling %s auth at %s/: %w", typ, path, err)
	}
	return nil
}

// waitKVv2Usable waits until the KV v2 mount serves requests: a freshly
// mounted (or upgraded) KV v2 backend runs its upgrade asynchronously and
// rejects requests until it is done.
func waitKVv2Usable(ctx context.Context, c *api.Client, mount string) error {
	const probe = "edge-devvault/probe"
	var lastErr error
	for {
		lastErr = func() error {
			// An empty config write is a no-op that still goes through the
			// backend's upgrade check.
			if _, err := c.Logical().WriteWithContext(ctx, mount+"/config", map[string]any{}); err != nil {
				return fmt.Errorf("writing %s/config: %w", mount, err)
			}
			if _, err := c.Logical().WriteWithContext(ctx, mount+"/data/"+probe, map[string]any{
				"data": map[string]any{"ok": "1"},
			}); err != nil {
				return fmt.Errorf("writing %s/data/%s: %w", mount, probe, err)
			}
			if _, err := c.Logical().DeleteWithContext(ctx, mount+"/metadata/"+probe); err != nil {
				return fmt.Errorf("deleting %s/metadata/%s: %w", mount, probe, err)
			}
			return nil
		}()
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("KV v2 at %s/ not usable: %w (last error: %v)", mount, ctx.Err(), lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
