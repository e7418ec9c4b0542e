package mailer

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
)

// The real service satisfies the package's interface: checked by the
// compiler, no Vault needed.
var _ secretReader = (*edge.SecretsService)(nil)

// fakeSecrets is an in-memory secretReader: org secrets by name, and an
// error to return instead.
type fakeSecrets struct {
	secrets map[string]edge.Secret
	err     error
}

func (f fakeSecrets) ReadOrgSecret(_ context.Context, name string) (edge.Secret, error) {
	if f.err != nil {
		return nil, f.err
	}
	s, ok := f.secrets[name]
	if !ok {
		// Like the SDK: an error that matches edge.ErrNotFound.
		return nil, &edge.Error{Op: "read", Scope: "org", Name: name, Kind: edge.ErrNotFound}
	}
	return s, nil
}

func TestRelay(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		secrets fakeSecrets
		want    SMTP
		wantErr error
		errText string
	}{
		{
			name:    "configured",
			secrets: fakeSecrets{secrets: map[string]edge.Secret{"smtp": {"host": "mail.example.com", "port": 2525, "user": "app", "password": "pw"}}},
			want:    SMTP{Host: "mail.example.com", Port: 2525, User: "app", Password: "pw"},
		},
		{
			name:    "default port",
			secrets: fakeSecrets{secrets: map[string]edge.Secret{"smtp": {"host": "mail.example.com"}}},
			want:    SMTP{Host: "mail.example.com", Port: 587},
		},
		{
			name:    "not configured",
			secrets: fakeSecrets{},
			wantErr: ErrNoRelay,
		},
		{
			name:    "denied",
			secrets: fakeSecrets{err: &edge.Error{Op: "read", Scope: "org", Name: "smtp", Kind: edge.ErrPermissionDenied}},
			wantErr: edge.ErrPermissionDenied,
		},
		{
			name:    "no host",
			secrets: fakeSecrets{secrets: map[string]edge.Secret{"smtp": {"port": 25}}},
			errText: "has no host",
		},
		{
			name:    "wrong type",
			secrets: fakeSecrets{secrets: map[string]edge.Secret{"smtp": {"host": "h", "port": "twenty-five"}}},
			wantErr: edge.ErrBadEntry,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Relay(ctx, tc.secrets)
			switch {
			case tc.wantErr != nil:
				assert.ErrorIs(t, err, tc.wantErr)
			case tc.errText != "":
				assert.ErrorContains(t, err, tc.errText)
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
			}
			if err != nil {
				assert.False(t, errors.Is(err, ErrNoRelay) && tc.wantErr != ErrNoRelay)
			}
		})
	}
}

func TestAddr(t *testing.T) {
	assert.Equal(t, "mail.example.com:587", SMTP{Host: "mail.example.com", Port: 587}.Addr())
}

func TestStringHidesPassword(t *testing.T) {
	assert.NotContains(t, SMTP{Host: "h", Password: "pw-123"}.String(), "pw-123")
}
