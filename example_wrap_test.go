package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
)

// stdoutLogger is a slog text logger on standard output without the time,
// so that the examples print the same lines every run.
func stdoutLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// A wrapped secret, as a sender hands it over: the token itself is never
// printed.
var exampleWrapped = edge.WrappedSecret{
	Token:        "hvs.CAESIExampleWrappingToken",
	Accessor:     "kE7BuFlx3u4d9P0cJ2aD1xZq",
	UnwrapURL:    "https://vault.example.com:8200/v1/sys/wrapping/unwrap",
	TTL:          5 * time.Minute,
	CreationTime: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
	CreationPath: "secret/data/edge/orgs/acme/team-db",
}

// Org members (not only admins) may wrap the org's secrets.
func ExampleSecretsService_WrapOrgSecret() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"}); err != nil {
		log.Fatal(err)
	}

	w, err := sess.Secrets.WrapOrgSecret(ctx, "team-db")
	if err != nil {
		log.Fatal(err)
	}
	// Send w.Token (secretly) and w.UnwrapURL, and say which secret it is.
	fmt.Println(w.TTL, strings.HasSuffix(w.CreationPath, "/orgs/"+sess.Org()+"/team-db"))
	// Output:
	// 5m0s true
}

func ExampleWithWrapTTL() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateUserSecret(ctx, "handover", edge.Secret{"secret": "value"}); err != nil {
		log.Fatal(err)
	}

	w, err := sess.Secrets.WrapUserSecret(ctx, "handover", edge.WithWrapTTL(2*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.TTL, w.ExpiresAt().Sub(w.CreationTime))

	_, err = sess.Secrets.WrapUserSecret(ctx, "handover", edge.WithWrapTTL(0))
	fmt.Println(errors.Is(err, edge.ErrBadEntry))
	// Output:
	// 2m0s 2m0s
	// true
}

// The sender announces the version it wrapped; the receiver compares it
// with the version the token holds.
func ExampleWithWrapVersion() {
	ctx := context.Background()
	cfg := exampleConfig()
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "v1"}); err != nil {
		log.Fatal(err)
	}
	if err := sess.Secrets.UpdateOrgSecret(ctx, "team-db", edge.Secret{"password": "v2"}); err != nil {
		log.Fatal(err)
	}

	w, err := sess.Secrets.WrapOrgSecret(ctx, "team-db", edge.WithWrapVersion())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sender wrapped version", w.Version)

	client, err := api.NewClient(&api.Config{Address: cfg.Address}) // the receiver's
	if err != nil {
		log.Fatal(err)
	}
	got, err := edge.UnwrapSecret(ctx, client, w.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("receiver got version", got.Version, got.Value["password"])
	// Output:
	// sender wrapped version 2
	// receiver got version 2 v2
}

// UnwrapSecret redeems a token once and says which version it held.
func ExampleUnwrapSecret() {
	ctx := context.Background()
	cfg := exampleConfig()
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateUserSecret(ctx, "handover", edge.Secret{"password": "s3cret"}); err != nil {
		log.Fatal(err)
	}
	w, err := sess.Secrets.WrapUserSecret(ctx, "handover")
	if err != nil {
		log.Fatal(err)
	}

	// The receiver needs no Vault token of its own.
	client, err := api.NewClient(&api.Config{Address: cfg.Address})
	if err != nil {
		log.Fatal(err)
	}
	got, err := edge.UnwrapSecret(ctx, client, w.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Value["password"], got.Version, !got.CreatedTime.IsZero())
	_, err = edge.UnwrapSecret(ctx, client, w.Token)
	fmt.Println(errors.Is(err, edge.ErrInvalidToken)) // used once already
	// Output:
	// s3cret 1 true
	// true
}

// LookupWrapped looks at a token without consuming it.
func ExampleLookupWrapped() {
	ctx := context.Background()
	cfg := exampleConfig()
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"}); err != nil {
		log.Fatal(err)
	}
	w, err := sess.Secrets.WrapOrgSecret(ctx, "team-db", edge.WithWrapTTL(10*time.Minute))
	if err != nil {
		log.Fatal(err)
	}

	client, err := api.NewClient(&api.Config{Address: cfg.Address})
	if err != nil {
		log.Fatal(err)
	}
	info, err := edge.LookupWrapped(ctx, client, w.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.TTL, info.CreationPath == w.CreationPath)
	_, err = edge.LookupWrapped(ctx, client, "hvs.not-a-wrapping-token")
	fmt.Println(errors.Is(err, edge.ErrInvalidToken))
	// Output:
	// 10m0s true
	// true
}

// The receiver checks, without consuming the token, that it holds the
// secret the sender named: a token swapped in transit is detected.
func ExampleVerifyWrapped() {
	ctx := context.Background()
	cfg := exampleConfig()
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	for _, name := range []string{"team-db", "other"} {
		if err := sess.Secrets.CreateOrgSecret(ctx, name, edge.Secret{"password": "s3cret"}); err != nil {
			log.Fatal(err)
		}
	}
	w, err := sess.Secrets.WrapOrgSecret(ctx, "other")
	if err != nil {
		log.Fatal(err)
	}

	// Told: org cfg.Org, secret "team-db", and the token.
	client, err := api.NewClient(&api.Config{Address: cfg.Address})
	if err != nil {
		log.Fatal(err)
	}
	want := edge.OrgSecretOrigin(cfg.Org, "team-db")
	want.Mount = cfg.Mount // when not DefaultMount
	_, err = edge.VerifyWrapped(ctx, client, w.Token, want)
	fmt.Println(errors.Is(err, edge.ErrWrongSecret))
	// Output:
	// true
}

// An empty Mount or Prefix means DefaultMount or DefaultPrefix.
func ExampleOrgSecretOrigin() {
	want := edge.OrgSecretOrigin("acme", "team-db")
	fmt.Printf("%+v\n", want)
	want.Mount = "kv/teams" // a mount of another path
	fmt.Printf("%+v\n", want)
	// Output:
	// {Scope:org Owner:acme Name:team-db Mount: Prefix:}
	// {Scope:org Owner:acme Name:team-db Mount:kv/teams Prefix:}
}

// A user secret is named by its owner's entity id, which the sender
// gives (Session.EntityID, or "edge-secrets whoami").
func ExampleUserSecretOrigin() {
	ctx := context.Background()
	cfg := exampleConfig()
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateUserSecret(ctx, "handover", edge.Secret{"password": "s3cret"}); err != nil {
		log.Fatal(err)
	}
	w, err := sess.Secrets.WrapUserSecret(ctx, "handover")
	if err != nil {
		log.Fatal(err)
	}
	senderEntityID := sess.EntityID()

	client, err := api.NewClient(&api.Config{Address: cfg.Address})
	if err != nil {
		log.Fatal(err)
	}
	want := edge.UserSecretOrigin(senderEntityID, "handover")
	want.Mount = cfg.Mount // when not DefaultMount
	info, err := edge.VerifyWrapped(ctx, client, w.Token, want)
	fmt.Println(err, info.CreationPath == w.CreationPath)
	// Output:
	// <nil> true
}

func ExampleWrappedSecret_ExpiresAt() {
	fmt.Println(exampleWrapped.ExpiresAt())
	// Output:
	// 2025-03-14 09:31:53 +0000 UTC
}

func ExampleWrapInfo_ExpiresAt() {
	info := edge.WrapInfo{
		CreationPath: "secret/data/edge/orgs/acme/team-db",
		CreationTime: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
		TTL:          10 * time.Minute,
	}
	fmt.Println(info.ExpiresAt())
	// Output:
	// 2025-03-14 09:36:53 +0000 UTC
}

func ExampleWrappedSecret_String() {
	w := exampleWrapped
	fmt.Println(w.String())
	// Output:
	// wrapped secret secret/data/edge/orgs/acme/team-db (accessor kE7BuFlx3u4d9P0cJ2aD1xZq, token redacted, expires 2025-03-14T09:31:53Z)
}

// No verb prints the token; JSON does, on purpose, for handing it over.
func ExampleWrappedSecret_Format() {
	w := exampleWrapped
	fmt.Printf("%v\n%#v\n", w, &w)
	// Output:
	// wrapped secret secret/data/edge/orgs/acme/team-db (accessor kE7BuFlx3u4d9P0cJ2aD1xZq, token redacted, expires 2025-03-14T09:31:53Z)
	// wrapped secret secret/data/edge/orgs/acme/team-db (accessor kE7BuFlx3u4d9P0cJ2aD1xZq, token redacted, expires 2025-03-14T09:31:53Z)
}

func ExampleWrappedSecret_LogValue() {
	logger := stdoutLogger()
	logger.Info("wrapped", "secret", exampleWrapped)
	// Output:
	// level=INFO msg=wrapped secret="wrapped secret secret/data/edge/orgs/acme/team-db (accessor kE7BuFlx3u4d9P0cJ2aD1xZq, token redacted, expires 2025-03-14T09:31:53Z)"
}

func ExampleUnwrappedSecret_LogValue() {
	got := edge.UnwrappedSecret{
		Value:       edge.Secret{"user": "app", "password": "s3cret"},
		Version:     3,
		CreatedTime: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC),
	}
	logger := stdoutLogger()
	logger.Info("unwrapped", "secret", got)
	// Output:
	// level=INFO msg=unwrapped secret.value="edge.Secret{password:<redacted>, user:<redacted>}" secret.version=3 secret.created_time=2025-03-14T09:00:00.000Z
}
