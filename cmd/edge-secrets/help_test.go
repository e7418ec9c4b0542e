package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelp prints the overview and every command's help on standard
// output, exit code 0, each with the exit code table and an example.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := ok(t, nil, "", args...)
		assert.Empty(t, r.stderr)
		for _, cmd := range commands {
			assert.Contains(t, r.stdout, "\n  "+strings.TrimSpace(cmd.name+" "+cmd.args)+" ", "the overview lists %s", cmd.name)
		}
		for _, want := range []string{"EDGE_ORG", "EDGE_KV_MOUNT", "VAULT_ROLE_ID", "VAULT_SECRET_ID_FILE", "VAULT_USERNAME", "VAULT_PASSWORD_FILE", "--org-name NAME", "--addr URL"} {
			assert.Contains(t, r.stdout, want)
		}
		assertExitTable(t, r.stdout)
	}
	for _, cmd := range commands {
		t.Run(cmd.name, func(t *testing.T) {
			for _, args := range [][]string{{cmd.name, "--help"}, {cmd.name, "-h"}, {"help", cmd.name}, {"--addr", "http://x", cmd.name, "--help"}} {
				r := ok(t, nil, "", args...)
				assert.Empty(t, r.stderr)
				assert.Contains(t, r.stdout, "Usage:\n  edge-secrets "+cmd.name)
				assert.Contains(t, r.stdout, "Example:\n  edge-secrets ")
				assert.Contains(t, r.stdout, "--addr URL")
				assertExitTable(t, r.stdout)
				if cmd.scoped {
					assert.Contains(t, r.stdout, "-o, --org ")
				}
			}
		})
	}
}

func assertExitTable(t *testing.T, help string) {
	t.Helper()
	for _, e := range exitCodes {
		assert.Contains(t, help, fmt.Sprintf("\n  %2d  %s\n", e.code, e.text), "exit code %d", e.code)
	}
}

// TestUsageErrors exits 2, as Go's flag package does, with a message on
// standard error and a pointer to the help.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	env := fx.env()
	c := canary()
	tests := []struct {
		name   string
		env    []string
		args   []string
		stderr string
	}{
		{"no command", env, nil, "Usage:"},
		{"an unknown command", env, []string{"get", "x"}, `unknown command "get"`},
		{"an unknown command that may be a secret", env, []string{"hvs." + c}, "unknown command (" + strconv.Itoa(len("hvs."+c)) + " bytes, not shown)"},
		{"--org before the command", env, []string{"--org", "list"}, "--org goes after the command"},
		{"an unknown global flag", env, []string{"--nope", "list"}, "unknown flag (not shown: it may be a value or a token typed in the wrong place); the flags here are --addr,"},
		{"an unknown flag", env, []string{"list", "--nope"}, "unknown flag (not shown: it may be a value or a token typed in the wrong place); the flags here are --addr, --json,"},
		{"--org on a command without scopes", env, []string{"whoami", "--org"}, "unknown flag (not shown"},
		{"a flag without its value", env, []string{"list", "--timeout"}, "--timeout needs a value"},
		{"a malformed flag", env, []string{"list", "---" + c}, "malformed flag (not shown"},
		{"a bad duration", env, []string{"--timeout", "soon", "list"}, "invalid value for --timeout (not shown"},
		{"a negative timeout", env, []string{"list", "--timeout", "-1s"}, "--timeout -1s is negative"},
		{"no name", env, []string{"read"}, "read needs the secret's NAME"},
		{"two names", env, []string{"read", "a", "b"}, "read takes one NAME, not 2 arguments"},
		{"an argument to list", env, []string{"list", "x"}, "list takes no arguments"},
		{"an argument to whoami", env, []string{"whoami", "x"}, "whoami takes no arguments"},
		{"--org without an org", fx.env("EDGE_ORG="), []string{"list", "--org"}, "--org needs an org: set EDGE_ORG or give --org-name NAME"},
		{"help for an unknown command", env, []string{"help", "nope"}, `unknown command "nope"`},
		{"help for two commands", env, []string{"help", "read", "list"}, "help takes one COMMAND"},
		{"two login methods", fx.env("VAULT_ROLE_ID=r", "VAULT_USERNAME=u"), []string{"list"}, "both VAULT_ROLE_ID (AppRole) and VAULT_USERNAME (userpass) are set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr := fails(t, ExitUsage, tt.env, "", tt.args...)
			assert.Contains(t, stderr, tt.stderr)
			assert.NotContains(t, stderr, c)
			if len(tt.args) > 0 {
				assert.Contains(t, stderr, "--help' for usage.")
			}
		})
	}
}

// TestRunInProcess runs run itself, as main does, for the paths that
// need no Vault.
func TestRunInProcess(t *testing.T) {
	var stdout, stderr strings.Builder
	require.Equal(t, ExitOK, run([]string{"help", "wrap"}, strings.NewReader(""), &stdout, &stderr))
	assert.Contains(t, stdout.String(), "--with-version")
	assert.Contains(t, stdout.String(), "--ttl DURATION")
	stdout.Reset()
	require.Equal(t, ExitUsage, run([]string{"create", "x", `{"a":"b"}`}, strings.NewReader(""), &stdout, &stderr))
	assert.Empty(t, stdout.String())
	assert.Contains(t, stderr.String(), "edge-secrets create: create takes the NAME alone")
	stderr.Reset()
	require.Equal(t, ExitBadEntry, run([]string{"create", "x"}, strings.NewReader("[]"), &stdout, &stderr))
	assert.Contains(t, stderr.String(), "is a JSON array, not a JSON object")
}
