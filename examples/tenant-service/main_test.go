package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

func TestMain(m *testing.M) { edgetest.Main(m) }

// syncBuffer is a bytes.Buffer for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clientConfig returns the Config of a Client of v with no token of its
// own, as configFromEnv makes one: every request carries its caller's.
func clientConfig(t *testing.T, v *edgetest.Vault) edge.Config {
	t.Helper()
	rc := v.RootClient(t)
	rc.ClearToken()
	return edge.Config{Address: v.Addr(), Mount: v.Mount(), Client: rc}
}

// start runs serve in a goroutine and waits until the service is ready;
// it returns the address served and the channel of serve's result.
func start(t *testing.T, serve func(ready func(string)) error) (string, <-chan error) {
	t.Helper()
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- serve(func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		return addr, done
	case err := <-done:
		t.Fatalf("the service ended before it was ready: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the service was not ready within a minute")
	}
	return "", nil
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the service did not stop within 30s")
		return nil
	}
}

// readSecret GETs a secret from the service at addr with token and
// returns its value, requiring a 200.
func readSecret(t *testing.T, addr, path, token string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	return got
}

// TestRunServesUntilCancelled runs the whole service (run: its Client,
// its server), reads a user secret through it, and stops it by
// cancelling its context: the server and the Client close, and run
// returns nil.
func TestRunServesUntilCancelled(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	alice := v.NewUser(t)
	value := edge.Secret{"key": edgetest.UniqueName("alice-key")}
	require.NoError(t, v.Session(t, alice, "").Secrets.CreateUserSecret(context.Background(), "api-key", value))

	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := start(t, func(ready func(string)) error {
		return run(ctx, clientConfig(t, v), "127.0.0.1:0", logger, nil, ready)
	})
	assert.Equal(t, map[string]any(value), readSecret(t, addr, "/secrets/user/api-key", alice.Token))

	cancel()
	require.NoError(t, wait(t, done))
	_, err := http.Get("http://" + addr + "/secrets/user/api-key")
	assert.Error(t, err, "the listener is closed")
	text := logs.String()
	assert.Contains(t, text, "shutting down")
	assert.NotContains(t, text, alice.Token)
	assert.NotContains(t, text, value["key"])
}

// TestServeUntilSignalStopsOnSIGTERM sends the test process SIGTERM
// while the service runs with its signal handling; it stops cleanly.
func TestServeUntilSignalStopsOnSIGTERM(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM to send on Windows")
	}
	v := edgetest.Start(t)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	// serveUntilSignal has registered for SIGTERM when ready is called,
	// so the signal cannot reach the test binary's default handler.
	_, done := start(t, func(ready func(string)) error {
		return serveUntilSignal(clientConfig(t, v), "127.0.0.1:0", logger, nil, ready)
	})
	self, err := os.FindProcess(os.Getpid())
	require.NoError(t, err)
	require.NoError(t, self.Signal(syscall.SIGTERM))
	require.NoError(t, wait(t, done))
	assert.Contains(t, logs.String(), "shutting down")
}

// TestConfigFromEnvIgnoresVaultToken: the service's Client takes
// VAULT_ADDR and EDGE_KV_MOUNT from the environment, and never
// VAULT_TOKEN.
func TestConfigFromEnvIgnoresVaultToken(t *testing.T) {
	t.Setenv("VAULT_ADDR", "https://vault.example:8200")
	t.Setenv("VAULT_TOKEN", "hvs.service-token-never-used")
	cfg, err := configFromEnv()
	require.NoError(t, err)
	require.NotNil(t, cfg.Client)
	assert.Equal(t, "https://vault.example:8200", cfg.Client.Address())
	assert.Empty(t, cfg.Client.Token())
	assert.Empty(t, cfg.Token)
}
