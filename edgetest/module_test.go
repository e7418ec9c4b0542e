package edgetest_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outsideTest is the test of a module outside this repository that
// TestOutsideModule runs: edgetest's shared Vault, fresh users and an
// org, a secret written by the admin and read by the member.
const outsideTest = `package outside_test

import (
	"context"
	"testing"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

func TestMain(m *testing.M) { edgetest.Main(m) }

func TestOrgSecret(t *testing.T) {
	ctx := context.Background()
	v := edgetest.Start(t)
	carol, alice := v.NewUser(t), v.NewUser(t)
	org := v.NewOrg(t, carol)
	v.AddMember(t, org, alice)
	if err := v.Session(t, carol, org).Secrets.CreateOrgSecret(ctx, "db", edge.Secret{"password": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	s, err := v.Session(t, alice, org).Secrets.ReadOrgSecret(ctx, "db")
	if err != nil || s["password"] != "s3cret" {
		t.Fatalf("alice reads db: %v, %v", s, err)
	}
}
`

// TestOutsideModule proves that edgetest works for a user who only ran
// "go get github.com/edgesdk/edge": a module outside this repository
// requires the SDK from a module proxy (a file:// proxy holding this
// checkout's root module, zipped as the go command zips a module: without
// the nested cmd/edge-devvault module, and that module on its own, at the
// same version), and its test starts edgetest's dev Vault, which edgetest
// then installs with go install at the SDK's version. Other modules come
// from the usual proxy and module cache.
func TestOutsideModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the dev Vault from a module proxy (about a minute)")
	}
	goCmd, err := exec.LookPath("go")
	require.NoError(t, err)
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(mod, []byte("module github.com/edgesdk/edge\n")), "the repository root")

	// A version of its own for every run, removed from the module cache
	// at the end: a module version is immutable, so a cached copy of an
	// older run's would be used instead.
	version := fmt.Sprintf("v0.0.0-outside.%d", time.Now().UnixNano())
	goenv := func(name string) string {
		out, err := exec.Command(goCmd, "env", name).Output()
		require.NoError(t, err)
		return strings.TrimSpace(string(out))
	}
	modCache, upstream := goenv("GOMODCACHE"), goenv("GOPROXY")
	t.Cleanup(func() { removeFromModCache(t, modCache, version) })

	proxy := t.TempDir()
	sdkFiles := publish(t, proxy, "github.com/edgesdk/edge", version, root)
	for _, f := range sdkFiles {
		require.False(t, strings.HasPrefix(f, "cmd/edge-devvault/"), "the root module's zip leaves the nested module out: %s", f)
	}
	require.Contains(t, sdkFiles, "edgetest/edgetest.go")
	publish(t, proxy, "github.com/edgesdk/edge/cmd/edge-devvault", version, filepath.Join(root, "cmd", "edge-devvault"))

	work := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(work, "go.mod"), []byte("module example.com/outside\n\ngo 1.26\n\nrequire github.com/edgesdk/edge "+version+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(work, "outside_test.go"), []byte(outsideTest), 0o644))
	userCache := t.TempDir() // where edgetest installs the dev Vault
	env := append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+","+upstream,
		"GOSUMDB=off", // this run's versions are in no checksum database
		"GOFLAGS=-mod=mod",
		"GOWORK=off",
		"GOCACHE="+goenv("GOCACHE"), // keep the warm build cache
		"XDG_CACHE_HOME="+userCache,
		"EDGE_TEST_VAULT_ADDR=", "EDGE_TEST_VAULT_TOKEN=", "EDGE_DEVVAULT_BIN=",
	)
	run := func(args ...string) string {
		cmd := exec.Command(goCmd, args...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
	run("mod", "tidy")
	begin := time.Now()
	out := run("test", "-count=1", "-v", ".")
	t.Logf("the outside module's test took %s, the dev Vault's installation included", time.Since(begin).Round(time.Second))
	assert.Contains(t, out, "--- PASS: TestOrgSecret")
	assert.Contains(t, out, "building the dev Vault (github.com/edgesdk/edge/cmd/edge-devvault@"+version+")")
	assert.FileExists(t, filepath.Join(userCache, "edge-devvault", version, "edge-devvault"), "installed at the SDK's version")
}

// publish writes module path at version, from the directory dir, to the
// file:// module proxy at proxy, leaving out what the go command leaves
// out of a module's zip (nested modules, version control directories),
// and returns the files' paths relative to dir.
func publish(t *testing.T, proxy, path, version, dir string) []string {
	t.Helper()
	at := filepath.Join(proxy, filepath.FromSlash(path), "@v")
	require.NoError(t, os.MkdirAll(at, 0o755))
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p == dir {
				return nil
			}
			if name := d.Name(); name == ".git" || name == "vendor" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		w, err := zw.Create(path + "@" + version + "/" + rel)
		if err != nil {
			return err
		}
		files = append(files, rel)
		_, err = w.Write(b)
		return err
	})
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	info, err := json.Marshal(map[string]string{"Version": version, "Time": time.Now().UTC().Format(time.RFC3339)})
	require.NoError(t, err)
	for name, b := range map[string][]byte{"list": []byte(version + "\n"), version + ".info": info, version + ".mod": mod, version + ".zip": zbuf.Bytes()} {
		require.NoError(t, os.WriteFile(filepath.Join(at, name), b, 0o644))
	}
	return files
}

// removeFromModCache deletes this run's versions of the two modules from
// the module cache (whose directories the go command makes read-only).
func removeFromModCache(t *testing.T, modCache, version string) {
	for _, p := range []string{
		filepath.Join(modCache, "github.com", "edgesdk", "edge@"+version),
		filepath.Join(modCache, "github.com", "edgesdk", "edge", "cmd", "edge-devvault@"+version),
	} {
		_ = filepath.WalkDir(p, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
		if err := os.RemoveAll(p); err != nil {
			t.Logf("cleaning the module cache: %v", err)
		}
	}
	for _, dir := range []string{
		filepath.Join(modCache, "cache", "download", "github.com", "edgesdk", "edge", "@v"),
		filepath.Join(modCache, "cache", "download", "github.com", "edgesdk", "edge", "cmd", "edge-devvault", "@v"),
	} {
		// "list" caches the versions the proxy listed: this run's too.
		matches, _ := filepath.Glob(filepath.Join(dir, version+".*"))
		matches = append(matches, filepath.Join(dir, "list"))
		for _, m := range matches {
			_ = os.Remove(m)
		}
	}
}
