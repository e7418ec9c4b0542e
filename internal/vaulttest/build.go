package vaulttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	// -v names each package as it is compiled: the progress shown while
	// a first build takes minutes. -ldflags=-s -w: no symbol table or
	// DWARF to write for a binary nobody debugs (a shorter link; compiled
	// packages are shared with any other build of devvault, as
	// -trimpath would not be).
	cmd := exec.CommandContext(ctx, goCmd, "build", "-v", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = src
	// devvault is its own module with pinned dependencies: keep it out of
	// any go.work and away from GOFLAGS meant for the caller's build.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	var out bytes.Buffer
	p := &progress{begin: time.Now(), w: os.Stderr, tty: isTerminal(os.Stderr)}
	// One writer for both: os/exec then calls it from one goroutine at a
	// time.
	w := io.MultiWriter(&out, p)
	cmd.Stdout, cmd.Stderr = w, w

	if _, err := os.Stat(bin); errors.Is(err, os.ErrNotExist) {
		p.start("building dev Vault for the first time: about 4 minutes on 2 cores with an empty Go build cache, 15 s with a warm one")
	}
	slow := time.AfterFunc(3*time.Second, func() {
		p.start("rebuilding dev Vault (its source or Go changed): up to 4 minutes")
	})
	// The number of packages the build may compile, for "n of at most
	// total"; those already in the Go build cache are not compiled.
	go p.countDeps(ctx, goCmd, src, cmd.Env)
	err = cmd.Run()
	slow.Stop()
	if err != nil {
		p.stop("")
		msg := strings.TrimSpace(out.String())
		if len(msg) > 8<<10 {
			msg = "..." + msg[len(msg)-8<<10:]
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return fmt.Errorf("vaulttest: building devvault in %s: %w\n%s", src, err, msg)
	}
	p.stop(fmt.Sprintf("dev Vault built in %s", time.Since(p.begin).Round(time.Second)))
	return nil
}

// progress shows a dev Vault build's progress on standard error once it
// is announced (a first build, or one that takes more than a few
// seconds): on one updating line when standard error is a terminal, else
// a line every 15 seconds. It counts the package names go build -v
// writes.
type progress struct {
	begin time.Time
	w     io.Writer
	tty   bool

	mu        sync.Mutex
	shown     bool // announced: progress is being shown
	compiled  int
	total     int // 0 until known
	partial   []byte
	lastLine  time.Time
	ticker    *time.Ticker
	tickerEnd chan struct{}
}

func (p *progress) start(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		return
	}
	p.shown = true
	fmt.Fprintln(p.w, "vaulttest: "+msg+"...")
	p.ticker = time.NewTicker(time.Second)
	p.tickerEnd = make(chan struct{})
	go func(t *time.Ticker, end chan struct{}) {
		for {
			select {
			case <-t.C:
				p.mu.Lock()
				p.show(false)
				p.mu.Unlock()
			case <-end:
				return
			}
		}
	}(p.ticker, p.tickerEnd)
}

// Write counts the lines go build -v writes: one per package compiled.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		if line := p.partial[:i]; len(line) > 0 && !bytes.HasPrefix(line, []byte("#")) && !bytes.ContainsAny(line, " \t") {
			p.compiled++
		}
		p.partial = p.partial[i+1:]
	}
	return len(b), nil
}

// show writes the progress line, with p.mu held: on a terminal every
// second, else every 15 seconds.
func (p *progress) show(final bool) {
	if !p.shown {
		return
	}
	if !p.tty && !final && time.Since(p.lastLine) < 15*time.Second {
		return
	}
	p.lastLine = time.Now()
	line := fmt.Sprintf("vaulttest: %d package(s) compiled", p.compiled)
	if p.total > 0 {
		line = fmt.Sprintf("vaulttest: %d of at most %d packages compiled", p.compiled, p.total)
	}
	line += fmt.Sprintf(", %s", time.Since(p.begin).Round(time.Second))
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	} else if !final {
		fmt.Fprintln(p.w, line)
	}
}

// stop ends the progress line, and writes msg if progress was shown.
func (p *progress) stop(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.shown {
		return
	}
	if p.ticker != nil {
		p.ticker.Stop()
		close(p.tickerEnd)
	}
	if p.tty {
		p.show(true)
		fmt.Fprintln(p.w)
	}
	if msg != "" {
		fmt.Fprintln(p.w, "vaulttest: "+msg)
	}
}

// countDeps learns how many packages the build links in, the standard
// library's included (they are compiled into the Go build cache too).
func (p *progress) countDeps(ctx context.Context, goCmd, src string, env []string) {
	cmd := exec.CommandContext(ctx, goCmd, "list", "-deps", ".")
	cmd.Dir = src
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return
	}
	n := 0
	for _, line := range bytes.Split(out, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
	}
	p.mu.Lock()
	p.total = n
	p.mu.Unlock()
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
