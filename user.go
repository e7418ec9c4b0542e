package edge

import (
	"context"
	"iter"
)

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

// ListUserSecretVersions returns every version of the user's secret name
// that Vault keeps, newest first: number, creation and deletion times,
// and whether it was destroyed, never a value. Deleted and destroyed
// versions are listed too. It returns an error wrapping ErrNotFound if
// the secret does not exist.
func (s *SecretsService) ListUserSecretVersions(ctx context.Context, name string) ([]SecretVersion, error) {
	return s.versions(ctx, s.userScope(ctx), name)
}

// ReadUserSecretVersion returns the value of version n of the user's
// secret name, read from Vault (never from the session's cache). It
// returns an error wrapping ErrBadEntry, before any request, if n is not
// positive, and ErrNotFound if that version was never written or is no
// longer kept, or was deleted or destroyed (the error says which).
func (s *SecretsService) ReadUserSecretVersion(ctx context.Context, name string, n int) (Secret, error) {
	return s.readVersion(ctx, s.userScope(ctx), name, n)
}

// RollbackUserSecret writes the value of version n of the user's secret
// name again, as a new latest version; the versions in between stay in
// the history. It writes with check-and-set on the latest version it
// read, once: it returns an error wrapping ErrConflict, having written
// nothing, if another write made a new version meanwhile. It returns
// ErrBadEntry, before any request, if n is not positive; ErrNotFound if
// the secret does not exist or its latest version is deleted or
// destroyed, before the rollback or while it ran (a rollback never brings
// a deleted secret back), or if
// version n cannot be read (never written, no longer kept, deleted or
// destroyed: the error says which); and ErrUndecodable if version n holds
// a value this SDK cannot decode. A lost answer is decided as for
// UpdateUserSecret.
func (s *SecretsService) RollbackUserSecret(ctx context.Context, name string, n int) error {
	return s.rollback(ctx, s.userScope(ctx), name, n)
}

// WatchUserSecret watches the user's secret name and yields a Change each
// time a poll finds it changed. Range over it:
//
//	for ch, err := range sess.Secrets.WatchUserSecret(ctx, "db", edge.WatchInterval(time.Minute)) {
//		if errors.Is(err, edge.ErrUnavailable) {
//			continue // reported, still watching
//		}
//		if err != nil {
//			return err // the watch has ended
//		}
//		... reload the secret (ch.Deleted, ch.Destroyed: it is gone) ...
//	}
//
// The watch runs in the goroutine that ranges over it, and starts no
// goroutine. It polls at once, then after each wait: one request per
// poll (a read of the secret's KV v2 metadata, which holds version
// numbers and times, never a value). Each wait is the interval
// multiplied by a random factor in [0.9, 1.1], so that many watchers
// started together do not poll together.
//
// The first poll yields the secret's state as a Change with Initial set,
// whatever it is (a secret that does not exist is Version 0, Deleted):
// a service that loads the secret in the loop body, on every Change,
// misses no change made between its own read and the watch's start.
// Later polls yield a Change only when the state differs from the one
// yielded before.
//
// With Config.CacheTTL, the watch drops the session's cached value of
// name before each Change is yielded, so that a read in the loop body
// asks Vault.
//
// Errors: a yielded error wrapping ErrUnavailable (Vault, or the lookup
// of the token's identity, could not answer) does not end the watch: it
// waits twice as long after each such poll, up to 8 intervals (jittered
// too), then the interval again after a poll that succeeds; it yields
// the error of every such poll. Any other error is the last value
// yielded: ErrBadEntry for an invalid name or interval (before any
// request), ErrPermissionDenied if Vault refuses the poll (with
// Config.Auth, after a new login as for every operation),
// ErrNoEntity, ErrIdentityChanged. The watch ends without an error when
// ctx ends, or when the loop body breaks out of the range; the next
// range over the same value starts a new watch.
//
// A deletion that a deletion time schedules in the future (the mount's
// delete_version_after) changes no metadata when it happens: the watch
// reports it at the first poll after that time by Vault's clock (the Date
// of its answer, known to the second: a deletion less than a second away
// is reported up to a second early), never the local clock. Every other
// change is seen by the metadata alone.
//
// The secret's metadata is readable wherever the secret is: the Edge user
// policy grants read on the user's metadata, and both org policies on
// the org's (see package admin).
func (s *SecretsService) WatchUserSecret(ctx context.Context, name string, opts ...WatchOption) iter.Seq2[Change, error] {
	return s.watch(ctx, "user", s.userScope, name, opts)
}
