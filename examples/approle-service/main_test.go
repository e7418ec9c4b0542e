package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
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

var testDB = DBConfig{Host: "db.internal", Port: 5432, Name: "app", User: "app", Password: "db-password-123"}

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

// provision makes what an operator makes for the service: an org whose
// admin stores the database configuration, an AppRole role whose entity
// is a member of the org, and the secret id in a file only the service
// reads. member false leaves the role out of the org.
func provision(t *testing.T, member bool) (config, edgetest.AppRole) {
	t.Helper()
	v := edgetest.Start(t)
	carol := v.NewUser(t)
	org := v.NewOrg(t, carol)
	role := v.NewAppRole(t)
	if member {
		v.AddMember(t, org, role.User)
	}
	s, err := edge.SecretOf(testDB)
	require.NoError(t, err)
	require.NoError(t, v.Session(t, carol, org).Secrets.CreateOrgSecret(context.Background(), secretName, s))

	file := filepath.Join(t.TempDir(), "secret-id")
	require.NoError(t, os.WriteFile(file, []byte(role.SecretID), 0o600))
	return config{vaultAddr: v.Addr(), mount: v.Mount(), org: org, roleID: role.RoleID, secretIDFile: file, listen: "127.0.0.1:0"}, role
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

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestServiceStopsOnCancel runs the service, checks what it loaded, and
// stops it by cancelling its context.
func TestServiceStopsOnCancel(t *testing.T) {
	t.Parallel()
	cfg, role := provision(t, true)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := start(t, func(ready func(string)) error { return run(ctx, cfg, logger, ready) })

	assert.Equal(t, "ok\n", get(t, "http://"+addr+"/healthz"))
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(get(t, "http://"+addr+"/db")), &got))
	assert.Equal(t, map[string]any{"host": "db.internal", "port": 5432.0, "name": "app", "user": "app"}, got)

	cancel()
	require.NoError(t, wait(t, done))
	_, err := http.Get("http://" + addr + "/healthz")
	assert.Error(t, err, "the listener is closed")

	text := logs.String()
	assert.Contains(t, text, "entity="+role.EntityID, "logged in as the role's entity")
	assert.Contains(t, text, "shutting down")
	for _, secret := range []string{role.SecretID, role.Token, testDB.Password} {
		assert.NotContains(t, text, secret)
	}
}

// TestServiceStopsOnSignal sends the test process SIGTERM while the
// service runs with its signal handling; the service stops cleanly.
func TestServiceStopsOnSignal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM to send on Windows")
	}
	t.Parallel()
	cfg, _ := provision(t, true)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	// serveUntilSignal has registered for SIGTERM when ready is called,
	// so the signal cannot reach the test binary's default handler.
	addr, done := start(t, func(ready func(string)) error { return serveUntilSignal(cfg, logger, ready) })
	assert.Equal(t, "ok\n", get(t, "http://"+addr+"/healthz"))

	self, err := os.FindProcess(os.Getpid())
	require.NoError(t, err)
	require.NoError(t, self.Signal(syscall.SIGTERM))
	require.NoError(t, wait(t, done))
	assert.Contains(t, logs.String(), "shutting down")
}

// TestServiceNotMember: a role that is not a member of the org cannot
// load the configuration, and the service does not start.
func TestServiceNotMember(t *testing.T) {
	t.Parallel()
	cfg, _ := provision(t, false)
	err := run(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
}

// TestServiceBadSecretID: a wrong secret id is a refused login.
func TestServiceBadSecretID(t *testing.T) {
	t.Parallel()
	cfg, _ := provision(t, true)
	require.NoError(t, os.WriteFile(cfg.secretIDFile, []byte("not-the-secret-id"), 0o600))
	err := run(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"EDGE_ORG": "acme", "APPROLE_ROLE_ID": "r", "APPROLE_SECRET_ID_FILE": "/run/secrets/id"}
	cfg, err := configFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, config{org: "acme", roleID: "r", secretIDFile: "/run/secrets/id", listen: "127.0.0.1:8080"}, cfg)

	_, err = configFromEnv(func(string) string { return "" })
	assert.ErrorContains(t, err, "EDGE_ORG APPROLE_ROLE_ID APPROLE_SECRET_ID_FILE")
}

func TestDBConfigStringHidesPassword(t *testing.T) {
	assert.NotContains(t, testDB.String(), testDB.Password)
}
