package admin_test

import (
	"context"
	"log"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/admin"
)

// An operator sets up Vault once, creates an org and adds people to it.
// The client's token needs the capabilities of Admin.OperatorPolicy.
func Example() {
	ctx := context.Background()
	client, err := api.NewClient(api.DefaultConfig()) // VAULT_ADDR, VAULT_TOKEN
	if err != nil {
		log.Fatal(err)
	}
	a, err := admin.New(admin.Config{Client: client}) // mount "secret", prefix "edge"
	if err != nil {
		log.Fatal(err)
	}
	// KV v2 at secret/ and the "edge-user" policy. Attach that policy to
	// every edge user (their userpass users or auth roles).
	if err := a.Setup(ctx); err != nil {
		log.Fatal(err)
	}
	// Policies and groups "edge-org-acme-members" and "edge-org-acme-admins".
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	const aliceEntityID = "5c4f1d3e-0000-4000-8000-000000000001" // from auth/token/lookup-self
	if err := a.AddAdmin(ctx, "acme", aliceEntityID); err != nil {
		log.Fatal(err)
	}
	members, err := a.Members(ctx, "acme")
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("acme has %d members", len(members))
}
