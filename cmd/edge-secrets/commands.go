package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/edgesdk/edge"
)

// command is one subcommand: its help, its flags and what it does.
type command struct {
	name    string
	args    string // its positional argument in the usage line: "NAME" or ""
	summary string // one line, for the command list
	about   string // what --help says first
	example string
	scoped  bool   // acts on user secrets, or with --org on the org's: takes a session
	reads   string // what it reads from standard input or --file: "value", "wrapping token" or ""
	flags   func(fs *flag.FlagSet, c *call)
	// conn registers the connection flags it uses (nil: all of them).
	conn func(cn *conn, fs *flag.FlagSet)
	run  func(ctx context.Context, c *call) error
}

// call is one run of a command: its flags, its argument and its streams.
type call struct {
	cmd    *command
	conn   conn
	name   string // the NAME argument, for commands that take one
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	version     int           // rollback's VERSION argument; read --version
	org         bool          // --org, -o: the org's secrets
	file        string        // --file: the value or the token
	json        bool          // list --json
	withVersion bool          // wrap and unwrap --with-version
	ttl         time.Duration // wrap --ttl
	userEntity  string        // verify --user-entity
	originOrg   string        // verify --org
	originName  string        // verify --name
}

func (c *call) input() input { return input{stdin: c.stdin, file: c.file, stderr: c.stderr} }

// commands are the subcommands, in the order --help lists them.
var commands []*command

func init() {
	commands = []*command{
		{
			name: "list", summary: "print the secrets' names, one a line (--json: a JSON array)",
			about: "List prints the names of the user's secrets (with --org, the org's), sorted, one a line,\n" +
				"or with --json as a JSON array. No secrets is no output (or []), not an error.",
			example: "edge-secrets list\n  edge-secrets list --org --json",
			scoped:  true,
			flags: func(fs *flag.FlagSet, c *call) {
				fs.BoolVar(&c.json, "json", false, "print a JSON array instead of one name a line")
			},
			run: runList,
		},
		{
			name: "read", args: "NAME", summary: "print the secret's value, a JSON object",
			about: "Read prints the value of the user's secret NAME (with --org, the org's) as one line of\n" +
				"JSON on standard output, numbers spelled exactly as they were written. With --version N\n" +
				"it prints version N's value (see history; org secrets: admins only); a version that\n" +
				"was deleted, destroyed or never written is exit 3.",
			example: "edge-secrets read db-password | jq -r .password\n  edge-secrets read --version 2 db-password",
			scoped:  true,
			flags: func(fs *flag.FlagSet, c *call) {
				fs.IntVar(&c.version, "version", 0, "print this version's value, a number `N` from history (default: the latest)")
			},
			run: runRead,
		},
		{
			name: "create", args: "NAME", summary: "store a new secret; the value comes from --file or standard input",
			about: "Create stores a new secret NAME for the user (with --org, for the org: admins only). Its\n" +
				"value, a JSON object, is read from --file or standard input, never from the command line.\n" +
				"Empty input, invalid JSON and JSON that is not an object are refused (exit 5) before\n" +
				"anything is sent. A name that is taken is exit 4.",
			example: "edge-secrets create db-password --file db.json\n  edge-secrets create --org team-db < team-db.json",
			scoped:  true,
			reads:   "value",
			flags:   fileFlag("read the value from this `FILE` (default: standard input)"),
			run:     runCreate,
		},
		{
			name: "update", args: "NAME", summary: "replace the secret's value; the value comes from --file or standard input",
			about: "Update replaces the whole value of the secret NAME, read as create reads it. A secret\n" +
				"that does not exist is exit 3.",
			example: "edge-secrets update db-password --file db.json",
			scoped:  true,
			reads:   "value",
			flags:   fileFlag("read the value from this `FILE` (default: standard input)"),
			run:     runUpdate,
		},
		{
			name: "delete", args: "NAME", summary: "delete the secret, every version",
			about: "Delete removes the secret NAME, every version of it, so that the name can be created\n" +
				"again. Deleting a secret that does not exist is not an error.",
			example: "edge-secrets delete db-password",
			scoped:  true,
			run:     runDelete,
		},
		{
			name: "history", args: "NAME", summary: "print the secret's versions, newest first (--json: a JSON array)",
			about: "History prints every version of the secret NAME that Vault keeps, newest first, one a\n" +
				"line: the version number, when it was written, and its state: live, deleted (with\n" +
				"when), deletion scheduled (with when; live until then) or destroyed. Never a value.\n" +
				"With --json, a JSON array of {version, created_time, deletion_time, destroyed}\n" +
				"(deletion_time null when none). Org members may see an org secret's history; reading\n" +
				"an older value (read --version) and rollback are for org admins. A secret that does\n" +
				"not exist is exit 3.",
			example: "edge-secrets history db-password\n  edge-secrets history --org --json team-db",
			scoped:  true,
			flags: func(fs *flag.FlagSet, c *call) {
				fs.BoolVar(&c.json, "json", false, "print a JSON array instead of one version a line")
			},
			run: runHistory,
		},
		{
			name: "rollback", args: "NAME VERSION", summary: "write an older version's value again, as the new latest version",
			about: "Rollback writes the value of version VERSION of the secret NAME again, as a new latest\n" +
				"version (see history; org secrets: admins only); the versions in between stay in the\n" +
				"history. It writes only if nobody else wrote the secret meanwhile: a concurrent write is\n" +
				"exit 1 (conflict, nothing written; look at history and run it again if still wanted). A\n" +
				"secret whose latest version is deleted is exit 3 (a rollback never brings it back), as\n" +
				"is a VERSION that was deleted, destroyed or never written. A lost answer that Vault\n" +
				"cannot settle is exit 10.",
			example: "edge-secrets rollback db-password 2\n  edge-secrets rollback --org team-db 7",
			scoped:  true,
			run:     runRollback,
		},
		{
			name: "wrap", args: "NAME", summary: "print a single-use wrapping token holding the value, as JSON",
			about: "Wrap asks Vault for a single-use wrapping token that holds a copy of the secret NAME's\n" +
				"value, and prints it as JSON on standard output: token, accessor, unwrap_url,\n" +
				"creation_path, creation_time, expires_at, ttl_seconds (and version, with\n" +
				"--with-version). Hand the token over secretly; the receiver runs verify, then unwrap.",
			example: "edge-secrets wrap --org --ttl 10m team-db > team-db.wrap.json",
			scoped:  true,
			flags: func(fs *flag.FlagSet, c *call) {
				fs.DurationVar(&c.ttl, "ttl", 0, "the token's lifetime, a `DURATION` such as 10m (default 5m)")
				fs.BoolVar(&c.withVersion, "with-version", false, "read which version is current and wrap that one, reported as version (users, org admins)")
			},
			run: runWrap,
		},
		{
			name: "verify", summary: "check, without using it, that a wrapping token holds the expected secret",
			about: "Verify checks, without redeeming it, that the wrapping token on standard input (or\n" +
				"--file) was made by Vault from a read of the expected secret: --user-entity ID (the\n" +
				"sender's entity id, see whoami) or --org ORG, and --name NAME. It prints what Vault\n" +
				"says of the token as JSON. A token of another secret is exit 8; an unknown, used or\n" +
				"expired one exit 7. Only the Vault address is needed, no login.",
			example: "edge-secrets verify --org acme --name team-db --file team-db.wrap.json",
			reads:   "wrapping token",
			conn: func(cn *conn, fs *flag.FlagSet) {
				cn.addrFlags(fs)
				cn.storeFlags(fs) // where the expected secret is
			},
			flags: func(fs *flag.FlagSet, c *call) {
				fileFlag("read the wrapping token (or wrap's JSON output) from this `FILE` (default: standard input)")(fs, c)
				fs.StringVar(&c.userEntity, "user-entity", "", "expect a user secret of the user with this Vault identity entity `ID`")
				fs.StringVar(&c.originOrg, "org", "", "expect an org secret of the org `ORG`")
				fs.StringVar(&c.originName, "name", "", "expect the secret `NAME`")
			},
			run: runVerify,
		},
		{
			name: "unwrap", summary: "redeem a wrapping token and print the value",
			about: "Unwrap redeems the wrapping token on standard input (or --file: the token alone, or\n" +
				"wrap's JSON output) and prints the value as JSON. A token works once: an unknown, used\n" +
				"or expired one is exit 7. Only the Vault address is needed, no login. Run verify first.",
			example: "edge-secrets unwrap --with-version --file team-db.wrap.json",
			reads:   "wrapping token",
			conn:    (*conn).addrFlags,
			flags: func(fs *flag.FlagSet, c *call) {
				fileFlag("read the wrapping token (or wrap's JSON output) from this `FILE` (default: standard input)")(fs, c)
				fs.BoolVar(&c.withVersion, "with-version", false, `print {"value": ..., "version": N, "created_time": ...}`)
			},
			run: runUnwrap,
		},
		{
			name: "whoami", summary: "print the Vault identity entity id, the org and the token's TTL left",
			about: "Whoami logs in as the other commands do and prints, as JSON, the token's Vault identity\n" +
				"entity id (what a receiver gives verify --user-entity), the org of --org commands and\n" +
				"the seconds the token has left (0: it never expires). It never prints the token.",
			example: "edge-secrets whoami",
			run:     runWhoami,
		},
	}
}

func fileFlag(usage string) func(*flag.FlagSet, *call) {
	return func(fs *flag.FlagSet, c *call) { fs.StringVar(&c.file, "file", "", usage) }
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// scope is one scope's operations, so that every command is written
// once for user and org secrets.
type scope struct {
	name   string // "user" or "org"
	org    string // the org, for org secrets
	list   func(context.Context) ([]string, error)
	read   func(context.Context, string) (edge.Secret, error)
	create func(context.Context, string, edge.Secret) error
	update func(context.Context, string, edge.Secret) error
	delete func(context.Context, string) error
	wrap   func(context.Context, string, ...edge.WrapOption) (*edge.WrappedSecret, error)

	versions    func(context.Context, string) ([]edge.SecretVersion, error)
	readVersion func(context.Context, string, int) (edge.Secret, error)
	rollback    func(context.Context, string, int) error
}

func scopeOf(sess *edge.Session, org bool) scope {
	x := sess.Secrets
	if org {
		return scope{"org", sess.Org(), x.ListOrgSecrets, x.ReadOrgSecret, x.CreateOrgSecret, x.UpdateOrgSecret, x.DeleteOrgSecret, x.WrapOrgSecret,
			x.ListOrgSecretVersions, x.ReadOrgSecretVersion, x.RollbackOrgSecret}
	}
	return scope{"user", "", x.ListUserSecrets, x.ReadUserSecret, x.CreateUserSecret, x.UpdateUserSecret, x.DeleteUserSecret, x.WrapUserSecret,
		x.ListUserSecretVersions, x.ReadUserSecretVersion, x.RollbackUserSecret}
}

// describe names a secret for messages: `user secret "db"`, or `org
// secret "db" of org acme`.
func (sc scope) describe(name string) string {
	s := sc.name + " secret " + strconv.Quote(name)
	if sc.org != "" {
		s += " of org " + sc.org
	}
	return s
}

// withSession connects, runs f on the command's scope and closes the
// session.
func (c *call) withSession(ctx context.Context, f func(sc scope) error) error {
	cn, err := c.conn.connect(ctx, c.conn.org())
	if err != nil {
		return err
	}
	defer cn.sess.Close()
	return f(scopeOf(cn.sess, c.org))
}

func runList(ctx context.Context, c *call) error {
	return c.withSession(ctx, func(sc scope) error {
		names, err := sc.list(ctx)
		if err != nil {
			return err
		}
		if c.json {
			if names == nil {
				names = []string{}
			}
			return writeJSON(c.stdout, names)
		}
		for _, n := range names {
			if _, err := fmt.Fprintln(c.stdout, n); err != nil {
				return fmt.Errorf("writing the output: %w", err)
			}
		}
		return nil
	})
}

func runRead(ctx context.Context, c *call) error {
	return c.withSession(ctx, func(sc scope) error {
		var s edge.Secret
		var err error
		if c.version != 0 {
			s, err = sc.readVersion(ctx, c.name, c.version)
		} else {
			s, err = sc.read(ctx, c.name)
		}
		if err != nil {
			return err
		}
		return writeJSON(c.stdout, s.Reveal())
	})
}

func runCreate(ctx context.Context, c *call) error { return c.write(ctx, false) }

func runUpdate(ctx context.Context, c *call) error { return c.write(ctx, true) }

// write creates (or updates) the secret. It reads the value first, and
// only then connects: refused input sends nothing, not even a login.
func (c *call) write(ctx context.Context, update bool) error {
	value, err := readValue(c.input())
	if err != nil {
		return err
	}
	return c.withSession(ctx, func(sc scope) error {
		op, done := sc.create, "created"
		if update {
			op, done = sc.update, "updated"
		}
		if err := op(ctx, c.name, value); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "%s %s\n", done, sc.describe(c.name))
		return nil
	})
}

func runDelete(ctx context.Context, c *call) error {
	return c.withSession(ctx, func(sc scope) error {
		if err := sc.delete(ctx, c.name); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "deleted %s\n", sc.describe(c.name))
		return nil
	})
}

func runHistory(ctx context.Context, c *call) error {
	return c.withSession(ctx, func(sc scope) error {
		vs, err := sc.versions(ctx, c.name)
		if err != nil {
			return err
		}
		if c.json {
			out := make([]versionOutput, len(vs))
			for i, v := range vs {
				out[i] = newVersionOutput(v)
			}
			return writeJSON(c.stdout, out)
		}
		now := time.Now()
		for _, v := range vs {
			if _, err := fmt.Fprintf(c.stdout, "%d\t%s\t%s\n", v.Number, v.CreatedTime.UTC().Format(time.RFC3339), versionState(v, now)); err != nil {
				return fmt.Errorf("writing the output: %w", err)
			}
		}
		return nil
	})
}

// versionState describes a version's state for history's lines, as of
// now (the local clock: for display only).
func versionState(v edge.SecretVersion, now time.Time) string {
	switch {
	case v.Destroyed:
		return "destroyed"
	case v.DeletionTime.IsZero():
		return "live"
	case v.DeletionTime.After(now):
		return "deletion scheduled " + v.DeletionTime.UTC().Format(time.RFC3339)
	}
	return "deleted " + v.DeletionTime.UTC().Format(time.RFC3339)
}

func runRollback(ctx context.Context, c *call) error {
	return c.withSession(ctx, func(sc scope) error {
		if err := sc.rollback(ctx, c.name, c.version); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "rolled back %s: version %d's value is now the latest version\n", sc.describe(c.name), c.version)
		return nil
	})
}

func runWrap(ctx context.Context, c *call) error {
	var opts []edge.WrapOption
	if c.ttl != 0 {
		opts = append(opts, edge.WithWrapTTL(c.ttl))
	}
	if c.withVersion {
		opts = append(opts, edge.WithWrapVersion())
	}
	return c.withSession(ctx, func(sc scope) error {
		w, err := sc.wrap(ctx, c.name, opts...)
		if err != nil {
			return err
		}
		if err := writeJSON(c.stdout, newWrapOutput(w)); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "wrapped %s: the token on standard output works once, until %s\n",
			sc.describe(c.name), w.ExpiresAt().UTC().Format(time.RFC3339))
		return nil
	})
}

func runVerify(ctx context.Context, c *call) error {
	origin := edge.Origin{Name: c.originName, Mount: c.conn.originMount(), Prefix: c.conn.originPrefix()}
	switch {
	case c.userEntity != "" && c.originOrg != "":
		return usageErrorf("give --user-entity or --org, not both")
	case c.userEntity != "":
		origin.Scope, origin.Owner = "user", c.userEntity
	case c.originOrg != "":
		origin.Scope, origin.Owner = "org", c.originOrg
	default:
		return usageErrorf("say which secret the token should hold: --user-entity ID or --org ORG, and --name NAME")
	}
	if c.originName == "" {
		return usageErrorf("say which secret the token should hold: --name NAME")
	}
	token, err := readToken(c.input())
	if err != nil {
		return err
	}
	client, err := c.conn.client()
	if err != nil {
		return err
	}
	info, err := edge.VerifyWrapped(ctx, client, token, origin)
	if err != nil {
		return err
	}
	if err := writeJSON(c.stdout, verifyOutput{
		CreationPath: info.CreationPath,
		CreationTime: info.CreationTime.UTC(),
		ExpiresAt:    info.ExpiresAt().UTC(),
		TTLSeconds:   int64(info.TTL / time.Second),
	}); err != nil {
		return err
	}
	owner := "org " + origin.Owner
	if origin.Scope == "user" {
		owner = "the user with entity id " + origin.Owner
	}
	fmt.Fprintf(c.stderr, "verified: the token holds %s secret %s of %s; it works once, until %s\n",
		origin.Scope, strconv.Quote(origin.Name), owner, info.ExpiresAt().UTC().Format(time.RFC3339))
	return nil
}

func runUnwrap(ctx context.Context, c *call) error {
	token, err := readToken(c.input())
	if err != nil {
		return err
	}
	client, err := c.conn.client()
	if err != nil {
		return err
	}
	u, err := edge.UnwrapSecret(ctx, client, token)
	if err != nil {
		return err
	}
	if !c.withVersion {
		return writeJSON(c.stdout, u.Value.Reveal())
	}
	out := unwrapOutput{Value: u.Value.Reveal(), Version: u.Version}
	if !u.CreatedTime.IsZero() {
		t := u.CreatedTime.UTC()
		out.CreatedTime = &t
	}
	return writeJSON(c.stdout, out)
}

func runWhoami(ctx context.Context, c *call) error {
	cn, err := c.conn.connect(ctx, c.conn.org())
	if err != nil {
		return err
	}
	defer cn.sess.Close()
	ttl, err := cn.tokenTTL(ctx)
	if err != nil {
		return err
	}
	return writeJSON(c.stdout, whoamiOutput{EntityID: cn.sess.EntityID(), Org: cn.sess.Org(), TTLSeconds: int64(ttl / time.Second)})
}
