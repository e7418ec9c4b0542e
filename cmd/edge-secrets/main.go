// Command edge-secrets keeps per-user and per-org secrets in HashiCorp
// Vault (KV version 2) with the Edge SDK, github.com/edgesdk/edge: the
// twelve operations (list, read, create, update, delete and wrap, on the
// user's secrets or with --org on the org's), and verify and unwrap for
// the receiving side of a wrap.
//
// Install it with
//
//	go install github.com/edgesdk/edge/cmd/edge-secrets@latest
//
// and run "edge-secrets --help" for its commands, configuration and exit
// codes. Values and wrapping tokens come from standard input or a file,
// never from the command line; results go to standard output as JSON;
// messages and errors go to standard error, which never shows a value or
// a token.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/edgesdk/edge"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs the command line args (without the program name) and returns
// the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var cn conn
	global := globalFlagSet(&cn)
	if err := parseFlags(global, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, global)
			return ExitOK
		}
		return fail(stderr, nil, err)
	}
	rest := global.Args()
	if len(rest) == 0 {
		printUsage(stderr, global)
		return ExitUsage
	}
	if rest[0] == "help" {
		return runHelp(rest[1:], global, stdout, stderr)
	}
	cmd := lookup(rest[0])
	if cmd == nil {
		return fail(stderr, nil, usageErrorf("unknown command %s; the commands are %s", shown(rest[0]), commandNames()))
	}
	c := &call{cmd: cmd, conn: cn, stdin: stdin, stdout: stdout, stderr: stderr}
	fs := cmd.flagSet(c)
	positional, err := parseInterspersed(fs, rest[1:])
	if errors.Is(err, flag.ErrHelp) {
		printCommandHelp(stdout, cmd, fs)
		return ExitOK
	}
	if err == nil {
		err = c.check(fs, positional)
	}
	if err != nil {
		return fail(stderr, cmd, err)
	}

	timeout := c.conn.timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return fail(stderr, cmd, cmd.run(ctx, c))
}

// globalName names the global flag set.
const globalName = "edge-secrets"

// globalFlagSet returns the flags that may come before the command: the
// connection flags.
func globalFlagSet(cn *conn) *flag.FlagSet {
	global := flag.NewFlagSet(globalName, flag.ContinueOnError)
	global.SetOutput(io.Discard)
	cn.allFlags(global)
	return global
}

// flagSet returns the command's flags: --org (-o) for the scoped
// commands, its own, and the connection flags it uses.
func (cmd *command) flagSet(c *call) *flag.FlagSet {
	fs := flag.NewFlagSet("edge-secrets "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if cmd.scoped {
		const usage = "act on the org's secrets, not the user's (the org: --org-name, $EDGE_ORG or $EDGE_API_ORG)"
		fs.BoolVar(&c.org, "org", false, usage)
		fs.BoolVar(&c.org, "o", false, usage)
	}
	if cmd.flags != nil {
		cmd.flags(fs, c)
	}
	if cmd.conn != nil {
		cmd.conn(&c.conn, fs)
	} else {
		c.conn.allFlags(fs)
	}
	return fs
}

// parseInterspersed parses flags before and after the positional
// arguments (read NAME --org), and returns the positional arguments. Its
// errors are parseFlags's, which never quote the command line.
// After "--" everything is positional: edge-secrets read -- -name.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// check checks the command line, parsed by fs, before anything is read
// or sent.
func (c *call) check(fs *flag.FlagSet, positional []string) error {
	cmd := c.cmd
	switch {
	case cmd.args == "NAME" && len(positional) == 0:
		return usageErrorf("%s needs the secret's NAME", cmd.name)
	case cmd.reads != "" && len(positional) > len(strings.Fields(cmd.args)):
		takes := "no arguments"
		if cmd.args != "" {
			takes = "the " + cmd.args + " alone"
		}
		return usageErrorf("%s takes %s: the %s comes from --file or standard input, never from the command line, where other users (ps) and the shell's history would see it", cmd.name, takes, cmd.reads)
	case cmd.args == "NAME" && len(positional) > 1:
		return usageErrorf("%s takes one NAME, not %d arguments", cmd.name, len(positional))
	case cmd.args == "NAME VERSION" && len(positional) != 2:
		return usageErrorf("%s takes a NAME and a VERSION, not %d arguments", cmd.name, len(positional))
	case cmd.args == "" && len(positional) > 0:
		return usageErrorf("%s takes no arguments", cmd.name)
	case c.conn.timeout < 0:
		return usageErrorf("--timeout %v is negative", c.conn.timeout)
	case c.org && c.conn.org() == "":
		return usageErrorf("--org needs an org: set EDGE_ORG or give --org-name NAME")
	}
	versionGiven := false
	fs.Visit(func(f *flag.Flag) { versionGiven = versionGiven || f.Name == "version" })
	if versionGiven && c.version <= 0 {
		// Not quoted, as VERSION is not.
		return inputErrorf("invalid --version: a version is a whole number from 1, as history prints it; nothing was sent")
	}
	if cmd.args == "NAME VERSION" {
		n, err := strconv.Atoi(positional[1])
		if err != nil || n <= 0 {
			// Not quoted either: it may be anything.
			return inputErrorf("invalid VERSION (%d bytes): a version is a whole number from 1, as history prints it; nothing was sent", len(positional[1]))
		}
		c.version = n
	}
	if strings.HasPrefix(cmd.args, "NAME") {
		c.name = positional[0]
		if !edge.ValidName(c.name) {
			// Never quoted: it may be a value or a token typed in the
			// wrong place.
			return inputErrorf("invalid secret name (%d bytes): a name is 1 to %d ASCII letters, digits, '-' and '_'; nothing was sent", len(c.name), edge.MaxNameLength)
		}
	}
	return nil
}

// fail prints err, if any, on stderr and returns its exit code. Usage
// errors say where to find help.
func fail(stderr io.Writer, cmd *command, err error) int {
	code := exitCode(err)
	if err == nil {
		return code
	}
	prog := "edge-secrets"
	if cmd != nil {
		prog += " " + cmd.name
	}
	fmt.Fprintf(stderr, "%s: %s\n", prog, strings.TrimPrefix(err.Error(), "edge: "))
	if code == ExitUsage {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", prog)
	}
	return code
}

// shown quotes a word of the command line in a message when it looks
// like a mistyped command (a few lower-case letters and dashes), and
// otherwise gives its length only: it may be a value or a token typed in
// the wrong place.
func shown(word string) string {
	if len(word) > 0 && len(word) <= 20 && strings.Trim(word, "abcdefghijklmnopqrstuvwxyz-") == "" {
		return strconv.Quote(word)
	}
	return fmt.Sprintf("(%d bytes, not shown)", len(word))
}
