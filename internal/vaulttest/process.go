package vaulttest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// The devvault child process: start, the JSON line it prints, its exit.

func (s *Server) startChild(args, env []string) error {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("vaulttest: %w", err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return fmt.Errorf("vaulttest: %w", err)
	}

	cmd := exec.Command(s.bin, args...)
	cmd.Env = env
	// *os.File values are handed to the child as is: no copying goroutines
	// that cmd.Wait would tie to, so reading stdout cannot race with Wait.
	cmd.Stdin = stdinR
	cmd.Stdout = stdoutW
	if os.Getenv(EnvLog) == "1" {
		cmd.Stderr = io.MultiWriter(os.Stderr, s.stderr)
	} else {
		cmd.Stderr = s.stderr
	}
	err = cmd.Start()
	stdinR.Close()
	stdoutW.Close()
	if err != nil {
		stdinW.Close()
		stdoutR.Close()
		return fmt.Errorf("vaulttest: starting %s: %w", s.bin, err)
	}
	s.cmd = cmd
	s.stdin = stdinW
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	s.readStdout(stdoutR)
	return nil
}

type lineResult struct {
	line []byte
	err  error
}

// readStdout starts a goroutine that sends the first line of the child's
// stdout on s.firstLine and the later ones (answers to control commands)
// on s.replies, which it closes when stdout ends.
func (s *Server) readStdout(r *os.File) {
	first := make(chan lineResult, 1)
	replies := make(chan []byte, 16)
	s.firstLine, s.replies = first, replies
	go func() {
		defer r.Close()
		defer close(replies)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		if !sc.Scan() {
			err := sc.Err()
			if err == nil {
				err = io.EOF
			}
			first <- lineResult{err: err}
		} else {
			// A final line without newline is fine.
			first <- lineResult{line: bytes.Clone(sc.Bytes())}
			for sc.Scan() {
				select {
				case replies <- bytes.Clone(sc.Bytes()):
				default: // nobody waits for it (see control)
				}
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
}

func (s *Server) awaitReady(ctx context.Context) error {
	timer := time.NewTimer(startupTimeout)
	defer timer.Stop()

	var res lineResult
	select {
	case res = <-s.firstLine:
	case <-ctx.Done():
		s.kill()
		return fmt.Errorf("vaulttest: waiting for devvault: %w%s", context.Cause(ctx), s.stderrTail())
	case <-timer.C:
		s.kill()
		return fmt.Errorf("vaulttest: devvault did not report ready within %v%s", startupTimeout, s.stderrTail())
	}

	fail := func(format string, args ...any) error {
		s.kill()
		return fmt.Errorf("vaulttest: "+format+"%s", append(args, s.stderrTail())...)
	}
	if res.err != nil || len(bytes.TrimSpace(res.line)) == 0 {
		// stdout ended without the JSON line: the child is exiting.
		s.waitExit(10 * time.Second)
		return fail("devvault exited before it was ready (%v)", s.exitDescription())
	}
	var out output
	if err := json.Unmarshal(res.line, &out); err != nil {
		// Do not echo the line: it holds tokens.
		return fail("devvault printed an unparsable line (%d bytes): %v", len(res.line), err)
	}
	if out.Address == "" || out.RootToken == "" || out.Mount == "" {
		return fail("devvault output lacks address, root_token or mount")
	}
	s.Addr = strings.TrimRight(out.Address, "/")
	s.RootToken = out.RootToken
	s.Mount = out.Mount
	s.CACert = out.CACert
	s.ClientCert, s.ClientKey = out.ClientCert, out.ClientKey
	if s.cluster {
		if len(out.Nodes) < 2 {
			return fail("devvault -cluster output lacks nodes")
		}
		s.Nodes = nodesOf(out.Nodes)
		s.setState(s.Addr, s.Nodes)
	} else {
		s.Nodes = []Node{{Addr: s.Addr, Active: true, State: StateActive}}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.CACert != "" {
		roots, err := loadCA(s.CACert)
		if err != nil {
			return fail("%v", err)
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	}
	if s.ClientCert != "" {
		if tr.TLSClientConfig == nil {
			return fail("devvault output names a client certificate but no CA")
		}
		cert, err := tls.LoadX509KeyPair(s.ClientCert, s.ClientKey)
		if err != nil {
			return fail("loading the dev Vault's client certificate: %v", err)
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	}
	s.client = &http.Client{
		Transport: tr,
		// Report redirects instead of following them: tests look at them.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	return nil
}

// loadCA returns a pool of the certificates in the PEM file path.
func loadCA(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the dev Vault's CA certificate: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("no certificate in the dev Vault's CA file %s", path)
	}
	return roots, nil
}

// waitExit waits up to d for the child to exit and reports whether it did.
func (s *Server) waitExit(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.exited:
		return true
	case <-t.C:
		return false
	}
}

func (s *Server) kill() {
	if s.stdin != nil {
		s.stdin.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
}

func (s *Server) exitDescription() string {
	select {
	case <-s.exited:
		if s.waitErr == nil {
			return "exit status 0"
		}
		return s.waitErr.Error()
	default:
		return "still running"
	}
}

func (s *Server) stderrTail() string {
	if s.stderr == nil {
		return ""
	}
	t := strings.TrimSpace(s.stderr.String())
	if t == "" {
		return ""
	}
	return "\n--- devvault stderr (tail) ---\n" + t
}

// Close stops the devvault child (by closing its stdin, killing it if it
// does not exit within 15s) and waits for it. It is idempotent and safe on a
// nil Server; it returns an error if the child exited uncleanly.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	s.closeOnce.Do(func() {
		if s.client != nil {
			s.client.CloseIdleConnections()
		}
		if s.stdin != nil {
			s.stdin.Close()
		}
		if s.cmd == nil {
			return
		}
		if !s.waitExit(closeTimeout) {
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.closeErr = fmt.Errorf("vaulttest: devvault did not stop within %v and was killed%s", closeTimeout, s.stderrTail())
			return
		}
		if s.waitErr != nil {
			s.closeErr = fmt.Errorf("vaulttest: devvault: %v%s", s.waitErr, s.stderrTail())
		}
	})
	return s.closeErr
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
