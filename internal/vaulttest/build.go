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
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// The dev Vault's module, and the SDK's, whose version it shares.
const (
	devvaultModule = "github.com/edgesdk/edge/cmd/edge-devvault"
	sdkModule      = "github.com/edgesdk/edge"
)

// built remembers, per process, which binary has already been built, so that
// several Start calls in one test binary run "go build" only once.
var built struct {
	mu   sync.Mutex
	path string
}

// devvaultBinary returns the edge-devvault binary to run and a function
// to call once it has been started. In order:
//
//   - EDGE_DEVVAULT_BIN, if set, as it is (the user's choice);
//   - inside a checkout of the SDK (cmd/edge-devvault next to this
//     package's source, as in this repository or with a replace
//     directive pointing at a checkout): go build there, into
//     <UserCacheDir>/edge-devvault/src-<hash of the source dir>/, so that a
//     change to the source rebuilds it;
//   - otherwise, as for a module that requires github.com/edgesdk/edge
//     from the module proxy (whose zip leaves the nested dev Vault module
//     out): go install github.com/edgesdk/edge/cmd/edge-devvault at the
//     SDK's own version (read from the test binary's build information)
//     into <UserCacheDir>/edge-devvault/<version>/, once: a published
//     version never changes. Releases tag both modules (vX.Y.Z and
//     cmd/edge-devvault/vX.Y.Z); a pseudo-version installs the same
//     commit.
//
// The cache directory is private, and a cached binary runs only if it is
// the user's own and nobody else could have written it (cachedir.go);
// anything else is refused with an error wrapping errUnsafeCache.
//
// "go test ./..." runs test binaries in parallel, so the build and the
// start of the binary happen under an exclusive file lock (build.lock
// next to the binary): the first process builds (about four minutes from
// a cold Go build cache on 2 cores), the others wait and then find the
// binary up to date, and no process can exec a binary another one is
// rewriting.
func devvaultBinary(ctx context.Context) (bin string, unlock func(), err error) {
	if p := os.Getenv(EnvBin); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", nil, fmt.Errorf("vaulttest: %s: %w", EnvBin, err)
		}
		return p, func() {}, nil
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		// Never a shared directory such as os.TempDir(): see cachedir.go.
		// The go command needs the user cache directory too (GOCACHE).
		return "", nil, fmt.Errorf("vaulttest: no user cache directory to build the dev Vault in: %w; set XDG_CACHE_HOME or HOME, or %s to an edge-devvault binary", err, EnvBin)
	}
	cacheDir := filepath.Join(cacheRoot, "edge-devvault")
	var b builder
	if src, ok := devvaultSourceDir(); ok {
		sum := sha256.Sum256([]byte(src))
		b = builder{dir: src, binDir: filepath.Join(cacheDir, "src-"+hex.EncodeToString(sum[:6]))}
	} else {
		query, err := devvaultVersion()
		if err != nil {
			return "", nil, err
		}
		binDir := filepath.Join(cacheDir, query)
		b = builder{dir: binDir, binDir: binDir, pkg: devvaultModule + "@" + query}
	}
	if err := privateBuildDir(cacheRoot, cacheDir, b.binDir); err != nil {
		return "", nil, err
	}
	bin = filepath.Join(b.binDir, "edge-devvault")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	// Before anything runs or reuses it; again after a build.
	if err := checkCachedBinary(bin); err != nil {
		return "", nil, err
	}

	unlock, err = lockFile(ctx, filepath.Join(b.binDir, "build.lock"), func() {
		fmt.Fprintln(os.Stderr, "vaulttest: waiting for another test process to build or start the dev Vault...")
	})
	if err != nil {
		return "", nil, fmt.Errorf("vaulttest: locking the dev Vault build: %w", err)
	}
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.path != bin {
		// A published version never changes: install it only once.
		if _, err := os.Stat(bin); b.pkg == "" || err != nil {
			if err := b.run(ctx, bin); err != nil {
				unlock()
				return "", nil, err
			}
			// Whatever the umask: only its owner writes it.
			if err := os.Chmod(bin, 0o700); err != nil {
				unlock()
				return "", nil, fmt.Errorf("vaulttest: %w", err)
			}
		}
		built.path = bin
	}
	if err := checkCachedBinary(bin); err != nil {
		unlock()
		return "", nil, err
	}
	return bin, unlock, nil
}

// devvaultSourceDir locates cmd/edge-devvault of the SDK checkout this
// package was compiled from, if there is one.
func devvaultSourceDir() (string, bool) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", false // built with -trimpath
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "cmd", "edge-devvault")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", false
	}
	return filepath.Clean(dir), true
}

// pseudoVersion matches a pseudo-version's timestamp and revision.
var pseudoVersion = regexp.MustCompile(`[.-](\d{14})-([0-9a-f]{12})(\+incompatible)?$`)

// devvaultVersion returns the version of edge-devvault to install: the
// SDK's version (the commit, for a pseudo-version), read from the path
// of this package's source in the module cache (a test binary's build
// information lists no dependencies, golang/go#33976), else from the
// build information.
func devvaultVersion() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		if v, ok := sourceVersion(file); ok {
			return query(v), nil
		}
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", fmt.Errorf("vaulttest: no build information to learn the SDK's version from; set %s to an edge-devvault binary", EnvBin)
	}
	return versionQuery(bi)
}

// sourceVersion returns the SDK's version in file, the path of a source
// file of the SDK in the module cache (<GOMODCACHE>/github.com/edgesdk/edge@<version>/...,
// or with -trimpath github.com/edgesdk/edge@<version>/...).
func sourceVersion(file string) (string, bool) {
	file = filepath.ToSlash(file)
	const at = sdkModule + "@"
	i := strings.LastIndex(file, at)
	if i < 0 || (i > 0 && file[i-1] != '/') {
		return "", false
	}
	v, _, ok := strings.Cut(file[i+len(at):], "/")
	if !ok || v == "" {
		return "", false
	}
	// The module cache writes an upper case letter as '!' and its lower
	// case.
	var b strings.Builder
	for j := 0; j < len(v); j++ {
		if v[j] == '!' && j+1 < len(v) {
			j++
			b.WriteString(strings.ToUpper(v[j : j+1]))
			continue
		}
		b.WriteByte(v[j])
	}
	return b.String(), true
}

// query returns the go install query for the SDK's version v.
func query(v string) string {
	if p := pseudoVersion.FindStringSubmatch(v); p != nil {
		return p[2] // the nested module's pseudo-version differs; the commit is the same
	}
	return v
}

func versionQuery(bi *debug.BuildInfo) (string, error) {
	m := &bi.Main
	if m.Path != sdkModule {
		m = nil
		for _, d := range bi.Deps {
			if d.Path == sdkModule {
				m = d
				if d.Replace != nil {
					m = d.Replace
				}
				break
			}
		}
	}
	hint := fmt.Sprintf("set %s to an edge-devvault binary (go install %s@<the SDK's version>), or EDGE_TEST_VAULT_ADDR and EDGE_TEST_VAULT_TOKEN to a Vault of your own", EnvBin, devvaultModule)
	switch {
	case m == nil:
		return "", fmt.Errorf("vaulttest: %s is not in the build information; %s", sdkModule, hint)
	case m.Version == "" && m.Path != sdkModule:
		return "", fmt.Errorf("vaulttest: %s is replaced by the directory %s, which has no cmd/edge-devvault (or this binary was built with -trimpath); %s", sdkModule, m.Path, hint)
	case m.Path != sdkModule:
		return "", fmt.Errorf("vaulttest: %s is replaced by %s, whose dev Vault cannot be located; %s", sdkModule, m.Path, hint)
	case m.Version == "" || m.Version == "(devel)":
		return "", fmt.Errorf("vaulttest: %s has no version in the build information (a local copy without cmd/edge-devvault?); %s", sdkModule, hint)
	}
	return query(m.Version), nil
}

// builder runs the go command that builds edge-devvault: go build in
// the source directory dir, or, with pkg set, go install pkg.
type builder struct {
	dir    string // working directory of the go command
	binDir string // where the binary goes
	pkg    string // module@version to install; "" to build dir's source
}

func (b builder) run(ctx context.Context, bin string) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("vaulttest: the go command is needed to build the dev Vault (or set %s): %w", EnvBin, err)
	}
	// -v names each package as it is compiled: the progress shown while
	// a first build takes minutes. -ldflags=-s -w: no symbol table or
	// DWARF to write for a binary nobody debugs (a shorter link; compiled
	// packages are shared with any other build of the dev Vault, as
	// -trimpath would not be).
	flags := []string{"-v", "-buildvcs=false", "-ldflags=-s -w"}
	args, src := append(append([]string{"build"}, flags...), "-o", bin, "."), b.dir
	if b.pkg != "" {
		args, src = append(append([]string{"install"}, flags...), b.pkg), b.pkg
	}
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = b.dir
	// The dev Vault is its own module with pinned dependencies: keep it
	// out of any go.work and away from GOFLAGS meant for the caller's
	// build. go install puts the binary in GOBIN.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOBIN="+b.binDir)
	var out bytes.Buffer
	p := &progress{begin: time.Now(), w: os.Stderr, tty: isTerminal(os.Stderr)}
	// One writer for both: os/exec then calls it from one goroutine at a
	// time.
	w := io.MultiWriter(&out, p)
	cmd.Stdout, cmd.Stderr = w, w

	if _, err := os.Stat(bin); errors.Is(err, os.ErrNotExist) {
		p.start("building the dev Vault (" + src + ") for the first time: 4 to 5 minutes on 2 cores with an empty Go build cache, 15 s with a warm one")
	}
	slow := time.AfterFunc(3*time.Second, func() {
		p.start("rebuilding the dev Vault (its source or Go changed): up to 5 minutes")
	})
	if b.pkg == "" {
		// The number of packages the build may compile, for "n of at
		// most total"; those already in the Go build cache are not
		// compiled.
		go p.countDeps(ctx, goCmd, b.dir, cmd.Env)
	}
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
		return fmt.Errorf("vaulttest: building the dev Vault (%s): %w\n%s", src, err, msg)
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
