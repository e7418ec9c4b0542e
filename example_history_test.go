package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/exampletb"
)

// A password was rotated to a bad value: look at the history, check the
// old value, and roll back to it. The rollback is a new version; the bad
// one stays in the history.
func ExampleSecretsService_RollbackUserSecret() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateUserSecret(ctx, "db", edge.Secret{"password": "good"}); err != nil {
		log.Fatal(err)
	}
	if err := sess.Secrets.UpdateUserSecret(ctx, "db", edge.Secret{"password": "bad"}); err != nil {
		log.Fatal(err)
	}

	old, err := sess.Secrets.ReadUserSecretVersion(ctx, "db", 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version 1:", old["password"])
	if err := sess.Secrets.RollbackUserSecret(ctx, "db", 1); err != nil {
		log.Fatal(err)
	}
	now, err := sess.Secrets.ReadUserSecret(ctx, "db")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("latest:", now["password"])

	versions, err := sess.Secrets.ListUserSecretVersions(ctx, "db")
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range versions { // newest first
		fmt.Println(v.Number, !v.CreatedTime.IsZero(), v.DeletionTime.IsZero(), v.Destroyed)
	}

	_, err = sess.Secrets.ReadUserSecretVersion(ctx, "db", 9)
	fmt.Println(errors.Is(err, edge.ErrNotFound), err)
	// Output:
	// version 1: good
	// latest: good
	// 3 true true false
	// 2 true true false
	// 1 true true false
	// true edge: read version user secret "db": secret not found: version 9 does not exist (never written, or no longer kept)
}

// Members of an org see its history (numbers and times, never a value);
// older values and rollback are for the org's admins.
func ExampleSecretsService_ListOrgSecretVersions() {
	ctx := context.Background()
	admin, member := exampleOrgSessions()
	defer admin.Close()
	defer member.Close()
	if err := admin.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "one"}); err != nil {
		log.Fatal(err)
	}
	if err := admin.Secrets.UpdateOrgSecret(ctx, "team-db", edge.Secret{"password": "two"}); err != nil {
		log.Fatal(err)
	}

	versions, err := member.Secrets.ListOrgSecretVersions(ctx, "team-db")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(versions), versions[0].Number)
	_, err = member.Secrets.ReadOrgSecretVersion(ctx, "team-db", 1)
	fmt.Println("member reads version 1:", errors.Is(err, edge.ErrPermissionDenied))
	err = member.Secrets.RollbackOrgSecret(ctx, "team-db", 1)
	fmt.Println("member rolls back:", errors.Is(err, edge.ErrPermissionDenied))
	fmt.Println("admin rolls back:", admin.Secrets.RollbackOrgSecret(ctx, "team-db", 1))
	// Output:
	// 2 2
	// member reads version 1: true
	// member rolls back: true
	// admin rolls back: <nil>
}

// exampleOrgSessions returns sessions of an admin and of a member of a
// fresh org, as an operator would set them up with package admin.
func exampleOrgSessions() (admin, member *edge.Session) {
	t := exampletb.New()
	defer t.Done()
	vault := edgetest.Start(t)
	a, m := vault.NewUser(t), vault.NewUser(t)
	org := vault.NewOrg(t, a)
	vault.AddMember(t, org, m)
	ctx := context.Background()
	admin, err := edge.NewSession(ctx, vault.Config(a, org))
	if err != nil {
		t.Fatal(err)
	}
	member, err = edge.NewSession(ctx, vault.Config(m, org))
	if err != nil {
		t.Fatal(err)
	}
	return admin, member
}
