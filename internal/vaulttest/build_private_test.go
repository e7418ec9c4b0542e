package vaulttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// otherUID owns the files planted "by another user" (tests run as root
// can chown to it).
const otherUID = 4242

// TestCacheDirIsPrivate checks where the dev Vault is built and cached:
// the cache directory is made private (0700) or, if another user could
// write to it or owns it, refused, and a cached binary that another user
// owns or could have written is never run.
func TestCacheDirIsPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes and owners are a Unix matter")
	}
	src, ok := devvaultSourceDir()
	require.True(t, ok, "the dev Vault's source is in this checkout")
	sum := sha256.Sum256([]byte(src))

	root := os.Getuid() == 0
	tests := []struct {
		name     string
		rootOnly bool // needs chown
		setup    func(t *testing.T, cacheRoot, cacheDir, binDir, bin string)
		refused  bool
	}{
		{"missing: made private", false, func(*testing.T, string, string, string, string) {}, false},
		{"ours with mode 0755: made private", false, func(t *testing.T, _, cacheDir, binDir, _ string) {
			mkdir(t, binDir, 0o755)
			chmod(t, cacheDir, 0o755)
		}, false},
		{"world-writable", false, func(t *testing.T, _, cacheDir, _, _ string) {
			mkdir(t, cacheDir, 0o777)
		}, true},
		{"group-writable", false, func(t *testing.T, _, cacheDir, _, _ string) {
			mkdir(t, cacheDir, 0o770)
		}, true},
		{"binary's directory world-writable", false, func(t *testing.T, _, cacheDir, binDir, _ string) {
			mkdir(t, binDir, 0o777)
			chmod(t, cacheDir, 0o700)
		}, true},
		{"cache root writable by others", false, func(t *testing.T, cacheRoot, _, _, _ string) {
			chmod(t, cacheRoot, 0o777)
		}, true},
		{"another user's", true, func(t *testing.T, _, cacheDir, _, _ string) {
			mkdir(t, cacheDir, 0o755)
			require.NoError(t, os.Chown(cacheDir, otherUID, otherUID))
		}, true},
		{"planted binary world-writable", false, func(t *testing.T, _, _, binDir, bin string) {
			mkdir(t, binDir, 0o700)
			plant(t, bin, 0o777)
		}, true},
		{"planted binary of another user", true, func(t *testing.T, _, _, binDir, bin string) {
			mkdir(t, binDir, 0o700)
			plant(t, bin, 0o755)
			require.NoError(t, os.Chown(bin, otherUID, otherUID))
		}, true},
		{"planted symlink", false, func(t *testing.T, _, _, binDir, bin string) {
			mkdir(t, binDir, 0o700)
			target := filepath.Join(t.TempDir(), "elsewhere")
			plant(t, target, 0o755)
			require.NoError(t, os.Symlink(target, bin))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rootOnly && !root {
				t.Skip("chown to another user needs root")
			}
			cacheRoot := t.TempDir()
			t.Setenv("XDG_CACHE_HOME", cacheRoot)
			t.Setenv("HOME", cacheRoot)
			t.Setenv(EnvBin, "")
			cacheDir := filepath.Join(cacheRoot, "edge-devvault")
			binDir := filepath.Join(cacheDir, "src-"+hex.EncodeToString(sum[:6]))
			bin := filepath.Join(binDir, "edge-devvault")
			tt.setup(t, cacheRoot, cacheDir, binDir, bin)

			// No go command and a cancelled context: what is not refused
			// fails at the build, so no test builds anything.
			t.Setenv("PATH", t.TempDir())
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			s, err := Start(ctx, Options{})
			require.Error(t, err)
			_ = s.Close()
			_, statErr := os.Stat(filepath.Join(filepath.Dir(bin), "ran"))
			assert.True(t, errors.Is(statErr, os.ErrNotExist), "the planted binary ran")
			if tt.refused {
				assert.ErrorIs(t, err, errUnsafeCache)
				return
			}
			assert.NotErrorIs(t, err, errUnsafeCache)
			for _, dir := range []string{cacheDir, binDir} {
				fi, err := os.Stat(dir)
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), dir)
			}
		})
	}
}

// TestNoCacheDirNoSharedFallback checks that without a user cache
// directory the dev Vault is not built in (nor taken from) the shared
// temporary directory.
func TestNoCacheDirNoSharedFallback(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" || runtime.GOOS == "plan9" {
		t.Skip("the user cache directory comes from XDG_CACHE_HOME and HOME here")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	t.Setenv(EnvBin, "")
	t.Setenv("PATH", t.TempDir())
	_, _, err := devvaultBinary(context.Background())
	require.Error(t, err)
	assert.NoDirExists(t, filepath.Join(tmp, "edge-devvault"), "nothing in the shared temporary directory")
	assert.Contains(t, err.Error(), EnvBin, "the error says what to do")
}

// TestExplicitBinaryIsTheUsersChoice checks that EDGE_DEVVAULT_BIN is used
// as given, wherever it is.
func TestExplicitBinaryIsTheUsersChoice(t *testing.T) {
	dir := t.TempDir()
	chmod(t, dir, 0o777)
	bin := filepath.Join(dir, "my-devvault")
	plant(t, bin, 0o777)
	t.Setenv(EnvBin, bin)
	got, unlock, err := devvaultBinary(context.Background())
	require.NoError(t, err)
	unlock()
	assert.Equal(t, bin, got)
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o700))
	chmod(t, dir, mode)
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.Chmod(path, mode)) // whatever the umask
}

// plant writes a script at path that leaves a file "ran" next to it when
// it runs.
func plant(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	script := "#!/bin/sh\ntouch \"$(dirname \"$0\")/ran\"\n"
	require.NoError(t, os.WriteFile(path, []byte(script), 0o700))
	chmod(t, path, mode)
}
