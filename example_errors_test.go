package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
)

// Every error of the SDK is an *Error: match its kind with errors.Is, and
// reach its fields, or Vault's answer, with errors.As.
func ExampleError() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()

	_, err = sess.Secrets.ReadUserSecret(ctx, "missing")
	switch {
	case errors.Is(err, edge.ErrNotFound):
		fmt.Println("not found:", err)
	case errors.Is(err, edge.ErrUnavailable):
		fmt.Println("try again later:", err)
	case err != nil:
		log.Fatal(err)
	}
	var e *edge.Error
	if errors.As(err, &e) {
		fmt.Printf("op=%s scope=%s name=%s\n", e.Op, e.Scope, e.Name)
	}
	// Output:
	// not found: edge: read user secret "missing": secret not found: vault returned 404
	// op=read scope=user name=missing
}

// The printed form: the parts that are set, never a value or a token, and
// never a name that is not valid (it may be a token pasted in the wrong
// place).
func ExampleError_Error() {
	fmt.Println(&edge.Error{Op: "read", Scope: "org", Name: "team-db", Kind: edge.ErrNotFound})
	fmt.Println(&edge.Error{Op: "list", Scope: "user", Kind: edge.ErrNoEntity})
	fmt.Println(&edge.Error{Op: "create", Scope: "org", Kind: edge.ErrNoOrg})
	fmt.Println(&edge.Error{Op: "read", Scope: "user", Name: "hvs.CAESI/pasted token", Kind: edge.ErrBadEntry})
	fmt.Println(&edge.Error{Op: "new session", Kind: edge.ErrUnavailable, Err: &api.ResponseError{StatusCode: 503, Errors: []string{"Vault is sealed"}}})
	// Output:
	// edge: read org secret "team-db": secret not found
	// edge: list user secrets: token has no Vault identity entity
	// edge: create org secret: session has no org
	// edge: read user secret (invalid): bad entry
	// edge: new session: vault is unavailable: vault returned 503: Vault is sealed
}

func ExampleError_GoString() {
	err := &edge.Error{Op: "update", Scope: "user", Name: "api-key", Kind: edge.ErrConflict}
	fmt.Printf("%#v\n", err)
	// Output:
	// &edge.Error{Op:"update", Scope:"user", Name:"api-key", Kind:"too many concurrent updates", Err:""}
}

// A write whose answer was lost is ErrUnknownOutcome; when Vault was
// unavailable it matches ErrUnavailable too, so one errors.Is finds every
// "try again later".
func ExampleError_Is() {
	var err error = &edge.Error{
		Op: "create", Scope: "org", Name: "team-db",
		Kind: edge.ErrUnknownOutcome,
		Err:  &api.ResponseError{StatusCode: 502},
	}
	fmt.Println(errors.Is(err, edge.ErrUnknownOutcome))
	fmt.Println(errors.Is(err, edge.ErrUnavailable))
	fmt.Println(errors.Is(err, edge.ErrAlreadyExists))
	// Output:
	// true
	// true
	// false
}

// Unwrap exposes Vault's answer: vault/api's *api.ResponseError, with the
// HTTP status.
func ExampleError_Unwrap() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	globex, err := sess.WithOrg("globex") // an org the user is not a member of
	if err != nil {
		log.Fatal(err)
	}

	_, err = globex.Secrets.ReadOrgSecret(ctx, "team-db")
	var re *api.ResponseError
	if errors.As(err, &re) {
		fmt.Println(re.StatusCode, errors.Is(err, edge.ErrPermissionDenied))
	}
	// Output:
	// 403 true
}
