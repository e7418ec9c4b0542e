// Package vaultclient makes the vault/api clients the edge and admin
// packages work with, so that they never change a caller's client.
package vaultclient

import (
	"fmt"

	"github.com/hashicorp/vault/api"
)

// Own returns a client of the caller's own: a clone of client with its
// token and headers (vault/api's Clone keeps the token only when
// CloneToken is set), or, when client is nil, a new client from vault/api's
// environment (VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, ...). Either way it
// gets a wrapping lookup that never wraps, so that a VAULT_WRAP_TTL in the
// environment cannot wrap (and so empty) its answers; a request that is
// to be wrapped asks for it itself.
func Own(client *api.Client) (*api.Client, error) {
	var c *api.Client
	if client != nil {
		clone, err := client.CloneWithHeaders()
		if err != nil {
			return nil, fmt.Errorf("cloning the vault client: %w", err)
		}
		clone.SetToken(client.Token())
		c = clone
	} else {
		cfg := api.DefaultConfig()
		if cfg.Error != nil {
			return nil, fmt.Errorf("reading the vault environment: %w", cfg.Error)
		}
		fresh, err := api.NewClient(cfg)
		if err != nil {
			return nil, fmt.Errorf("making the vault client: %w", err)
		}
		c = fresh
	}
	c.SetWrappingLookupFunc(func(operation, path string) string { return "" })
	return c, nil
}
