// Package billing is a small package of an application that uses the
// Edge SDK, with tests against a real Vault through package edgetest
// (billing_test.go): the way to test your own code that reads and writes
// Edge secrets.
//
// The org secret "stripe-key" holds the org's Stripe configuration.
// Members of the org read it with Stripe; its admins write it with
// SetStripe.
package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/edgesdk/edge"
)

// SecretName is the org secret that holds the Stripe configuration.
const SecretName = "stripe-key"

// StripeConfig is the Stripe configuration of an org. Printing it never
// shows the keys.
type StripeConfig struct {
	APIKey        string `json:"api_key"`
	WebhookSecret string `json:"webhook_secret,omitempty"`
	Live          bool   `json:"live"`
}

// String describes c without its keys.
func (c StripeConfig) String() string {
	return fmt.Sprintf("StripeConfig{Live: %t, APIKey: <redacted>, WebhookSecret: <redacted>}", c.Live)
}

// ErrNotConfigured means the org has no Stripe configuration.
var ErrNotConfigured = errors.New("billing: stripe is not configured for this org")

// Stripe reads the org's Stripe configuration through secrets (a
// session's Secrets, on the org). It returns ErrNotConfigured if the org
// has none, and an error wrapping edge.ErrPermissionDenied if the caller
// is not a member of the org.
func Stripe(ctx context.Context, secrets *edge.SecretsService) (StripeConfig, error) {
	s, err := secrets.ReadOrgSecret(ctx, SecretName)
	if errors.Is(err, edge.ErrNotFound) {
		return StripeConfig{}, ErrNotConfigured
	}
	if err != nil {
		return StripeConfig{}, fmt.Errorf("billing: reading the stripe configuration: %w", err)
	}
	var c StripeConfig
	if err := s.DecodeStrict(&c); err != nil {
		return StripeConfig{}, fmt.Errorf("billing: the stripe configuration: %w", err)
	}
	if err := c.check(); err != nil {
		return StripeConfig{}, err
	}
	return c, nil
}

// SetStripe stores the org's Stripe configuration, creating or replacing
// it. Only the org's admins may: others get an error wrapping
// edge.ErrPermissionDenied.
func SetStripe(ctx context.Context, secrets *edge.SecretsService, c StripeConfig) error {
	if err := c.check(); err != nil {
		return err
	}
	s, err := edge.SecretOf(c)
	if err != nil {
		return err
	}
	err = secrets.UpdateOrgSecret(ctx, SecretName, s)
	if errors.Is(err, edge.ErrNotFound) {
		err = secrets.CreateOrgSecret(ctx, SecretName, s)
	}
	if err != nil {
		return fmt.Errorf("billing: storing the stripe configuration: %w", err)
	}
	return nil
}

// check refuses a key that does not match the mode.
func (c StripeConfig) check() error {
	prefix := "sk_test_"
	if c.Live {
		prefix = "sk_live_"
	}
	if !strings.HasPrefix(c.APIKey, prefix) {
		return fmt.Errorf("billing: the api key of a live=%t configuration must start with %s", c.Live, prefix)
	}
	return nil
}
