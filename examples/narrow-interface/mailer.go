// Package mailer shows a consumer-defined interface over the Edge SDK:
// the package needs one operation of *edge.SecretsService, so it
// declares an interface with that one method (secretReader) and takes
// it, instead of the whole service or an interface the SDK would export.
// Its unit tests (mailer_test.go) pass a tiny in-memory fake, with no
// Vault; the application passes sess.Secrets, which satisfies the
// interface as it is.
package mailer

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgesdk/edge"
)

// secretReader is what this package needs of *edge.SecretsService.
type secretReader interface {
	ReadOrgSecret(ctx context.Context, name string) (edge.Secret, error)
}

// SMTP is the org's mail relay configuration, the org secret "smtp".
type SMTP struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`
}

// String describes c without its password.
func (c SMTP) String() string {
	return fmt.Sprintf("SMTP{Host: %q, Port: %d, User: %q, Password: <redacted>}", c.Host, c.Port, c.User)
}

// Addr is the relay's host:port.
func (c SMTP) Addr() string { return fmt.Sprintf("%s:%d", c.Host, c.Port) }

// ErrNoRelay means the org has no "smtp" secret: mail is not configured.
var ErrNoRelay = errors.New("mailer: no smtp relay configured for the org")

// Relay reads the org's SMTP relay configuration from secrets (in an
// application, a session's Secrets). A missing secret is ErrNoRelay; a
// port of 0 means 587.
func Relay(ctx context.Context, secrets secretReader) (SMTP, error) {
	s, err := secrets.ReadOrgSecret(ctx, "smtp")
	if errors.Is(err, edge.ErrNotFound) {
		return SMTP{}, ErrNoRelay
	}
	if err != nil {
		return SMTP{}, fmt.Errorf("mailer: %w", err)
	}
	var c SMTP
	if err := s.Decode(&c); err != nil {
		return SMTP{}, fmt.Errorf("mailer: the smtp secret: %w", err)
	}
	if c.Host == "" {
		return SMTP{}, errors.New("mailer: the smtp secret has no host")
	}
	if c.Port == 0 {
		c.Port = 587
	}
	return c, nil
}
