package vaulttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// built remembers, per process, which binary has already been built, so that
// several Start calls in one test binary run "go build" only once.
var built struct {
	mu   sync.Mutex
	path string
}

// devvaultBinary returns the devvault binary to run and a function to call
// once it has been started.
//
// Unless EDGE_DEVVAULT_BIN is set, it runs
//
//	go build -buildvcs=false -o <UserCacheDir>/edge-devvault/<hash of source dir>/devvault .
//
// in internal/devvault. "go test ./..." runs test binaries in parallel, so
// the build and the start of the binary happen under an exclusive file lock
// (build.lock next to the binary): the first process builds (about two
// minutes from a cold Go build cache), the others wait and then find the
// binary up to date (go build then takes well under a second), and no
// process can exec a binary another one is rewriting. The source directory
// hash keeps separate checkouts from rebuilding each other's binary.
func devvaultBinary(ctx context.Context) (bin string, unlock func(), err error) {
	if p := os.Getenv(EnvBin); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", nil, fmt.Errorf("vaulttest: %s: %w", EnvBin, err)
		}
		return p, func() {}, nil
	}
	src, err := devvaultSourceDir()
	if err != nil {
		return "", nil, err
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		cacheRoot = os.TempDir()
	}
	sum := sha256.Sum256([]byte(src))
	dir := filepath.Join(cacheRoot, "edge-devvault", hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("vaulttest: %w", err)
	}
	bin = filepath.Join(dir, "devvault")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}

	unlock, err = lockFile(ctx, filepath.Join(dir, "build.lock"), func() {
		fmt.Fprintln(os.Stderr, "vaulttest: waiting for another test process to build or start dev Vault...")
	})
	if err != nil {
		return "", nil, fmt.Errorf("vaulttest: locking devvault build: %w", err)
	}
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.path != bin {
		if err := goBuild(ctx, src, bin); err != nil {
			unlock()
			return "", nil, err
		}
		built.path = bin
	}
	return bin, unlock, nil
}

// devvaultSourceDir locates internal/devvault next to this package's source.
func devvaultSourceDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", fmt.Errorf("vaulttest: cannot locate the internal/devvault source (binary built with -trimpath?); set %s to a devvault binary", EnvBin)
	}
	dir := filepath.Join(filepath.Dir(file), "..", "devvault")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("vaulttest: devvault source not found (%v); set %s to a devvault binary", err, EnvBin)
	}
	return dir, nil
}

func goBuild(ctx context.Context, src, bin string) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("vaulttest: the go command is needed to build devvault (or set %s): %w", EnvBin, err)
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-buildvcs=false", "-o", bin, ".")
	cmd.Dir = src
	// devvault is its own module with pinned dependencies: keep it out of
	// any go.work and away from GOFLAGS meant for the caller's build.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out

	begin := time.Now()
	var (
		mu      sync.Mutex
		printed bool
	)
	announce := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		if !printed {
			printed = true
			fmt.Fprintln(os.Stderr, msg)
		}
	}
	if _, err := os.Stat(bin); errors.Is(err, os.ErrNotExist) {
		announce("vaulttest: building dev Vault (first time takes ~2 minutes)...")
	}
	slow := time.AfterFunc(5*time.Second, func() {
		announce("vaulttest: rebuilding dev Vault (can take ~2 minutes)...")
	})
	err = cmd.Run()
	slow.Stop()
	mu.Lock()
	wasPrinted := printed
	mu.Unlock()
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 8<<10 {
			msg = "..." + msg[len(msg)-8<<10:]
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return fmt.Errorf("vaulttest: building devvault in %s: %w\n%s", src, err, msg)
	}
	if wasPrinted {
		fmt.Fprintf(os.Stderr, "vaulttest: dev Vault built in %s\n", time.Since(begin).Round(time.Second))
	}
	return nil
}
