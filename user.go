package edge

import "context"

// ListUserSecrets returns the names of the user's secrets, sorted. A user
// with no secrets gets an empty list, not an error.
func (s *SecretsService) ListUserSecrets(ctx context.Context) ([]string, error) {
	return s.list(ctx, s.userScope(ctx))
}

// ReadUserSecret returns the value of the user's secret name. It returns
// an error wrapping ErrNotFound if the secret does not exist. With
// Config.CacheTTL, a value read less than CacheTTL ago may come from the
// session's cache; the caller owns the returned value either way.
func (s *SecretsService) ReadUserSecret(ctx context.Context, name string) (Secret, error) {
	return s.read(ctx, s.userScope(ctx), name)
}

// InvalidateUserSecret drops the cached value of the user's secret name, so that
// the next read asks Vault. Without Config.CacheTTL, or for an invalid
// name, it does nothing. The session's own writes need no call: they
// drop the value themselves.
func (s *SecretsService) InvalidateUserSecret(name string) {
	if sc, ok := s.id.get(); ok {
		s.invalidate(sc, name)
	}
}

// CreateUserSecret stores value as the user's new secret name, in one
// request. It returns an error wrapping ErrAlreadyExists if the secret
// exists, and ErrBadEntry if value is nil or not JSON-encodable.
func (s *SecretsService) CreateUserSecret(ctx context.Context, name string, value Secret) error {
	return s.create(ctx, s.userScope(ctx), name, value)
}

// UpdateUserSecret replaces the whole value of the user's secret name. It
// returns an error wrapping ErrNotFound if the secret does not exist (it
// never brings back a secret deleted meanwhile), ErrBadEntry if value is
// nil or not JSON-encodable, and ErrConflict if concurrent updates kept
// winning the race.
func (s *SecretsService) UpdateUserSecret(ctx context.Context, name string, value Secret) error {
	return s.update(ctx, s.userScope(ctx), name, value)
}

// DeleteUserSecret deletes the user's secret name, every version of it,
// so that the name can be created again. Deleting a secret that does not
// exist is not an error.
func (s *SecretsService) DeleteUserSecret(ctx context.Context, name string) error {
	return s.delete(ctx, s.userScope(ctx), name)
}

// WrapUserSecret returns a single-use Vault wrapping token holding the
// value of the user's secret name, valid for Config.WrapTTL unless
// WithWrapTTL says otherwise. It returns an error wrapping ErrNotFound if
// the secret does not exist, and ErrBadEntry if the TTL is refused.
func (s *SecretsService) WrapUserSecret(ctx context.Context, name string, opts ...WrapOption) (*WrappedSecret, error) {
	return s.wrap(ctx, s.userScope(ctx), name, opts)
}
