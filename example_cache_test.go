package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/exampletb"
)

// With Config.CacheTTL, reads are answered from memory for that long. The
// session's own writes drop the cached value at once; another client's
// write shows after at most CacheTTL, or after an Invalidate call.
func ExampleConfig_cache() {
	ctx := context.Background()
	cfg := exampleConfig()
	cfg.CacheTTL = time.Minute
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "feature-flags", edge.Secret{"beta": "off"}); err != nil {
		log.Fatal(err)
	}

	for range 3 {
		s, err := sess.Secrets.ReadOrgSecret(ctx, "feature-flags") // one request to Vault, then memory
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s["beta"])
	}
	// The session's own update: the next read asks Vault.
	if err := sess.Secrets.UpdateOrgSecret(ctx, "feature-flags", edge.Secret{"beta": "on"}); err != nil {
		log.Fatal(err)
	}
	s, err := sess.Secrets.ReadOrgSecret(ctx, "feature-flags")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s["beta"])
	// Output:
	// off
	// off
	// off
	// on
}

// exampleSecondSession returns another session on cfg's user and org,
// without a cache: another process of the same service, say.
func exampleSecondSession(cfg edge.Config) *edge.Session {
	cfg.CacheTTL = 0
	sess, err := edge.NewSession(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	return sess
}

// A value another client changed shows at once after InvalidateOrgSecret.
func ExampleSecretsService_InvalidateOrgSecret() {
	ctx := context.Background()
	cfg := exampleConfig()
	cfg.CacheTTL = time.Hour
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	other := exampleSecondSession(cfg)
	defer other.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "old"}); err != nil {
		log.Fatal(err)
	}
	read := func() {
		s, err := sess.Secrets.ReadOrgSecret(ctx, "team-db")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s["password"])
	}

	read()
	if err := other.Secrets.UpdateOrgSecret(ctx, "team-db", edge.Secret{"password": "new"}); err != nil {
		log.Fatal(err)
	}
	read() // still cached: the update came from another client
	sess.Secrets.InvalidateOrgSecret("team-db")
	read()
	// Output:
	// old
	// old
	// new
}

func ExampleSecretsService_InvalidateUserSecret() {
	ctx := context.Background()
	cfg := exampleConfig()
	cfg.CacheTTL = time.Hour
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	other := exampleSecondSession(cfg)
	defer other.Close()
	if err := sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k1"}); err != nil {
		log.Fatal(err)
	}
	read := func() {
		s, err := sess.Secrets.ReadUserSecret(ctx, "api-key")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s["key"])
	}

	read()
	if err := other.Secrets.UpdateUserSecret(ctx, "api-key", edge.Secret{"key": "k2"}); err != nil {
		log.Fatal(err)
	}
	read()
	sess.Secrets.InvalidateUserSecret("api-key")
	read()
	// Output:
	// k1
	// k1
	// k2
}

// After the user is removed from an org, InvalidateAll makes every read
// ask Vault again, so cached org secrets are no longer served.
func ExampleSecretsService_InvalidateAll() {
	ctx := context.Background()
	cfg := exampleConfig()
	cfg.CacheTTL = time.Hour
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"}); err != nil {
		log.Fatal(err)
	}
	if _, err := sess.Secrets.ReadOrgSecret(ctx, "team-db"); err != nil {
		log.Fatal(err)
	}
	exampleRemoveFromOrg(sess) // an operator removes the user from the org

	_, err = sess.Secrets.ReadOrgSecret(ctx, "team-db")
	fmt.Println(err) // from the cache
	sess.Secrets.InvalidateAll()
	_, err = sess.Secrets.ReadOrgSecret(ctx, "team-db")
	fmt.Println(errors.Is(err, edge.ErrPermissionDenied))
	// Output:
	// <nil>
	// true
}

// exampleRemoveFromOrg removes the session's user from its org, as an
// operator would with package admin.
func exampleRemoveFromOrg(sess *edge.Session) {
	t := exampletb.New()
	defer t.Done()
	if err := edgetest.Start(t).Admin().RemoveAdmin(context.Background(), sess.Org(), sess.EntityID()); err != nil {
		t.Fatal(err)
	}
}
