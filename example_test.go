package edge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/exampletb"
)

// exampleConfig returns the Config of a fresh user of the test Vault,
// admin of a fresh org; a real program would use edge.Config{} and the
// environment instead.
func exampleConfig() edge.Config {
	t := exampletb.New()
	defer t.Done()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	return vault.Config(u, vault.NewOrg(t, u))
}

func Example() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	if err := sess.Secrets.CreateUserSecret(ctx, "my-secret", edge.Secret{"secret": "value"}); err != nil {
		log.Fatal(err)
	}
	names, err := sess.Secrets.ListUserSecrets(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(names)
	s, err := sess.Secrets.ReadUserSecret(ctx, "my-secret")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Reveal())
	// Output:
	// [my-secret]
	// map[secret:value]
}

func ExampleSecretsService_CreateUserSecret_alreadyExists() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	_ = sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k1"})
	err = sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k2"})
	fmt.Println(errors.Is(err, edge.ErrAlreadyExists))
	fmt.Println(err)
	// Output:
	// true
	// edge: create user secret "api-key": secret already exists
}

func ExampleSecretsService_ReadOrgSecret_notFound() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	_, err = sess.Secrets.ReadOrgSecret(ctx, "missing")
	fmt.Println(errors.Is(err, edge.ErrNotFound))
	var e *edge.Error
	if errors.As(err, &e) {
		fmt.Println(e.Op, e.Scope, e.Name)
	}
	// Output:
	// true
	// read org missing
}

func ExampleSecretsService_CreateUserSecret_badEntry() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	err = sess.Secrets.CreateUserSecret(ctx, "../escape", edge.Secret{"x": 1})
	fmt.Println(errors.Is(err, edge.ErrBadEntry))
	fmt.Println(err)
	// Output:
	// true
	// edge: create user secret: bad entry: name (9 bytes) has '.' at byte 0: only ASCII letters, digits, '-' and '_' are allowed
}

// Numbers come back as json.Number, with every digit kept.
func ExampleSecret_numbers() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	err = sess.Secrets.CreateOrgSecret(ctx, "limits", edge.Secret{"max": int64(9223372036854775807), "ratio": 0.1})
	if err != nil {
		log.Fatal(err)
	}
	s, err := sess.Secrets.ReadOrgSecret(ctx, "limits")
	if err != nil {
		log.Fatal(err)
	}
	max, _ := s["max"].(json.Number).Int64()
	fmt.Println(max, s["ratio"])
	// Output:
	// 9223372036854775807 0.1
}

func ExampleSecretsService_WrapUserSecret() {
	ctx := context.Background()
	cfg := exampleConfig()
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := sess.Secrets.CreateUserSecret(ctx, "handover", edge.Secret{"secret": "value"}); err != nil {
		log.Fatal(err)
	}
	w, err := sess.Secrets.WrapUserSecret(ctx, "handover")
	if err != nil {
		log.Fatal(err)
	}
	// Give w.Token and w.UnwrapURL to the recipient; printing w never
	// shows the token.
	fmt.Println(w.TTL, w.Token != "", w.UnwrapURL == cfg.Address+"/v1/sys/wrapping/unwrap")
	// Output:
	// 5m0s true true
}

// A receiver checks that a wrapping token holds the secret the sender
// named, then redeems it. It needs no session and no Vault token.
func ExampleUnwrap() {
	ctx := context.Background()
	cfg := exampleConfig()
	sender, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := sender.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"}); err != nil {
		log.Fatal(err)
	}
	w, err := sender.Secrets.WrapOrgSecret(ctx, "team-db")
	if err != nil {
		log.Fatal(err)
	}

	// The receiver, told: org cfg.Org, secret "team-db", and the token.
	client, err := api.NewClient(&api.Config{Address: cfg.Address})
	if err != nil {
		log.Fatal(err)
	}
	want := edge.OrgSecretOrigin(cfg.Org, "team-db")
	want.Mount = cfg.Mount
	if _, err := edge.VerifyWrapped(ctx, client, w.Token, want); err != nil {
		log.Fatal(err)
	}
	value, err := edge.Unwrap(ctx, client, w.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(value["password"])
	_, err = edge.Unwrap(ctx, client, w.Token)
	fmt.Println(errors.Is(err, edge.ErrInvalidToken))
	// Output:
	// s3cret
	// true
}
