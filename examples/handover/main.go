// Command handover hands a secret from one process to another with a
// Vault response-wrapping token: the sender wraps the secret and prints
// the token, the receiver checks that the token holds the secret it
// expects and unwraps it, once. The token is the only thing that travels
// (here a pipe, in practice any channel that keeps it secret); the
// receiver needs no Vault token of its own.
//
//	handover send [-user] [-ttl 5m] NAME
//	    wraps org secret NAME of EDGE_ORG (with -user: the sender's user
//	    secret NAME), with the sender's VAULT_TOKEN (VAULT_ADDR,
//	    EDGE_KV_MOUNT as edge.NewSession reads them), and prints the token
//	    on standard output; what to tell the receiver goes to standard error.
//	handover receive (-org ORG | -user ENTITY_ID) -name NAME [-mount secret]
//	    reads a token on standard input, verifies that it holds that secret
//	    (edge.VerifyWrapped, which does not consume it), unwraps it and
//	    prints the value as JSON on standard output. Only VAULT_ADDR is used.
//
// For example, a member of org acme hands acme's team-db to a deploy job:
//
//	EDGE_ORG=acme handover send team-db | handover receive -org acme -name team-db > team-db.json
//
// Exit codes: 0 success, 1 failure, 2 usage, 7 the token is invalid
// (used, expired or unknown), 8 the token holds another secret than the
// one expected: do not use it, and tell the sender.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
)

// Exit codes.
const (
	exitOK           = 0
	exitFailure      = 1
	exitUsage        = 2
	exitInvalidToken = 7
	exitWrongSecret  = 8
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches on the subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: handover send [-user] [-ttl 5m] NAME | handover receive (-org ORG | -user ENTITY_ID) -name NAME")
		return exitUsage
	}
	var err error
	switch args[0] {
	case "send":
		fs := flag.NewFlagSet("send", flag.ContinueOnError)
		fs.SetOutput(stderr)
		user := fs.Bool("user", false, "wrap the sender's user secret instead of the org's")
		ttl := fs.Duration("ttl", 5*time.Minute, "how long the token may be redeemed")
		if fs.Parse(args[1:]) != nil || fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: handover send [-user] [-ttl 5m] NAME")
			return exitUsage
		}
		err = send(ctx, edge.Config{}, *user, fs.Arg(0), *ttl, stdout, stderr)
	case "receive":
		fs := flag.NewFlagSet("receive", flag.ContinueOnError)
		fs.SetOutput(stderr)
		org := fs.String("org", "", "the org whose secret the token should hold")
		user := fs.String("user", "", "the entity id of the user whose secret the token should hold")
		name := fs.String("name", "", "the secret's name")
		mount := fs.String("mount", edge.DefaultMount, "the KV version 2 mount")
		if fs.Parse(args[1:]) != nil || fs.NArg() != 0 || *name == "" || (*org == "") == (*user == "") {
			fmt.Fprintln(stderr, "usage: handover receive (-org ORG | -user ENTITY_ID) -name NAME [-mount secret]")
			return exitUsage
		}
		want := edge.OrgSecretOrigin(*org, *name)
		if *user != "" {
			want = edge.UserSecretOrigin(*user, *name)
		}
		want.Mount = *mount
		var client *api.Client
		client, err = api.NewClient(api.DefaultConfig()) // VAULT_ADDR, VAULT_CACERT, ...
		if err == nil {
			client.ClearToken() // the receiver needs no token: the wrapping token is all it has
			err = receive(ctx, client, want, stdin, stdout, stderr)
		}
	default:
		fmt.Fprintf(stderr, "handover: unknown command %q: send or receive\n", args[0])
		return exitUsage
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "handover:", err) // never a token or a value
	switch {
	case errors.Is(err, edge.ErrInvalidToken):
		return exitInvalidToken
	case errors.Is(err, edge.ErrWrongSecret):
		return exitWrongSecret
	}
	return exitFailure
}

// send wraps the secret name (the org's, or with user the sender's own)
// for ttl and writes the token, alone on a line, to out; what the receiver
// must be told goes to info. Empty fields of cfg come from the
// environment, as in edge.NewSession.
func send(ctx context.Context, cfg edge.Config, user bool, name string, ttl time.Duration, out, info io.Writer) error {
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		return err
	}
	defer sess.Close()
	wrap, owner, which := sess.Secrets.WrapOrgSecret, "org "+sess.Org(), "-org "+sess.Org()
	if user {
		wrap, owner, which = sess.Secrets.WrapUserSecret, "user "+sess.EntityID(), "-user "+sess.EntityID()
	}
	w, err := wrap(ctx, name, edge.WithWrapTTL(ttl))
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, w.Token); err != nil {
		return err
	}
	fmt.Fprintf(info, "wrapped secret %s of %s until %s; the receiver runs: handover receive %s -name %s\n",
		name, owner, w.ExpiresAt().Format(time.RFC3339), which, name)
	return nil
}

// receive reads a wrapping token (the first line of in), checks that it
// holds the secret want names, unwraps it and writes the value as JSON to
// out. It returns an error wrapping edge.ErrWrongSecret, without
// consuming the token, if the token holds another secret, and one
// wrapping edge.ErrInvalidToken if Vault does not know the token (used,
// expired, or never made).
func receive(ctx context.Context, client *api.Client, want edge.Origin, in io.Reader, out, info io.Writer) error {
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the token: %w", err)
	}
	token := strings.TrimSpace(line)
	if token == "" {
		return errors.New("no token on standard input")
	}
	wi, err := edge.VerifyWrapped(ctx, client, token, want)
	if err != nil {
		return err
	}
	u, err := edge.UnwrapSecret(ctx, client, token)
	if err != nil {
		return err
	}
	b, err := json.Marshal(u.Value)
	if err != nil {
		return err
	}
	fmt.Fprintf(info, "received %s secret %s (version %d, wrapped at %s)\n", want.Scope, want.Name, u.Version, wi.CreationTime.Format(time.RFC3339))
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}
