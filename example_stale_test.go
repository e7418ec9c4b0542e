package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/internal/faultproxy"
)

// With Config.CacheStaleIfError, a read whose cached value has expired
// returns that value when Vault cannot answer (here a sealed Vault), up
// to CacheTTL + CacheStaleIfError after it was read from Vault; past that
// bound, the read fails with ErrUnavailable. Vault's own answers (a
// deleted secret, a refused token) are never masked.
func ExampleConfig_cacheStaleIfError() {
	ctx := context.Background()
	cfg, outage := exampleOutageConfig() // a Vault the example can seal and unseal
	defer outage.Close()
	cfg.CacheTTL = 200 * time.Millisecond
	cfg.CacheStaleIfError = 300 * time.Millisecond
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"}); err != nil {
		log.Fatal(err)
	}
	if _, err := sess.Secrets.ReadOrgSecret(ctx, "team-db"); err != nil { // cached
		log.Fatal(err)
	}

	outage.FailNext(1<<30, faultproxy.Sealed, nil) // Vault answers 503 "Vault is sealed"
	time.Sleep(cfg.CacheTTL)                       // the cached value expires
	s, err := sess.Secrets.ReadOrgSecret(ctx, "team-db")
	fmt.Println(s["password"], err) // the stale value

	time.Sleep(cfg.CacheStaleIfError) // CacheTTL + CacheStaleIfError have passed
	_, err = sess.Secrets.ReadOrgSecret(ctx, "team-db")
	fmt.Println(errors.Is(err, edge.ErrUnavailable))
	// Output:
	// s3cret <nil>
	// true
}

// exampleOutageConfig returns a Config of a fresh user and org, which
// reaches Vault through a fault proxy that the example can make play an
// outage, with short retries.
func exampleOutageConfig() (edge.Config, *faultproxy.Proxy) {
	cfg := exampleConfig()
	p, err := faultproxy.New(cfg.Address)
	if err != nil {
		log.Fatal(err)
	}
	client, err := api.NewClient(&api.Config{Address: p.URL(), MaxRetries: 1, MinRetryWait: 10 * time.Millisecond, MaxRetryWait: 10 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	client.SetToken(cfg.Token)
	cfg.Client, cfg.Address = client, ""
	return cfg, p
}
