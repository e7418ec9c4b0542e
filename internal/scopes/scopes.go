// Package scopes gives the six operations of one scope of Edge secrets
// (a user's own, or an org's) one type, so that the tests and the
// quickstart run the same steps on user and on org secrets.
package scopes

import (
	"context"
	"iter"

	"github.com/edgesdk/edge"
)

// Ops is one scope's six operations, its history and its watch, bound
// to a session.
type Ops struct {
	Name   string // "user" or "org"
	List   func(context.Context) ([]string, error)
	Read   func(context.Context, string) (edge.Secret, error)
	Create func(context.Context, string, edge.Secret) error
	Update func(context.Context, string, edge.Secret) error
	Delete func(context.Context, string) error
	Wrap   func(context.Context, string, ...edge.WrapOption) (*edge.WrappedSecret, error)

	// The history: list the versions, read one, roll back to one.
	Versions    func(context.Context, string) ([]edge.SecretVersion, error)
	ReadVersion func(context.Context, string, int) (edge.Secret, error)
	Rollback    func(context.Context, string, int) error

	// Watch watches one secret for changes.
	Watch func(context.Context, string, ...edge.WatchOption) iter.Seq2[edge.Change, error]
}

// User returns the operations on s's user secrets.
func User(s *edge.Session) Ops {
	x := s.Secrets
	return Ops{"user", x.ListUserSecrets, x.ReadUserSecret, x.CreateUserSecret, x.UpdateUserSecret, x.DeleteUserSecret, x.WrapUserSecret,
		x.ListUserSecretVersions, x.ReadUserSecretVersion, x.RollbackUserSecret, x.WatchUserSecret}
}

// Org returns the operations on the secrets of s's org.
func Org(s *edge.Session) Ops {
	x := s.Secrets
	return Ops{"org", x.ListOrgSecrets, x.ReadOrgSecret, x.CreateOrgSecret, x.UpdateOrgSecret, x.DeleteOrgSecret, x.WrapOrgSecret,
		x.ListOrgSecretVersions, x.ReadOrgSecretVersion, x.RollbackOrgSecret, x.WatchOrgSecret}
}
