// Command quickstart walks through the twelve EdgeSecrets operations
// against a real Vault, printing what happens.
//
// With VAULT_ADDR set it uses that Vault, with VAULT_TOKEN and EDGE_ORG
// (or EDGE_API_ORG) from the environment. Without it, it builds and
// starts the embedded dev Vault (internal/devvault; the first build takes
// a couple of minutes) and stops it at the end.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/internal/vaulttest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg := edge.Config{}
	if os.Getenv("VAULT_ADDR") == "" {
		fmt.Println("VAULT_ADDR is not set: starting the embedded dev Vault (Vault v1.14.0, in memory)")
		srv, err := vaulttest.Start(ctx, vaulttest.Options{Users: []string{"alice"}})
		if err != nil {
			return err
		}
		defer srv.Close()
		fmt.Println("dev Vault listening at", srv.Addr)
		cfg = edge.Config{Address: srv.Addr, Token: srv.Users["alice"].Token, Org: "acme", Mount: srv.Mount}
	}
	return walkthrough(ctx, cfg)
}

// walkthrough runs the twelve operations, in both scopes.
func walkthrough(ctx context.Context, cfg edge.Config) error {
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("session: entity %s, org %q\n", sess.EntityID(), sess.Org())
	x := sess.Secrets
	scopes := []struct {
		name   string
		list   func(context.Context) ([]string, error)
		read   func(context.Context, string) (edge.Secret, error)
		create func(context.Context, string, edge.Secret) error
		update func(context.Context, string, edge.Secret) error
		delete func(context.Context, string) error
		wrap   func(context.Context, string, ...edge.WrapOption) (*edge.WrappedSecret, error)
	}{
		{"user", x.ListUserSecrets, x.ReadUserSecret, x.CreateUserSecret, x.UpdateUserSecret, x.DeleteUserSecret, x.WrapUserSecret},
		{"org", x.ListOrgSecrets, x.ReadOrgSecret, x.CreateOrgSecret, x.UpdateOrgSecret, x.DeleteOrgSecret, x.WrapOrgSecret},
	}
	for _, sc := range scopes {
		fmt.Printf("\n== %s secrets ==\n", sc.name)
		step := func(what string, err error) error {
			if err != nil {
				fmt.Printf("%-40s error: %v\n", what, err)
				return err
			}
			fmt.Printf("%-40s ok\n", what)
			return nil
		}
		if err := step("create my-secret {secret: value}", sc.create(ctx, "my-secret", edge.Secret{"secret": "value"})); err != nil {
			return err
		}
		err := sc.create(ctx, "my-secret", edge.Secret{"secret": "again"})
		fmt.Printf("%-40s ErrAlreadyExists=%v\n", "create my-secret again", errors.Is(err, edge.ErrAlreadyExists))
		names, err := sc.list(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("%-40s %v\n", "list", names)
		v, err := sc.read(ctx, "my-secret")
		if err != nil {
			return err
		}
		fmt.Printf("%-40s %v\n", "read my-secret", v)
		if err := step("update my-secret {secret: v2}", sc.update(ctx, "my-secret", edge.Secret{"secret": "v2"})); err != nil {
			return err
		}
		v, err = sc.read(ctx, "my-secret")
		if err != nil {
			return err
		}
		fmt.Printf("%-40s %v\n", "read my-secret", v)
		w, err := sc.wrap(ctx, "my-secret")
		if err != nil {
			return err
		}
		fmt.Printf("%-40s %v, unwrap at %s\n", "wrap my-secret", w, w.UnwrapURL)
		if err := step("delete my-secret", sc.delete(ctx, "my-secret")); err != nil {
			return err
		}
		_, err = sc.read(ctx, "my-secret")
		fmt.Printf("%-40s ErrNotFound=%v\n", "read my-secret after delete", errors.Is(err, edge.ErrNotFound))
		err = sc.create(ctx, "../escape", edge.Secret{"x": 1})
		fmt.Printf("%-40s ErrBadEntry=%v\n", "create ../escape", errors.Is(err, edge.ErrBadEntry))
	}
	return nil
}
