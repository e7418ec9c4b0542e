package main

import (
	"bytes"
	"crypto/rand"
	"flag"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenShapes returns fresh strings shaped like credentials: a Vault
// service token (hvs.), an old-style one (s.) and a plain long random
// string.
func tokenShapes(t *testing.T) []string {
	t.Helper()
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	random := func(n int) string {
		b := make([]byte, n)
		_, err := rand.Read(b)
		require.NoError(t, err)
		for i := range b {
			b[i] = base62[int(b[i])%len(base62)]
		}
		return string(b)
	}
	return []string{"hvs." + random(90), "s." + random(24), random(40)}
}

// commandLine is one mistyped command line and the exit code it must
// end with (-1: any failure; the value was a valid one for the flag).
type commandLine struct {
	name string
	args []string
	code int
}

// misplacedTokens returns the command lines that put token where it does
// not belong: as the value of every flag of every command (and of the
// global flags), as an unknown flag, as a stray argument and as the
// command. The flags come from the command's own flag sets, so a new
// flag is covered without a change here.
func misplacedTokens(token string) []commandLine {
	var lines []commandLine
	flagLines := func(prefix []string, fs func() *flag.FlagSet, suffix []string) {
		fs().VisitAll(func(f *flag.Flag) {
			// A value the flag refuses is a usage error; one it takes
			// (a string) leads the command on, which fails elsewhere.
			code := -1
			if err := fs().Lookup(f.Name).Value.Set(token); err != nil {
				code = ExitUsage
			}
			forms := map[string][]string{
				"-" + f.Name + "=TOKEN":  {"-" + f.Name + "=" + token},
				"--" + f.Name + "=TOKEN": {"--" + f.Name + "=" + token},
			}
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				forms["-"+f.Name+" TOKEN"] = []string{"-" + f.Name, token}
				forms["--"+f.Name+" TOKEN"] = []string{"--" + f.Name, token}
			}
			for name, form := range forms {
				lines = append(lines, commandLine{strings.Join(with(prefix, name), " "), with(with(prefix, form...), suffix...), code})
			}
		})
	}
	unknown := func(prefix, suffix []string) {
		for _, dashes := range []string{"-", "--"} {
			lines = append(lines, commandLine{strings.Join(with(prefix, dashes+"TOKEN"), " "), with(with(prefix, dashes+token), suffix...), ExitUsage})
		}
	}

	global := func() *flag.FlagSet { return globalFlagSet(&conn{}) }
	flagLines(nil, global, []string{"list"})
	unknown(nil, []string{"list"})
	lines = append(lines, commandLine{"TOKEN as the command", []string{token}, ExitUsage})
	for _, cmd := range commands {
		// What the command needs besides, so that its flags are used.
		var rest []string
		switch {
		case cmd.args == "NAME":
			rest = []string{"s"}
		case cmd.args == "NAME VERSION":
			rest = []string{"s", "1"}
		case cmd.name == "verify":
			rest = []string{"--org", "acme", "--name", "s"}
		}
		flagLines([]string{cmd.name}, func() *flag.FlagSet { return cmd.flagSet(&call{cmd: cmd}) }, rest)
		unknown([]string{cmd.name}, rest)
		lines = append(lines, commandLine{cmd.name + " TOKEN as a stray argument", with(with([]string{cmd.name}, rest...), token), ExitUsage})
	}
	return lines
}

// TestMisplacedTokensNeverEchoed puts credential-shaped strings in every
// wrong place of the command line, for every command and every flag:
// neither stream ever shows them, and a flag error is a usage error
// that names the flag. The runs are in process, with a Vault address
// where nothing listens: nothing here needs a Vault to fail.
func TestMisplacedTokensNeverEchoed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	for k, v := range map[string]string{
		"VAULT_ADDR": closed, "VAULT_TOKEN": "hvs.the-test-token", "VAULT_MAX_RETRIES": "0",
		"VAULT_NAMESPACE": "", "VAULT_CACERT": "", "VAULT_ROLE_ID": "", "VAULT_USERNAME": "",
		"EDGE_ORG": "acme", "EDGE_API_ORG": "", "EDGE_KV_MOUNT": "",
	} {
		t.Setenv(k, v)
	}

	shapes := []string{"hvs", "s", "plain"} // tokenShapes's order
	for i, token := range tokenShapes(t) {
		for _, line := range misplacedTokens(token) {
			t.Run(shapes[i]+"/"+line.name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := run(line.args, strings.NewReader(""), &stdout, &stderr)
				t.Logf("exit %d: %s", code, strings.ReplaceAll(stderr.String(), token, "<TOKEN>"))
				if line.code >= 0 {
					assert.Equal(t, line.code, code, "stderr: %s", stderr.String())
				} else {
					assert.NotEqual(t, ExitOK, code, "stderr: %s", stderr.String())
				}
				assert.NotContains(t, stdout.String(), token, "on standard output")
				assert.NotContains(t, stderr.String(), token, "on standard error")
				// Nor any long part of it (a prefix cut off, a quote).
				assert.NotContains(t, stderr.String(), token[len(token)-16:], "on standard error")
			})
		}
	}
}

// TestFlagSetsPrintNothing: the flag package prints its errors and its
// usage to the flag set's output, which would show a mistyped token;
// every flag set discards it, and the command prints its own usage.
func TestFlagSetsPrintNothing(t *testing.T) {
	assert.Equal(t, io.Discard, globalFlagSet(&conn{}).Output(), "global")
	for _, cmd := range commands {
		assert.Equal(t, io.Discard, cmd.flagSet(&call{cmd: cmd}).Output(), cmd.name)
	}
}

// TestMisplacedTokensNeverEchoedByTheBinary runs a few of the command
// lines through the binary, whose standard error is the process's own:
// what the flag package might print itself would show here.
func TestMisplacedTokensNeverEchoedByTheBinary(t *testing.T) {
	t.Parallel()
	token := secret(tokenShapes(t)[0])
	lines := [][]string{
		{"wrap", "-with-version=" + token, "s"},
		{"list", "--timeout=" + token},
		{"list", "--timeout", token},
		{"read", "-" + token, "s"},
		{"--" + token, "whoami"},
		{"unwrap", token},
	}
	for _, args := range lines {
		r := cli(t, []string{"VAULT_ADDR=http://127.0.0.1:1"}, "", args...)
		assert.Equal(t, ExitUsage, r.code, "stderr: %s", r.stderr)
		assert.NotContains(t, r.stdout, token)
	}
}
