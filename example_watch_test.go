package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/edgesdk/edge"
)

// A service reloads a rotated password without restarting: it loads the
// secret on every Change, the first one included, so that no rotation
// between its start and the watch's is missed. A Vault that cannot
// answer for a while is reported and the watch goes on; any other error
// ends it. Here another process rotates the password once, and the
// service stops watching after it reloaded it.
func ExampleSecretsService_WatchOrgSecret() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends the watch, wherever it is
	cfg := exampleConfig()
	cfg.CacheTTL = time.Hour // a Change drops the cached value first
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "first"}); err != nil {
		log.Fatal(err)
	}
	rotator := exampleSecondSession(cfg)
	defer rotator.Close()

	for ch, err := range sess.Secrets.WatchOrgSecret(ctx, "team-db", edge.WatchInterval(time.Second)) {
		if errors.Is(err, edge.ErrUnavailable) {
			log.Print(err) // still watching
			continue
		}
		if err != nil {
			log.Fatal(err) // the watch has ended
		}
		if ch.Deleted || ch.Destroyed {
			fmt.Println("gone: keep the last password")
			continue
		}
		s, err := sess.Secrets.ReadOrgSecret(ctx, "team-db")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("version %d: connect with password %q\n", ch.Version, s["password"])
		if ch.Initial {
			// Another process rotates the password.
			if err := rotator.Secrets.UpdateOrgSecret(ctx, "team-db", edge.Secret{"password": "second"}); err != nil {
				log.Fatal(err)
			}
			continue
		}
		break
	}
	// Output:
	// version 1: connect with password "first"
	// version 2: connect with password "second"
}
