package vaulttest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProgress(t *testing.T) {
	var out bytes.Buffer
	p := &progress{begin: time.Now(), w: &out}
	_, _ = p.Write([]byte("github.com/a/b\ngithub.com/a/c\n# github.com/a/d\nerror text here\ngithub.com/a/"))
	p.stop("not shown: never announced")
	assert.Empty(t, out.String(), "nothing until announced")
	assert.Equal(t, 2, p.compiled, "package lines only")

	p.start("building")
	_, _ = p.Write([]byte("e\n"))
	p.mu.Lock()
	p.total = 10
	p.show(false)
	p.mu.Unlock()
	p.stop("built")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Equal(t, "vaulttest: building...", lines[0])
	assert.Contains(t, lines[1], "vaulttest: 3 of at most 10 packages compiled, ")
	assert.Equal(t, "vaulttest: built", lines[len(lines)-1])

	out.Reset()
	tty := &progress{begin: time.Now(), w: &out, tty: true}
	tty.start("building")
	_, _ = tty.Write([]byte("x\n"))
	tty.stop("built")
	assert.Contains(t, out.String(), "\rvaulttest: 1 package(s) compiled")
	assert.True(t, strings.HasSuffix(out.String(), "\x1b[K\nvaulttest: built\n"), "%q", out.String())
}

var update = flag.Bool("update", false, "rewrite wire.go from cmd/edge-devvault/wire.go")

// TestWire checks that wire.go is cmd/edge-devvault/wire.go with its
// package clause changed: one definition of the JSON both ends speak,
// across the module boundary that keeps Vault's server code out of the
// SDK. With -update it rewrites wire.go.
func TestWire(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "cmd", "edge-devvault", "wire.go"))
	require.NoError(t, err)
	const header = "// Code generated from cmd/edge-devvault/wire.go by \"go test -run TestWire -update\"; DO NOT EDIT.\n\n"
	want := header + strings.Replace(string(src), "package main\n", "package vaulttest\n", 1)
	if *update {
		require.NoError(t, os.WriteFile("wire.go", []byte(want), 0o644))
	}
	got, err := os.ReadFile("wire.go")
	require.NoError(t, err)
	assert.Equal(t, want, string(got), "wire.go is stale: go test ./internal/vaulttest -run TestWire -update")
}

// TestVersionQuery checks which dev Vault version a binary outside this
// repository installs: the SDK's own.
func TestVersionQuery(t *testing.T) {
	sdk := func(version string, replace *debug.Module) *debug.BuildInfo {
		return &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/app", Version: "(devel)"},
			Deps: []*debug.Module{
				{Path: "github.com/stretchr/testify", Version: "v1.11.1"},
				{Path: sdkModule, Version: version, Replace: replace},
			},
		}
	}
	tests := []struct {
		name    string
		bi      *debug.BuildInfo
		want    string
		wantErr string
	}{
		{"release", sdk("v1.4.2", nil), "v1.4.2", ""},
		{"prerelease", sdk("v1.5.0-rc.1", nil), "v1.5.0-rc.1", ""},
		{"pseudo-version", sdk("v0.0.0-20261129220000-0123456789ab", nil), "0123456789ab", ""},
		{"pseudo-version after a tag", sdk("v1.4.3-0.20261129220000-0123456789ab", nil), "0123456789ab", ""},
		{"pseudo-version after a prerelease", sdk("v1.5.0-rc.1.0.20261129220000-0123456789ab", nil), "0123456789ab", ""},
		{"replaced by a version", sdk("v1.4.2", &debug.Module{Path: sdkModule, Version: "v1.4.1"}), "v1.4.1", ""},
		{"replaced by a fork", sdk("v1.4.2", &debug.Module{Path: "example.com/fork", Version: "v1.4.1"}), "", "replaced by example.com/fork"},
		{"replaced by a directory", sdk("v1.4.2", &debug.Module{Path: "../edge"}), "", "replaced by the directory ../edge"},
		{"the SDK itself", &debug.BuildInfo{Main: debug.Module{Path: sdkModule, Version: "v1.4.2"}}, "v1.4.2", ""},
		{"the SDK itself, from source", &debug.BuildInfo{Main: debug.Module{Path: sdkModule, Version: "(devel)"}}, "", "no version"},
		{"no SDK", &debug.BuildInfo{Main: debug.Module{Path: "example.com/app"}}, "", "not in the build information"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := versionQuery(tt.bi)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), EnvBin, "the error says what to do")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestSourceVersion checks that the SDK's version is read from the path of
// its source in the module cache, as in a test binary of a module that
// requires the SDK.
func TestSourceVersion(t *testing.T) {
	tests := []struct {
		file, want string
		ok         bool
	}{
		{"/home/u/go/pkg/mod/github.com/edgesdk/edge@v1.4.2/internal/vaulttest/build.go", "v1.4.2", true},
		{"github.com/edgesdk/edge@v1.4.2/internal/vaulttest/build.go", "v1.4.2", true}, // -trimpath
		{"/m/github.com/edgesdk/edge@v1.5.0-!r!c.1/internal/vaulttest/build.go", "v1.5.0-RC.1", true},
		{"/m/github.com/edgesdk/edge@v0.0.0-20261129220000-0123456789ab/internal/vaulttest/build.go", "v0.0.0-20261129220000-0123456789ab", true},
		{"/work/edge/internal/vaulttest/build.go", "", false}, // a checkout
		{"/m/github.com/edgesdk/edge-fork@v1.0.0/internal/vaulttest/build.go", "", false},
	}
	for _, tt := range tests {
		got, ok := sourceVersion(tt.file)
		assert.Equal(t, tt.ok, ok, tt.file)
		assert.Equal(t, tt.want, got, tt.file)
	}
	assert.Equal(t, "0123456789ab", query("v0.0.0-20261129220000-0123456789ab"))
	assert.Equal(t, "v1.4.2", query("v1.4.2"))
}
