// Command quickstart walks through the twelve EdgeSecrets operations and
// the access model against a real Vault, printing what happens.
//
// Without VAULT_ADDR it builds and starts the embedded dev Vault
// (cmd/edge-devvault; the first build takes 4 to 5 minutes on 2 cores) and, as
// an operator would, sets it up for Edge with package admin and the root
// token: the demo layout of org acme with admin carol and members alice
// and bob, org globex with member dave, each a userpass user holding only
// the Edge policies. It then shows the twelve operations (alice's user
// secrets, carol's org secrets), who may do what, and a wrapped handover,
// and stops the dev Vault at the end.
//
// With VAULT_ADDR set it uses that Vault as VAULT_TOKEN and EDGE_ORG (or
// EDGE_API_ORG) say, and walks through the operations that token may do.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/internal/scopes"
	"github.com/edgesdk/edge/internal/vaulttest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	if os.Getenv("VAULT_ADDR") != "" {
		fmt.Fprintln(out, "Using the Vault at VAULT_ADDR.")
		sess, err := edge.NewSession(ctx, edge.Config{})
		if err != nil {
			return err
		}
		// A name of its own, so that no secret of yours is touched.
		name := fmt.Sprintf("quickstart-%d", time.Now().UnixNano())
		p := printer{out}
		if !p.walk(ctx, "your user secrets", scopes.User(sess), name) {
			return errors.New("the walkthrough of your user secrets failed")
		}
		if sess.Org() != "" && !p.walk(ctx, "org "+sess.Org()+"'s secrets", scopes.Org(sess), name) {
			return errors.New("the walkthrough of the org's secrets failed (only org admins may write)")
		}
		return nil
	}

	fmt.Fprintln(out, "VAULT_ADDR is not set: starting the embedded dev Vault (Vault v1.14.0, in memory, 127.0.0.1).")
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	srv, err := vaulttest.Start(startCtx, vaulttest.Options{})
	if err != nil {
		return err
	}
	defer srv.Close()
	users, err := provision(startCtx, srv)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Dev Vault at %s; org acme: admin carol, members alice and bob; org globex: member dave.\n", srv.Addr)
	return demo(ctx, out, srv, users)
}

// The demo layout: four users, and two orgs with their admins and
// members.
var (
	demoUsers = []string{"alice", "bob", "carol", "dave"}
	demoOrgs  = []struct {
		name            string
		admins, members []string
	}{
		{"acme", []string{"carol"}, []string{"alice", "bob"}},
		{"globex", nil, []string{"dave"}},
	}
)

// provision sets the dev Vault up for Edge as an operator would, with
// package admin and the root token: the Edge user policy (Setup), a
// userpass user holding only that policy for each of demoUsers, and the
// orgs of demoOrgs. It returns the users, logged in, by name.
func provision(ctx context.Context, srv *vaulttest.Server) (map[string]vaulttest.User, error) {
	root, err := api.NewClient(&api.Config{Address: srv.Addr})
	if err != nil {
		return nil, err
	}
	root.SetToken(srv.RootToken)
	adm, err := admin.New(admin.Config{Client: root, Mount: srv.Mount})
	if err != nil {
		return nil, err
	}
	if err := adm.Setup(ctx); err != nil {
		return nil, fmt.Errorf("setting up Vault for Edge: %w", err)
	}
	users := map[string]vaulttest.User{}
	for _, name := range demoUsers {
		u, err := srv.NewUser(ctx, name, adm.UserPolicyName())
		if err != nil {
			return nil, err
		}
		users[name] = u
	}
	for _, org := range demoOrgs {
		if err := adm.CreateOrg(ctx, org.name); err != nil {
			return nil, err
		}
		for _, name := range org.admins {
			if err := adm.AddAdmin(ctx, org.name, users[name].EntityID); err != nil {
				return nil, fmt.Errorf("making %s an admin of %s: %w", name, org.name, err)
			}
		}
		for _, name := range org.members {
			if err := adm.AddMember(ctx, org.name, users[name].EntityID); err != nil {
				return nil, fmt.Errorf("making %s a member of %s: %w", name, org.name, err)
			}
		}
	}
	return users, nil
}

// demo shows the twelve operations and the access model on the demo
// layout.
func demo(ctx context.Context, out io.Writer, srv *vaulttest.Server, users map[string]vaulttest.User) error {
	sessions := map[string]*edge.Session{}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		sess, err := edge.NewSession(ctx, edge.Config{
			Address: srv.Addr,
			Token:   users[name].Token,
			Org:     "acme",
			Mount:   srv.Mount,
		})
		if err != nil {
			return fmt.Errorf("session for %s: %w", name, err)
		}
		sessions[name] = sess
	}
	alice, bob, carol, dave := sessions["alice"], sessions["bob"], sessions["carol"], sessions["dave"]
	p := printer{out}

	if !p.walk(ctx, "alice's user secrets", scopes.User(alice), "my-secret") || !p.walk(ctx, "acme's org secrets, as carol (admin)", scopes.Org(carol), "my-secret") {
		return errors.New("the walkthrough failed")
	}

	fmt.Fprintln(out, "\n== Who may do what (Vault enforces it) ==")
	p.step("alice creates user secret diary", alice.Secrets.CreateUserSecret(ctx, "diary", edge.Secret{"entry": "dear diary"}))
	// Through the SDK, bob's user secrets are his own: he cannot even
	// name alice's. With vault/api and his own token, he can try her path.
	_, err := bob.Secrets.ReadUserSecret(ctx, "diary")
	p.step("bob reads user secret diary (his own scope)", err)
	bobClient, err := api.NewClient(&api.Config{Address: srv.Addr})
	if err != nil {
		return err
	}
	bobClient.SetToken(users["bob"].Token)
	_, err = bobClient.Logical().ReadWithContext(ctx, srv.Mount+"/data/edge/users/"+alice.EntityID()+"/diary")
	p.step("bob reads alice's diary path with vault/api", err)

	p.step("carol creates org secret team-db", carol.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"}))
	v, err := alice.Secrets.ReadOrgSecret(ctx, "team-db")
	p.step(fmt.Sprintf("alice reads org secret team-db (%s)", fields(len(v))), err)
	p.step("alice updates org secret team-db", alice.Secrets.UpdateOrgSecret(ctx, "team-db", edge.Secret{"password": "mine"}))
	_, err = dave.Secrets.ReadOrgSecret(ctx, "team-db")
	p.step("dave (globex) reads acme's team-db", err)

	fmt.Fprintln(out, "\n== Handing a secret over with a wrapping token ==")
	w, err := carol.Secrets.WrapOrgSecret(ctx, "team-db", edge.WithWrapTTL(2*time.Minute))
	if !p.step("carol wraps team-db for two minutes", err) {
		return err
	}
	fmt.Fprintf(out, "  she sends %v\n  and the token itself, by another channel\n", w)
	receiver, err := api.NewClient(&api.Config{Address: srv.Addr})
	if err != nil {
		return err
	}
	receiver.SetToken("") // a receiver needs no Vault token of its own
	_, err = edge.VerifyWrapped(ctx, receiver, w.Token, edge.Origin{Scope: "org", Owner: "acme", Name: "team-db", Mount: srv.Mount})
	p.step("the receiver verifies it holds acme's team-db", err)
	v, err = edge.Unwrap(ctx, receiver, w.Token)
	p.step(fmt.Sprintf("the receiver unwraps it (%s)", fields(len(v))), err)
	_, err = edge.Unwrap(ctx, receiver, w.Token)
	p.step("unwrapping it a second time", err)
	return nil
}

type printer struct{ out io.Writer }

// step prints the outcome of one step, naming the SDK's error kind, and
// reports whether it succeeded.
func (p printer) step(what string, err error) bool {
	if err == nil {
		fmt.Fprintf(p.out, "  %-52s ok\n", what)
		return true
	}
	kind := "error"
	for _, k := range []struct {
		name string
		err  error
	}{
		{"ErrNotFound", edge.ErrNotFound},
		{"ErrAlreadyExists", edge.ErrAlreadyExists},
		{"ErrBadEntry", edge.ErrBadEntry},
		{"ErrPermissionDenied", edge.ErrPermissionDenied},
		{"ErrInvalidToken", edge.ErrInvalidToken},
	} {
		if errors.Is(err, k.err) {
			kind = k.name
			break
		}
	}
	var re *api.ResponseError
	if kind == "error" && errors.As(err, &re) {
		kind = fmt.Sprintf("refused by Vault (HTTP %d)", re.StatusCode)
	}
	fmt.Fprintf(p.out, "  %-52s %s\n", what, kind)
	return false
}

// walk runs the six operations of one scope on secret name, which it
// creates first and deletes at the end, and reports whether every step
// went as expected. It stops if it cannot create the secret, so that it
// never changes a secret it did not make.
func (p printer) walk(ctx context.Context, title string, ops scopes.Ops, name string) bool {
	fmt.Fprintf(p.out, "\n== %s ==\n", title)
	if !p.step("create "+name+" {secret: value}", ops.Create(ctx, name, edge.Secret{"secret": "value"})) {
		return false
	}
	p.step("create "+name+" again", ops.Create(ctx, name, edge.Secret{"secret": "again"}))
	ok := true
	names, err := ops.List(ctx)
	ok = p.step(fmt.Sprintf("list: %v", names), err) && ok
	v, err := ops.Read(ctx, name)
	ok = p.step(fmt.Sprintf("read %s: %v", name, v.Reveal()), err) && ok
	ok = p.step("update "+name+" {secret: v2}", ops.Update(ctx, name, edge.Secret{"secret": "v2"})) && ok
	v, err = ops.Read(ctx, name)
	ok = p.step(fmt.Sprintf("read %s: %v", name, v.Reveal()), err) && ok
	w, err := ops.Wrap(ctx, name)
	if p.step("wrap "+name, err) {
		fmt.Fprintf(p.out, "    %v\n    redeem with: POST %s, header X-Vault-Token\n", w, w.UnwrapURL)
	} else {
		ok = false
	}
	ok = p.step("delete "+name, ops.Delete(ctx, name)) && ok
	_, err = ops.Read(ctx, name)
	p.step("read "+name+" after delete", err)
	p.step("create ../escape", ops.Create(ctx, "../escape", edge.Secret{"x": 1}))
	return ok
}

// fields says how many fields a value has: "1 field", "2 fields".
func fields(n int) string {
	if n == 1 {
		return "1 field"
	}
	return fmt.Sprintf("%d fields", n)
}
