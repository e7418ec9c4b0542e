package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/edgesdk/edge"
)

func ExampleSecretsService_CreateUserSecret() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()

	err = sess.Secrets.CreateUserSecret(ctx, "github-token", edge.Secret{"token": "ghp_example", "scopes": []string{"repo"}})
	fmt.Println(err)
	// Output:
	// <nil>
}

func ExampleSecretsService_ReadUserSecret() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateUserSecret(ctx, "db", edge.Secret{"user": "app", "password": "s3cret", "port": 5432}); err != nil {
		log.Fatal(err)
	}

	s, err := sess.Secrets.ReadUserSecret(ctx, "db")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s["user"], s["password"], s["port"]) // numbers come back as json.Number
	fmt.Println(s)                                   // printing the Secret shows its keys only

	_, err = sess.Secrets.ReadUserSecret(ctx, "no-such-secret")
	fmt.Println(errors.Is(err, edge.ErrNotFound))
	// Output:
	// app s3cret 5432
	// edge.Secret{password:<redacted>, port:<redacted>, user:<redacted>}
	// true
}

func ExampleSecretsService_ListUserSecrets() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()

	names, err := sess.Secrets.ListUserSecrets(ctx)
	fmt.Printf("%q %v\n", names, err) // a user with no secrets: an empty list
	for _, name := range []string{"ssh-key", "api-key"} {
		if err := sess.Secrets.CreateUserSecret(ctx, name, edge.Secret{"v": name}); err != nil {
			log.Fatal(err)
		}
	}
	names, err = sess.Secrets.ListUserSecrets(ctx)
	fmt.Printf("%q %v\n", names, err) // sorted
	// Output:
	// [] <nil>
	// ["api-key" "ssh-key"] <nil>
}

// Update replaces the whole value; it never creates a secret.
func ExampleSecretsService_UpdateUserSecret() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k1", "note": "old"}); err != nil {
		log.Fatal(err)
	}

	if err := sess.Secrets.UpdateUserSecret(ctx, "api-key", edge.Secret{"key": "k2"}); err != nil {
		log.Fatal(err)
	}
	s, err := sess.Secrets.ReadUserSecret(ctx, "api-key")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Reveal())

	err = sess.Secrets.UpdateUserSecret(ctx, "missing", edge.Secret{"key": "k"})
	fmt.Println(errors.Is(err, edge.ErrNotFound))
	// Output:
	// map[key:k2]
	// true
}

// Delete removes every version, so the name can be created again;
// deleting a missing secret is not an error.
func ExampleSecretsService_DeleteUserSecret() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateUserSecret(ctx, "old-key", edge.Secret{"key": "k1"}); err != nil {
		log.Fatal(err)
	}

	fmt.Println(sess.Secrets.DeleteUserSecret(ctx, "old-key"))
	fmt.Println(sess.Secrets.DeleteUserSecret(ctx, "old-key"))
	fmt.Println(sess.Secrets.CreateUserSecret(ctx, "old-key", edge.Secret{"key": "k2"}))
	// Output:
	// <nil>
	// <nil>
	// <nil>
}

// Org secrets are written by the org's admins (here the session's user)
// and read by every member.
func ExampleSecretsService_CreateOrgSecret() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()

	err = sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"user": "app", "password": "s3cret"})
	fmt.Println(err)
	err = sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"user": "app", "password": "other"})
	fmt.Println(errors.Is(err, edge.ErrAlreadyExists))
	// Output:
	// <nil>
	// true
}

func ExampleSecretsService_ReadOrgSecret() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"user": "app", "password": "s3cret"}); err != nil {
		log.Fatal(err)
	}

	s, err := sess.Secrets.ReadOrgSecret(ctx, "team-db")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s["user"], s["password"])
	// Output:
	// app s3cret
}

func ExampleSecretsService_ListOrgSecrets() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	for _, name := range []string{"team-db", "deploy-key"} {
		if err := sess.Secrets.CreateOrgSecret(ctx, name, edge.Secret{"v": name}); err != nil {
			log.Fatal(err)
		}
	}

	names, err := sess.Secrets.ListOrgSecrets(ctx)
	fmt.Println(names, err)
	// Output:
	// [deploy-key team-db] <nil>
}

func ExampleSecretsService_UpdateOrgSecret() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "old"}); err != nil {
		log.Fatal(err)
	}

	// Rotate the password: the whole value is replaced.
	if err := sess.Secrets.UpdateOrgSecret(ctx, "team-db", edge.Secret{"password": "new"}); err != nil {
		log.Fatal(err)
	}
	s, err := sess.Secrets.ReadOrgSecret(ctx, "team-db")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s["password"])
	// Output:
	// new
}

func ExampleSecretsService_DeleteOrgSecret() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"}); err != nil {
		log.Fatal(err)
	}

	if err := sess.Secrets.DeleteOrgSecret(ctx, "team-db"); err != nil {
		log.Fatal(err)
	}
	_, err = sess.Secrets.ReadOrgSecret(ctx, "team-db")
	fmt.Println(errors.Is(err, edge.ErrNotFound))
	// Output:
	// true
}
