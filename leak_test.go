package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/scopes"
)

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// collidingKey is a map key whose text is the same for every value.
type collidingKey int

func (collidingKey) MarshalText() ([]byte, error) { return []byte("same"), nil }

// TestNothingLeaks drives every error path of the hostile-input and fault
// work with canary values, names and tokens, logs each error and value the
// way a service would (log and log/slog, text and JSON), and scans every
// error string, every %v, %+v and %#v of every error, and every log line
// for the canary: 0 hits. The session logs its own Debug records
// (Config.Logger) into the same scan.
func TestNothingLeaks(t *testing.T) {
	vault := edgetest.Start(t)
	ctx := context.Background()
	var logs lockedBuffer
	oldLog, oldFlags := log.Writer(), log.Flags()
	oldSlog := slog.Default()
	log.SetOutput(&logs)
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() {
		log.SetOutput(oldLog)
		log.SetFlags(oldFlags)
		slog.SetDefault(oldSlog)
	})
	jsonLogger := slog.New(slog.NewJSONHandler(&logs, nil))

	u := vault.NewUser(t)
	org := vault.NewOrg(t, u)
	debugLogger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sess, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Token: u.Token, Org: org, Mount: vault.Mount(), Logger: debugLogger})
	require.NoError(t, err)
	defer sess.Close()
	token := "hvs.LEAKCANARY" + strings.Repeat("x", 80) // a token-shaped canary
	value := func(s string) edge.Secret { return edge.Secret{"password": "LEAKCANARY-" + s} }

	// A foreign value in the envelope's field, written by another tool.
	foreign := fmt.Sprintf("/v1/%s/data/edge/users/%s/foreign", vault.Mount(), u.EntityID)
	status, body, err := rawDo(ctx, vault.Addr(), http.MethodPost, foreign, vault.RootClient(t).Token(), map[string]any{"data": map[string]any{"_edge_json": "LEAKCANARY-foreign"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, string(body))

	w, err := sess.Secrets.WrapUserSecret(ctx, "foreign")
	require.NoError(t, err)
	client, err := api.NewClient(&api.Config{Address: vault.Addr()})
	require.NoError(t, err)

	badNames := []string{token, "LEAKCANARY/../x", "a LEAKCANARY", "s.LEAKCANARY", strings.Repeat("LEAKCANARY", 40)}
	badValues := map[string]edge.Secret{
		"lone surrogate": {"v": json.RawMessage(`"LEAKCANARY\ud800"`)},
		"invalid UTF-8":  {"v": "LEAKCANARY\xff"},
		"colliding keys": {"v": map[collidingKey]string{1: "LEAKCANARY-1", 2: "LEAKCANARY-2"}},
		"NaN":            {"v": math.NaN(), "w": "LEAKCANARY"},
		"func":           {"v": func() {}, "w": "LEAKCANARY"},
		"oversize":       {"v": strings.Repeat("LEAKCANARY", edge.MaxValueSize/10+1)},
	}

	var errs []error
	collect := func(err error) {
		t.Helper()
		require.Error(t, err)
		errs = append(errs, err)
	}
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		for _, name := range badNames {
			_, err := ops.Read(ctx, name)
			collect(err)
			collect(ops.Create(ctx, name, value("create")))
			collect(ops.Update(ctx, name, value("update")))
			collect(ops.Delete(ctx, name))
			_, err = ops.Wrap(ctx, name)
			collect(err)
		}
		for _, v := range badValues {
			collect(ops.Create(ctx, "ok-name", v))
			collect(ops.Update(ctx, "ok-name", v))
		}
	}
	_, err = sess.Secrets.ReadUserSecret(ctx, "foreign")
	assert.ErrorIs(t, err, edge.ErrUndecodable)
	collect(err)
	_, err = edge.Unwrap(ctx, client, w.Token)
	assert.ErrorIs(t, err, edge.ErrUndecodable)
	collect(err)
	for _, tok := range []string{token, "LEAKCANARY", w.Token} { // w.Token is spent now
		_, err := edge.Unwrap(ctx, client, tok)
		collect(err)
		_, err = edge.LookupWrapped(ctx, client, tok)
		collect(err)
		_, err = edge.VerifyWrapped(ctx, client, tok, edge.OrgSecretOrigin("LEAKCANARY!", "LEAKCANARY/x"))
		collect(err)
	}
	for _, cfg := range []edge.Config{
		{Address: vault.Addr(), Token: token, Mount: vault.Mount()},
		{Address: vault.Addr(), Token: u.Token, Org: "LEAKCANARY!" + token, Mount: vault.Mount()},
		{Address: vault.Addr(), Token: u.Token, Mount: "LEAKCANARY/../" + token},
		{Address: vault.Addr(), Token: u.Token, Prefix: token, Mount: vault.Mount()},
	} {
		_, err := edge.NewSession(ctx, cfg)
		collect(err)
	}
	op, err := admin.New(admin.Config{Client: client, Mount: vault.Mount()})
	require.NoError(t, err)
	for _, call := range []func() error{
		func() error { return op.CreateOrg(ctx, token) },
		func() error { return op.AddMember(ctx, org, token) },
		func() error { return op.AddAdmin(ctx, token, u.EntityID) },
		func() error { _, err := op.Members(ctx, "LEAKCANARY!"); return err },
	} {
		collect(call())
	}

	// A service logs what it has: errors, the value it read, the
	// wrapped secret it made.
	good, err := sess.Secrets.WrapUserSecret(ctx, "foreign")
	require.NoError(t, err)
	secret := edge.Secret{"password": "LEAKCANARY-read", "pin": json.Number("4242")}
	for _, err := range errs {
		log.Printf("operation failed: %v", err)
		log.Printf("operation failed: %+v", err)
		slog.Error("operation failed", "err", err)
		jsonLogger.Error("operation failed", "err", err, "secret", secret, "wrapped", good)
	}
	log.Printf("read %v, wrapped %v", secret, good)
	slog.Info("read", "secret", secret, "wrapped", good, "wrapped_ptr", &good)

	hits := 0
	for _, err := range errs {
		for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(s, "LEAKCANARY") || strings.Contains(s, good.Token) || strings.Contains(s, u.Token) {
				hits++
				t.Errorf("leak in an error: %s", s)
			}
		}
	}
	out := logs.String()
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "LEAKCANARY") || strings.Contains(line, good.Token) || strings.Contains(line, u.Token) {
			hits++
			t.Errorf("leak in a log line: %s", line)
		}
	}
	require.NotEmpty(t, out)
	t.Logf("%d errors and %d log lines scanned, %d hits", len(errs), strings.Count(out, "\n"), hits)
}
