package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// connectionFlags are the flags that may come before or after the
// command.
var connectionFlags = map[string]bool{"addr": true, "timeout": true, "org-name": true, "mount": true, "prefix": true}

const overview = `edge-secrets keeps per-user and per-org secrets in HashiCorp Vault (KV v2),
with the Edge SDK (github.com/edgesdk/edge).

Usage:
  edge-secrets [global flags] COMMAND [flags] [NAME]

Secrets (the user's own; with --org or -o, the org's):
%s
Receiving a wrapped secret (only the Vault address is needed, no login):
%s
Other:
%s  help [COMMAND]    print this help, or a command's

Global flags (also accepted after COMMAND):
%s
Environment:
  VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, VAULT_NAMESPACE, VAULT_CLIENT_TIMEOUT,
  VAULT_MAX_RETRIES, ...     vault/api's environment (VAULT_WRAP_TTL is ignored)
  EDGE_ORG, else EDGE_API_ORG    the org of --org commands (--org-name overrides)
  EDGE_KV_MOUNT                  the KV v2 mount (--mount overrides; default secret)
  VAULT_ROLE_ID with VAULT_SECRET_ID or VAULT_SECRET_ID_FILE
                                 log in with AppRole (at VAULT_APPROLE_MOUNT, default approle)
  VAULT_USERNAME with VAULT_PASSWORD or VAULT_PASSWORD_FILE
                                 log in with userpass (at VAULT_USERPASS_MOUNT, default userpass)
  Without VAULT_ROLE_ID or VAULT_USERNAME, VAULT_TOKEN is used as it is.

Values (a JSON object) and wrapping tokens are read from standard input or
--file, never from the command line, where other users (ps) and the shell's
history would see them. Results go to standard output as JSON (list: one name
a line); messages and errors go to standard error, which never shows a value
or a token.

%s
Run 'edge-secrets COMMAND --help' for a command's flags and an example.
`

// printUsage prints the overview: commands, global flags, environment
// and exit codes.
func printUsage(w io.Writer, global *flag.FlagSet) {
	var groups [3]strings.Builder
	for _, c := range commands {
		g := &groups[0]
		switch c.name {
		case "verify", "unwrap":
			g = &groups[1]
		case "whoami":
			g = &groups[2]
		}
		fmt.Fprintf(g, "  %-17s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	var flags strings.Builder
	printFlags(&flags, global, func(string) bool { return true })
	fmt.Fprintf(w, overview, groups[0].String(), groups[1].String(), groups[2].String(), flags.String(), exitTable())
}

// printCommandHelp prints one command's help.
func printCommandHelp(w io.Writer, cmd *command, fs *flag.FlagSet) {
	usage := "edge-secrets " + cmd.name
	if cmd.scoped {
		usage += " [--org]"
	}
	usage += " [flags]"
	if cmd.args != "" {
		usage += " " + cmd.args
	}
	fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n\nFlags:\n", usage, cmd.about)
	printFlags(w, fs, func(name string) bool { return !connectionFlags[name] })
	fmt.Fprintf(w, "\nConnection flags (also accepted before %s):\n", cmd.name)
	printFlags(w, fs, func(name string) bool { return connectionFlags[name] })
	fmt.Fprintf(w, "\nExample:\n  %s\n\n%s", cmd.example, exitTable())
}

// printFlags prints the flags of fs that keep accepts, with two dashes,
// -o beside --org.
func printFlags(w io.Writer, fs *flag.FlagSet, keep func(string) bool) {
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "o" || !keep(f.Name) {
			return
		}
		arg, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if f.Name == "org" && fs.Lookup("o") != nil {
			left = "-o, --org"
		}
		if arg != "" {
			left += " " + arg
		}
		fmt.Fprintf(w, "  %-22s %s\n", left, usage)
	})
}

// exitTable is the exit code table of the help texts.
func exitTable() string {
	var b strings.Builder
	b.WriteString("Exit status:\n")
	for _, e := range exitCodes {
		fmt.Fprintf(&b, "  %2d  %s\n", e.code, e.text)
	}
	return b.String()
}

// runHelp runs "edge-secrets help [COMMAND]".
func runHelp(args []string, global *flag.FlagSet, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		printUsage(stdout, global)
		return ExitOK
	case len(args) > 1:
		return fail(stderr, nil, usageErrorf("help takes one COMMAND"))
	}
	cmd := lookup(args[0])
	if cmd == nil {
		return fail(stderr, nil, usageErrorf("unknown command %s; the commands are %s", shown(args[0]), commandNames()))
	}
	printCommandHelp(stdout, cmd, cmd.flagSet(&call{}))
	return ExitOK
}

func commandNames() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}
