package edge_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/userpass"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/scopes"
)

// recordLog is a slog handler that keeps every record, for tests.
type recordLog struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordLog) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *recordLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordLog) WithGroup(string) slog.Handler      { return h }

// count returns how many records have message msg.
func (h *recordLog) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if r.Message == msg {
			n++
		}
	}
	return n
}

// all returns a copy of the records.
func (h *recordLog) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.records...)
}

func randomHex(t testing.TB) string {
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// rootDo sends one request to Vault with the root token and requires a
// 2xx answer.
func rootDo(t testing.TB, method, path string, body any) []byte {
	t.Helper()
	vault := edgetest.Start(t)
	status, resp, err := rawDo(context.Background(), vault.Addr(), method, path, vault.RootClient(t).Token(), body)
	require.NoError(t, err)
	require.True(t, status/100 == 2, "%s %s: %d %s", method, path, status, resp)
	return resp
}

var approleOnce sync.Once

// approleAuth makes an AppRole role holding the Edge user policy, whose
// tokens live ttl and at most maxTTL, and returns an auth method for it
// and the role's name.
func approleAuth(t testing.TB, ttl, maxTTL time.Duration) (*approle.AppRoleAuth, string) {
	t.Helper()
	vault := edgetest.Start(t)
	approleOnce.Do(func() { // the external-Vault mode does not enable it
		status, _, err := rawDo(context.Background(), vault.Addr(), http.MethodPost, "/v1/sys/auth/approle", vault.RootClient(t).Token(), map[string]any{"type": "approle"})
		require.NoError(t, err)
		require.True(t, status/100 == 2 || status == 400, "enabling approle: %d", status) // 400: already enabled
	})
	role := edgetest.UniqueName("role")
	rootDo(t, http.MethodPost, "/v1/auth/approle/role/"+role, map[string]any{
		"token_policies": []string{vault.Admin().UserPolicyName()},
		"token_ttl":      int(ttl.Seconds()), "token_max_ttl": int(maxTTL.Seconds()),
	})
	var roleID, secretID struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(rootDo(t, http.MethodGet, "/v1/auth/approle/role/"+role+"/role-id", nil), &roleID))
	require.NoError(t, json.Unmarshal(rootDo(t, http.MethodPost, "/v1/auth/approle/role/"+role+"/secret-id", nil), &secretID))
	a, err := approle.NewAppRoleAuth(roleID.Data["role_id"].(string), &approle.SecretID{FromString: secretID.Data["secret_id"].(string)})
	require.NoError(t, err)
	return a, role
}

// userpassAuth makes a userpass user holding the Edge user policy, whose
// tokens live ttl and at most maxTTL, and returns an auth method for it
// and the user's name.
func userpassAuth(t testing.TB, ttl, maxTTL time.Duration) (*userpass.UserpassAuth, string) {
	t.Helper()
	vault := edgetest.Start(t)
	name, password := edgetest.UniqueName("up"), randomHex(t)
	rootDo(t, http.MethodPost, "/v1/auth/userpass/users/"+name, map[string]any{
		"password": password, "token_policies": []string{vault.Admin().UserPolicyName()},
		"token_ttl": int(ttl.Seconds()), "token_max_ttl": int(maxTTL.Seconds()),
	})
	a, err := userpass.NewUserpassAuth(name, &userpass.Password{FromString: password})
	require.NoError(t, err)
	return a, name
}

// authSession makes a session that logs in with method, and an org the
// session's user administers.
func authSession(t testing.TB, method api.AuthMethod, logger *slog.Logger) *edge.Session {
	t.Helper()
	vault := edgetest.Start(t)
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Auth: method, Mount: vault.Mount(), Logger: logger})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sess.Close() })
	org := vault.NewOrg(t)
	require.NoError(t, vault.Admin().AddAdmin(ctx, org, sess.EntityID()))
	s, err := sess.WithOrg(org)
	require.NoError(t, err)
	return s
}

// TestAuthKeepsTokenAlive: AppRole and userpass logins whose tokens live 2
// s and at most 4 s; one session reads and writes continuously (both
// scopes) with 0 errors, renewing and logging in again as the TTLs imply.
// Once the session has logged in again at the max TTL, its token is
// revoked under it, and it logs in again and carries on. The run ends on
// events, not on a timer: when the session has renewed its token 3 times
// and replaced it 3 times, at least once at the max TTL and once after
// the revocation (7 to 11 s; it ran 15 s before, asking the same), and
// fails if that takes longer than maxRun.
func TestAuthKeepsTokenAlive(t *testing.T) {
	t.Parallel()
	const (
		ttl, maxTTL = 2 * time.Second, 4 * time.Second
		maxRun      = 30 * time.Second
	)
	type method struct {
		name   string
		make   func(t testing.TB) api.AuthMethod
		revoke string // lease prefix that revokes every token of the login
	}
	var user string
	methods := []method{
		{"approle", func(t testing.TB) api.AuthMethod {
			a, _ := approleAuth(t, ttl, maxTTL)
			return a
		}, "auth/approle/login"},
		{"userpass", func(t testing.TB) api.AuthMethod {
			a, u := userpassAuth(t, ttl, maxTTL)
			user = u
			return a
		}, "auth/userpass/login/"},
	}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			logs := &recordLog{}
			sess := authSession(t, m.make(t), slog.New(logs))
			prefix := m.revoke
			if m.name == "userpass" {
				prefix += user
			}
			ctx := context.Background()
			var ops, failures atomic.Int64
			var revoked atomic.Bool
			start := time.Now()
			counts := func() (renewals, relogins, recovered int) {
				return logs.count("edge: token renewed"), logs.count("edge: logged in again"),
					logs.count("edge: vault no longer knows the token; logging in again")
			}
			done := func() bool {
				renewals, relogins, recovered := counts()
				return revoked.Load() && recovered >= 1 && relogins >= 1 && relogins+recovered >= 3 && renewals >= 3
			}
			var stop atomic.Bool
			var wg sync.WaitGroup
			for w := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					scope := scopes.User(sess)
					if w == 1 {
						scope = scopes.Org(sess)
					}
					for i := 0; !stop.Load(); i++ {
						name := fmt.Sprintf("alive-%d", i%5)
						err := scope.Create(ctx, name, edge.Secret{"i": i})
						if err == nil {
							_, err = scope.Read(ctx, name)
						}
						if err == nil {
							err = scope.Update(ctx, name, edge.Secret{"i": i + 1})
						}
						if err == nil {
							_, err = scope.List(ctx)
						}
						if err == nil {
							_, err = scope.Wrap(ctx, name)
						}
						if err == nil {
							err = scope.Delete(ctx, name)
						}
						ops.Add(6)
						if err != nil {
							failures.Add(1)
							t.Errorf("%s ops: %v", scope.Name, err)
						}
						if w == 0 && !revoked.Load() {
							if _, relogins, _ := counts(); relogins >= 1 {
								// Revoke the session's token under it.
								revoked.Store(true)
								rootDo(t, http.MethodPut, "/v1/sys/leases/revoke-prefix/"+prefix, nil)
							}
						}
						if w == 0 && (done() || time.Since(start) > maxRun) {
							stop.Store(true)
						}
						time.Sleep(20 * time.Millisecond) // a steady load, not a busy loop
					}
				}()
			}
			wg.Wait()
			run := time.Since(start)
			renewals, relogins, recovered := counts()
			t.Logf("%s: %d operations in %v, %d failed; %d renewals, %d logins at the max TTL, %d after the revocation",
				m.name, ops.Load(), run.Round(time.Millisecond), failures.Load(), renewals, relogins, recovered)
			assert.Zero(t, failures.Load())
			require.True(t, done(), "in %v: want 3 renewals and 3 replacements, one at the max TTL and one after the revocation", maxRun)
			// A token lives at most 4 s and is replaced a little before
			// (and once at the revocation): never more often than one
			// replacement per 2 s of the run, plus the revocation's.
			assert.LessOrEqual(t, relogins+recovered, int(run/(maxTTL/2))+2)
		})
	}
}

// TestAuthRefusedLogin: refused credentials fail NewSession with
// ErrPermissionDenied and print no secret.
func TestAuthRefusedLogin(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	_, role := approleAuth(t, time.Minute, time.Hour)
	var roleID struct {
		Data map[string]string `json:"data"`
	}
	require.NoError(t, json.Unmarshal(rootDo(t, http.MethodGet, "/v1/auth/approle/role/"+role+"/role-id", nil), &roleID))
	wrong := "LEAKCANARY-" + randomHex(t)
	bad, err := approle.NewAppRoleAuth(roleID.Data["role_id"], &approle.SecretID{FromString: wrong})
	require.NoError(t, err)
	_, err = edge.NewSession(context.Background(), edge.Config{Address: vault.Addr(), Auth: bad, Mount: vault.Mount()})
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	assert.NotContains(t, err.Error(), "LEAKCANARY")

	wrongPass, err := userpass.NewUserpassAuth("nobody-"+randomHex(t), &userpass.Password{FromString: wrong})
	require.NoError(t, err)
	_, err = edge.NewSession(context.Background(), edge.Config{Address: vault.Addr(), Auth: wrongPass, Mount: vault.Mount()})
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	assert.NotContains(t, err.Error(), "LEAKCANARY")
}

// switchingAuth logs in as first, then as second: credentials that come
// to belong to someone else.
type switchingAuth struct {
	first, second api.AuthMethod
	n             atomic.Int64
}

func (s *switchingAuth) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	if s.n.Add(1) == 1 {
		return s.first.Login(ctx, c)
	}
	return s.second.Login(ctx, c)
}

// TestAuthIdentityChanged: a login that yields another entity makes the
// session's user operations fail with ErrIdentityChanged instead of
// reaching another user's scope.
func TestAuthIdentityChanged(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	first, name := userpassAuth(t, time.Minute, time.Hour)
	second, _ := userpassAuth(t, time.Minute, time.Hour)
	sess, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Auth: &switchingAuth{first: first, second: second}, Mount: vault.Mount()})
	require.NoError(t, err)
	defer sess.Close()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "mine", edge.Secret{"v": 1}))

	rootDo(t, http.MethodPut, "/v1/sys/leases/revoke-prefix/auth/userpass/login/"+name, nil)
	_, err = sess.Secrets.ReadUserSecret(ctx, "mine")
	assert.ErrorIs(t, err, edge.ErrIdentityChanged)
	_, err = sess.Secrets.ListUserSecrets(ctx)
	assert.ErrorIs(t, err, edge.ErrIdentityChanged)
}

// TestWithOrg: a session on another org shares the login, with no
// request, and checks the org's name.
func TestWithOrg(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	orgA, orgB := vault.NewOrg(t, u), vault.NewOrg(t, u)
	p := newProxy(t)
	sess, err := edge.NewSession(ctx, edge.Config{Address: p.URL, Token: u.Token, Org: orgA, Mount: vault.Mount()})
	require.NoError(t, err)
	defer sess.Close()

	before := p.requests.Load()
	b, err := sess.WithOrg(orgB)
	require.NoError(t, err)
	assert.Equal(t, before, p.requests.Load(), "no request")
	assert.Equal(t, orgB, b.Org())
	assert.Equal(t, sess.EntityID(), b.EntityID())
	require.NoError(t, b.Secrets.CreateOrgSecret(ctx, "s", edge.Secret{"org": "b"}))
	_, err = sess.Secrets.ReadOrgSecret(ctx, "s")
	assert.ErrorIs(t, err, edge.ErrNotFound, "orgs stay apart")
	require.NoError(t, b.Close())
	_, err = sess.Secrets.ListOrgSecrets(ctx)
	assert.NoError(t, err, "closing the derived session leaves the parent working")

	_, err = sess.WithOrg("../" + orgB)
	assert.ErrorIs(t, err, edge.ErrBadEntry)
}

// TestLoggerRecords: one Debug record per operation, with op, scope,
// name, outcome, attempts and duration, and never a value or a token.
func TestLoggerRecords(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	logs := &recordLog{}
	sess, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Token: u.Token, Org: vault.NewOrg(t, u), Mount: vault.Mount(), Logger: slog.New(logs)})
	require.NoError(t, err)
	defer sess.Close()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "logged", edge.Secret{"v": "LEAKCANARY"}))
	_, err = sess.Secrets.ReadOrgSecret(ctx, "missing")
	require.ErrorIs(t, err, edge.ErrNotFound)
	require.NoError(t, sess.Secrets.UpdateUserSecret(ctx, "logged", edge.Secret{"v": "LEAKCANARY2"}))
	_, err = sess.Secrets.ReadUserSecret(ctx, "hvs.LEAKCANARY")
	require.ErrorIs(t, err, edge.ErrBadEntry)

	records := logs.all()
	require.Len(t, records, 4)
	want := []struct{ op, scope, name, outcome string }{
		{"create", "user", "logged", "ok"},
		{"read", "org", "missing", "ErrNotFound"},
		{"update", "user", "logged", "ok"},
		{"read", "user", "", "ErrBadEntry"},
	}
	for i, r := range records {
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
		assert.Equal(t, slog.LevelDebug, r.Level)
		assert.Equal(t, want[i].op, attrs["op"].String())
		assert.Equal(t, want[i].scope, attrs["scope"].String())
		assert.Equal(t, want[i].name, attrs["name"].String())
		assert.Equal(t, want[i].outcome, attrs["outcome"].String())
		assert.Equal(t, slog.KindDuration, attrs["duration"].Kind())
		for k, v := range attrs {
			assert.NotContains(t, v.String(), "LEAKCANARY", k)
			assert.NotContains(t, v.String(), u.Token, k)
		}
	}
	attempts := func(i int) int64 {
		var n int64
		records[i].Attrs(func(a slog.Attr) bool {
			if a.Key == "attempts" {
				n = a.Value.Int64()
			}
			return true
		})
		return n
	}
	assert.Equal(t, int64(1), attempts(0), "create: one request")
	assert.Equal(t, int64(2), attempts(2), "update: metadata read and write")
	assert.Equal(t, int64(0), attempts(3), "a bad name sends nothing")
	assert.False(t, strings.Contains(fmt.Sprint(records), "LEAKCANARY"))
}
