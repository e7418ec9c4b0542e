package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/exampletb"
)

// exampleTenants stands for a service's setting: the Config of a Client
// without a token of its own (the test Vault's address, CA and mount),
// and two users' tokens, as requests would carry them.
func exampleTenants() (cfg edge.Config, alice, bob string) {
	t := exampletb.New()
	defer t.Done()
	vault := edgetest.Start(t)
	a, b := vault.NewUser(t), vault.NewUser(t)
	cfg = vault.Config(a, "")
	cfg.Client.ClearToken()
	cfg.Token = ""
	return cfg, a.Token, b.Token
}

func ExampleNewClient() {
	ctx := context.Background()
	cfg, alice, bob := exampleTenants()
	client, err := edge.NewClient(ctx, cfg) // once, when the service starts
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// Per request: a session of the caller's token, no request to make.
	for _, caller := range []struct{ name, token string }{{"alice", alice}, {"bob", bob}} {
		sess, err := client.Session(ctx, caller.token)
		if err != nil {
			log.Fatal(err)
		}
		if err := sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": caller.name + "-key"}); err != nil {
			log.Fatal(err)
		}
		got, err := sess.Secrets.ReadUserSecret(ctx, "api-key") // the same name, each user's own secret
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(caller.name, got["key"])
		sess.Close()
	}
	// Output:
	// alice alice-key
	// bob bob-key
}

func ExampleClient_Session() {
	ctx := context.Background()
	cfg, _, _ := exampleTenants()
	client, err := edge.NewClient(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	_, err = client.Session(ctx, "hvs.pasted with a space")
	fmt.Println(errors.Is(err, edge.ErrBadEntry))

	// A token Vault does not know: the session is made, its first
	// operation is refused.
	sess, err := client.Session(ctx, "hvs.not-a-token-vault-knows")
	if err != nil {
		log.Fatal(err)
	}
	_, err = sess.Secrets.ListUserSecrets(ctx)
	fmt.Println(errors.Is(err, edge.ErrPermissionDenied))
	// Output:
	// true
	// true
}

func ExampleSession_LookupEntityID() {
	ctx := context.Background()
	cfg, alice, _ := exampleTenants()
	client, err := edge.NewClient(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	sess, err := client.Session(ctx, alice)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sess.EntityID() == "")  // not looked up yet
	id, err := sess.LookupEntityID(ctx) // one lookup-self
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id != "", sess.EntityID() == id)
	// Output:
	// true
	// true true
}

// A service that receives wrapping tokens redeems them with its Client:
// Vault at the Client's address, with its TLS and retry settings, traced
// and measured with the Client's providers.
func ExampleClient_UnwrapSecret() {
	ctx := context.Background()
	cfg, alice, _ := exampleTenants()
	client, err := edge.NewClient(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	sender, err := client.Session(ctx, alice)
	if err != nil {
		log.Fatal(err)
	}
	if err := sender.Secrets.CreateUserSecret(ctx, "handover", edge.Secret{"key": "k-1"}); err != nil {
		log.Fatal(err)
	}
	w, err := sender.Secrets.WrapUserSecret(ctx, "handover")
	if err != nil {
		log.Fatal(err)
	}

	u, err := client.UnwrapSecret(ctx, w.Token) // the receiving side: no token of its own needed
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Value["key"], u.Version)
	_, err = client.Unwrap(ctx, w.Token) // a token is redeemed once
	fmt.Println(errors.Is(err, edge.ErrInvalidToken))
	// Output:
	// k-1 1
	// true
}
