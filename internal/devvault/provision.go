package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/internal/kvmount"
)

// The demo layout -demo provisions: org acme with admin carol and members
// alice and bob, org globex with member dave.
var demoOrgs = []struct {
	name            string
	admins, members []string
}{
	{"acme", []string{"carol"}, []string{"alice", "bob"}},
	{"globex", nil, []string{"dave"}},
}

// demoUsers are the users of the demo layout, in the order they are made.
var demoUsers = []string{"alice", "bob", "carol", "dave"}

// newAPIClient returns a Vault API client for addr authenticated with token.
// For an external Vault (fromEnv) the usual VAULT_* variables (CA
// certificates, namespace, ...) are honoured; for the in-process server they
// are ignored so that a developer's environment cannot redirect or alter the
// provisioning requests.
func newAPIClient(addr, token string, fromEnv bool) (*api.Client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault client configuration from environment: %w", cfg.Error)
	}
	cfg.Address = addr
	cfg.AgentAddress = ""
	if !fromEnv {
		cfg.HttpClient = cleanhttp.DefaultPooledClient()
		cfg.HttpClient.Timeout = 60 * time.Second
		cfg.Limiter = nil
		cfg.SRVLookup = false
		cfg.MaxRetries = 2
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	c.SetToken(token)
	if !fromEnv {
		h := http.Header{}
		h.Set(api.RequestHeaderName, "true")
		c.SetHeaders(h) // drops VAULT_NAMESPACE and VAULT_HEADERS
	}
	return c, nil
}

type provisionConfig struct {
	mount string
	users []string
	demo  bool // also provision the demo layout (demoOrgs)
	// managed is true for the in-process server: devvault owns it and may
	// replace an existing mount and enable extra auth methods.
	managed bool
}

// provision prepares a Vault for the edge tests. It is used both for the
// in-process server and for -external-addr. Address and RootToken of the
// returned Output are left for the caller to fill in.
func provision(ctx context.Context, c *api.Client, pc provisionConfig) (*Output, error) {
	if err := ensureKVv2(ctx, c, pc.mount, pc.managed); err != nil {
		return nil, err
	}
	if err := ensureAuth(ctx, c, "userpass", "userpass"); err != nil {
		return nil, err
	}
	if pc.managed {
		if err := ensureAuth(ctx, c, "approle", "approle"); err != nil {
			return nil, err
		}
	}
	if err := waitKVv2Usable(ctx, c, pc.mount); err != nil {
		return nil, err
	}
	// The edge access model, through the SDK's own provisioning API: the
	// templated user policy now, the org policies and groups below.
	adm, err := admin.New(admin.Config{Client: c, Mount: pc.mount})
	if err != nil {
		return nil, err
	}
	if err := adm.Setup(ctx); err != nil {
		return nil, fmt.Errorf("setting up edge: %w", err)
	}

	users := pc.users
	if pc.demo {
		users = mergeNames(users, demoUsers)
	}
	out := &Output{Mount: pc.mount, UserPolicy: adm.UserPolicyName(), Users: make(map[string]UserOutput, len(users)), Orgs: map[string]OrgOutput{}}
	for _, name := range users {
		u, err := createUser(ctx, c, name, adm.UserPolicyName())
		if err != nil {
			return nil, err
		}
		out.Users[name] = u
	}
	if pc.demo {
		for _, org := range demoOrgs {
			if err := adm.CreateOrg(ctx, org.name); err != nil {
				return nil, fmt.Errorf("creating org %s: %w", org.name, err)
			}
			for _, name := range org.admins {
				if err := adm.AddAdmin(ctx, org.name, out.Users[name].EntityID); err != nil {
					return nil, fmt.Errorf("making %s admin of %s: %w", name, org.name, err)
				}
			}
			for _, name := range org.members {
				if err := adm.AddMember(ctx, org.name, out.Users[name].EntityID); err != nil {
					return nil, fmt.Errorf("making %s member of %s: %w", name, org.name, err)
				}
			}
			out.Orgs[org.name] = OrgOutput{Admins: orEmpty(org.admins), Members: orEmpty(org.members)}
		}
	}

	tok, err := c.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{
		Policies:    []string{"default"},
		DisplayName: "edge-no-policy",
	})
	if err != nil {
		return nil, fmt.Errorf("creating default-policy-only token: %w", err)
	}
	if tok == nil || tok.Auth == nil || tok.Auth.ClientToken == "" {
		return nil, errors.New("creating default-policy-only token: empty response")
	}
	for _, p := range tok.Auth.Policies {
		if p != "default" {
			return nil, fmt.Errorf("default-policy-only token unexpectedly has policy %q", p)
		}
	}
	out.NoPolicyToken = tok.Auth.ClientToken
	return out, nil
}

func ensureKVv2(ctx context.Context, c *api.Client, mount string, managed bool) error {
	mounts, err := c.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return fmt.Errorf("listing secret engines: %w", err)
	}
	m, exists := mounts[mount+"/"]
	switch {
	case exists && m.Type == "kv" && m.Options["version"] == "2":
		return nil
	case exists && managed:
		// The Vault test core mounts secret/ as KV v1; replace it.
		if err := c.Sys().UnmountWithContext(ctx, mount); err != nil {
			return fmt.Errorf("unmounting %s/ (%s v%s): %w", mount, m.Type, m.Options["version"], err)
		}
	case exists:
		return fmt.Errorf("%w: use -mount to name another", kvmount.Problem(mount, m.Type, m.Options))
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

func createUser(ctx context.Context, c *api.Client, name string, policies ...string) (UserOutput, error) {
	password, err := randomPassword()
	if err != nil {
		return UserOutput{}, err
	}
	_, err = c.Logical().WriteWithContext(ctx, "auth/userpass/users/"+name, map[string]any{
		"password":       password,
		"token_policies": policies,
	})
	if err != nil {
		return UserOutput{}, fmt.Errorf("creating userpass user %s: %w", name, err)
	}

	lc, err := c.CloneWithHeaders()
	if err != nil {
		return UserOutput{}, err
	}
	lc.ClearToken()
	s, err := lc.Logical().WriteWithContext(ctx, "auth/userpass/login/"+name, map[string]any{"password": password})
	if err != nil {
		return UserOutput{}, fmt.Errorf("logging in as %s: %w", name, err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return UserOutput{}, fmt.Errorf("logging in as %s: no token in response", name)
	}
	if s.Auth.EntityID == "" {
		return UserOutput{}, fmt.Errorf("logging in as %s: no entity_id in response", name)
	}
	return UserOutput{
		Token:    s.Auth.ClientToken,
		EntityID: s.Auth.EntityID,
		Password: password,
		Accessor: s.Auth.Accessor,
	}, nil
}

func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// mergeNames returns a followed by the names of b it lacks.
func mergeNames(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, n := range b {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
