package edge

import (
	"context"
	"iter"
)

// ListOrgSecrets returns the names of the org's secrets, sorted. An org
// with no secrets gets an empty list, not an error.
func (s *SecretsService) ListOrgSecrets(ctx context.Context) ([]string, error) {
	return s.list(ctx, s.org)
}

// ReadOrgSecret returns the value of the org's secret name. It returns an
// error wrapping ErrNotFound if the secret does not exist. With
// Config.CacheTTL, a value read less than CacheTTL ago may come from the
// session's cache; the caller owns the returned value either way.
func (s *SecretsService) ReadOrgSecret(ctx context.Context, name string) (Secret, error) {
	return s.read(ctx, s.org, name)
}

// InvalidateOrgSecret drops the cached value of the org's secret name, so that
// the next read asks Vault. Without Config.CacheTTL, or for an invalid
// name, it does nothing. The session's own writes need no call: they
// drop the value themselves.
func (s *SecretsService) InvalidateOrgSecret(name string) {
	s.invalidate(s.org, name)
}

// CreateOrgSecret stores value as the org's new secret name, in one
// request. It returns an error wrapping ErrAlreadyExists if the secret
// exists, and ErrBadEntry if value is nil or not JSON-encodable.
func (s *SecretsService) CreateOrgSecret(ctx context.Context, name string, value Secret) error {
	return s.create(ctx, s.org, name, value)
}

// UpdateOrgSecret replaces the whole value of the org's secret name. It
// returns an error wrapping ErrNotFound if the secret does not exist (it
// never brings back a secret deleted meanwhile), ErrBadEntry if value is
// nil or not JSON-encodable, and ErrConflict if concurrent updates kept
// winning the race.
func (s *SecretsService) UpdateOrgSecret(ctx context.Context, name string, value Secret) error {
	return s.update(ctx, s.org, name, value)
}

// DeleteOrgSecret deletes the org's secret name, every version of it, so
// that the name can be created again. Deleting a secret that does not
// exist is not an error.
func (s *SecretsService) DeleteOrgSecret(ctx context.Context, name string) error {
	return s.delete(ctx, s.org, name)
}

// WrapOrgSecret returns a single-use Vault wrapping token holding the
// value of the org's secret name, valid for Config.WrapTTL unless
// WithWrapTTL says otherwise. It returns an error wrapping ErrNotFound if
// the secret does not exist, and ErrBadEntry if the TTL is refused.
func (s *SecretsService) WrapOrgSecret(ctx context.Context, name string, opts ...WrapOption) (*WrappedSecret, error) {
	return s.wrap(ctx, s.org, name, opts)
}

// ListOrgSecretVersions returns every version of the org's secret name
// that Vault keeps, newest first: number, creation and deletion times,
// and whether it was destroyed, never a value. Deleted and destroyed
// versions are listed too. Members and admins of the org may list them.
// It returns an error wrapping ErrNotFound if the secret does not exist.
func (s *SecretsService) ListOrgSecretVersions(ctx context.Context, name string) ([]SecretVersion, error) {
	return s.versions(ctx, s.org, name)
}

// ReadOrgSecretVersion returns the value of version n of the org's
// secret name, read from Vault (never from the session's cache). Only the
// org's admins may read a version by its number: Vault refuses members
// (ErrPermissionDenied), as it refuses them any older value. It returns
// an error wrapping ErrBadEntry, before any request, if n is not
// positive, and ErrNotFound if that version was never written or is no
// longer kept, or was deleted or destroyed (the error says which).
func (s *SecretsService) ReadOrgSecretVersion(ctx context.Context, name string, n int) (Secret, error) {
	return s.readVersion(ctx, s.org, name, n)
}

// RollbackOrgSecret writes the value of version n of the org's secret
// name again, as a new latest version; the versions in between stay in
// the history. Only the org's admins may (members get
// ErrPermissionDenied). It writes with check-and-set on the latest
// version it read, once: it returns an error wrapping ErrConflict, having
// written nothing, if another write made a new version meanwhile. It
// returns ErrBadEntry, before any request, if n is not positive;
// ErrNotFound if the secret does not exist or its latest version is
// deleted or destroyed, before the rollback or while it ran (a rollback
// never brings a deleted secret back), or if version n cannot be read (never written, no longer kept, deleted
// or destroyed: the error says which); and ErrUndecodable if version n
// holds a value this SDK cannot decode. A lost answer is decided as for
// UpdateOrgSecret.
func (s *SecretsService) RollbackOrgSecret(ctx context.Context, name string, n int) error {
	return s.rollback(ctx, s.org, name, n)
}

// WatchOrgSecret watches the org's secret name and yields a Change each
// time a poll finds it changed, as WatchUserSecret does for the user's
// secrets, with the same options, errors and guarantees; it yields one
// error wrapping ErrNoOrg, before any request, if the session has no org.
//
// Org members may watch too: their policy grants read on the org's
// secret metadata, which holds version numbers and times and never a
// value. A watch that read the data path instead would move the value
// over the wire at every poll, to learn only whether it changed.
func (s *SecretsService) WatchOrgSecret(ctx context.Context, name string, opts ...WatchOption) iter.Seq2[Change, error] {
	return s.watch(ctx, "org", func(context.Context) scope { return s.org }, name, opts)
}
