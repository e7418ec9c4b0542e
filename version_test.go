package edge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/faultproxy"
	"github.com/edgesdk/edge/internal/scopes"
)

// These tests are about versions in a handover: Vault's wrapping token
// records the path it read without the query string, so a wrap of
// ?version=N passes VerifyWrapped; UnwrapSecret says which version the
// receiver got, WithWrapVersion which one the sender wrapped, and the
// org members policy refuses the version parameter (see package admin).

// rawWrap wraps a read of path, with query, using token directly with
// vault/api, the way a user who skips the SDK would.
func rawWrap(ctx context.Context, t *testing.T, token, path string, query map[string][]string) (*api.SecretWrapInfo, error) {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: edgetest.Start(t).Addr(), MaxRetries: 0})
	require.NoError(t, err)
	c.SetToken(token)
	c = c.WithRequestCallbacks(func(r *api.Request) { r.WrapTTL = "60s" })
	s, err := c.Logical().ReadWithDataWithContext(ctx, path, query)
	if err != nil {
		return nil, err
	}
	require.NotNil(t, s)
	require.NotNil(t, s.WrapInfo, "the read was not wrapped")
	require.Nil(t, s.Data)
	return s.WrapInfo, nil
}

// dataPath returns the KV v2 data path of secret name in ops' scope of
// sess, whose KV mount is mount, and the origin VerifyWrapped checks it
// against.
func dataPath(mount string, sess *edge.Session, ops scopes.Ops, name string) (string, edge.Origin) {
	if ops.Name == "org" {
		o := edge.OrgSecretOrigin(sess.Org(), name)
		o.Mount = mount
		return mount + "/data/edge/orgs/" + sess.Org() + "/" + name, o
	}
	o := edge.UserSecretOrigin(sess.EntityID(), name)
	o.Mount = mount
	return mount + "/data/edge/users/" + sess.EntityID() + "/" + name, o
}

// twoVersions creates secret name with value one, then updates it to
// two, and returns when each version was written, give or take the
// call.
func twoVersions(ctx context.Context, t *testing.T, ops scopes.Ops, name string) (v1, v2 [2]time.Time) {
	t.Helper()
	v1[0] = time.Now()
	require.NoError(t, ops.Create(ctx, name, edge.Secret{"v": "one"}))
	v1[1] = time.Now()
	v2[0] = time.Now()
	require.NoError(t, ops.Update(ctx, name, edge.Secret{"v": "two"}))
	v2[1] = time.Now()
	return v1, v2
}

// assertCreated checks that created lies within window, with a second of
// slack for the clocks of Vault and the test (one machine) and Vault's
// rounding.
func assertCreated(t *testing.T, window [2]time.Time, created time.Time) {
	t.Helper()
	assert.False(t, created.Before(window[0].Add(-time.Second)), "created %v before %v", created, window[0])
	assert.False(t, created.After(window[1].Add(time.Second)), "created %v after %v", created, window[1])
}

// TestUnwrapSecret: the receiver learns the value, its version and when
// that version was written; the token still unwraps once.
func TestUnwrapSecret(t *testing.T) {
	t.Parallel()
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		_, v2 := twoVersions(ctx, t, ops, "s")
		w, err := ops.Wrap(ctx, "s")
		require.NoError(t, err)
		assert.Zero(t, w.Version, "a plain wrap does not know its version")

		client := receiver(t)
		got, err := edge.UnwrapSecret(ctx, client, w.Token)
		require.NoError(t, err)
		assert.Equal(t, edge.Secret{"v": "two"}, got.Value)
		assert.Equal(t, 2, got.Version)
		assertCreated(t, v2, got.CreatedTime)
		assert.Empty(t, client.Token())

		_, err = edge.UnwrapSecret(ctx, client, w.Token)
		assert.ErrorIs(t, err, edge.ErrInvalidToken, "a wrapping token unwraps once")
		assert.NotContains(t, err.Error(), w.Token)
	})
}

// TestVerifyWrappedAcceptsAnyVersion shows the limit of VerifyWrapped: a
// wrap of an older version, made by whoever may read it (the owner, an
// org admin), has the creation path of the secret itself. UnwrapSecret
// shows the version, for the receiver to compare with the one announced.
func TestVerifyWrappedAcceptsAnyVersion(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	sess := vault.Session(t, u, vault.NewOrg(t, u)) // u is the org's admin
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		t.Run(ops.Name, func(t *testing.T) {
			ctx := context.Background()
			v1, v2 := twoVersions(ctx, t, ops, "db")
			path, origin := dataPath(vault.Mount(), sess, ops, "db")
			tests := []struct {
				name    string
				query   map[string][]string
				value   string
				version int
				window  [2]time.Time
			}{
				{"latest", nil, "two", 2, v2},
				{"version 2", map[string][]string{"version": {"2"}}, "two", 2, v2},
				{"version 1, rotated away", map[string][]string{"version": {"1"}}, "one", 1, v1},
			}
			client := receiver(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					wi, err := rawWrap(ctx, t, u.Token, path, tt.query)
					require.NoError(t, err)
					info, err := edge.VerifyWrapped(ctx, client, wi.Token, origin)
					require.NoError(t, err, "VerifyWrapped cannot tell versions apart")
					assert.Equal(t, path, info.CreationPath, "no query string in the creation path")
					got, err := edge.UnwrapSecret(ctx, client, wi.Token)
					require.NoError(t, err)
					assert.Equal(t, edge.Secret{"v": tt.value}, got.Value)
					assert.Equal(t, tt.version, got.Version)
					assertCreated(t, tt.window, got.CreatedTime)
				})
			}
		})
	}
}

// TestWrapVersion: WithWrapVersion reads the current version and wraps
// it explicitly, in two requests; a plain wrap stays one request and
// says no version.
func TestWrapVersion(t *testing.T) {
	for _, scope := range []string{"user", "org"} {
		t.Run(scope, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			fx := newFaultFixture(t, scope)
			twoVersions(ctx, t, fx.direct, "s")

			before := fx.proxy.Requests()
			plain, err := fx.proxied.Wrap(ctx, "s")
			require.NoError(t, err)
			assert.Equal(t, int64(1), fx.proxy.Requests()-before, "a plain wrap is one request")
			assert.Zero(t, plain.Version)
			assert.NotContains(t, plain.String(), "version")
			j, err := json.Marshal(plain)
			require.NoError(t, err)
			assert.NotContains(t, string(j), `"version"`)

			before = fx.proxy.Requests()
			w, err := fx.proxied.Wrap(ctx, "s", edge.WithWrapVersion(), edge.WithWrapTTL(time.Minute))
			require.NoError(t, err)
			assert.Equal(t, int64(2), fx.proxy.Requests()-before, "the metadata read and the wrap")
			assert.Equal(t, 2, w.Version)
			assert.Equal(t, time.Minute, w.TTL)
			assert.Contains(t, w.String(), "version 2")
			assert.NotContains(t, fmt.Sprint(w), w.Token)
			j, err = json.Marshal(w)
			require.NoError(t, err)
			assert.Contains(t, string(j), `"version":2`)

			_, origin := dataPath(edgetest.Start(t).Mount(), fx.session, fx.proxied, "s")
			client := receiver(t)
			_, err = edge.VerifyWrapped(ctx, client, w.Token, origin)
			require.NoError(t, err)
			got, err := edge.UnwrapSecret(ctx, client, w.Token)
			require.NoError(t, err)
			assert.Equal(t, w.Version, got.Version, "the receiver compares with the announced version")
			assert.Equal(t, edge.Secret{"v": "two"}, got.Value)
		})
	}
}

// TestWrapVersionHoldsItsVersion: the secret changes between
// WithWrapVersion's metadata read and its wrap (the proxy holds the wrap
// back): the token holds the version the wrap announced, not the newer
// one.
func TestWrapVersionHoldsItsVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newFaultFixture(t, "org")
	twoVersions(ctx, t, fx.direct, "s")
	fx.proxy.SetDelay(2 * time.Second)
	fx.proxy.FailNext(1, faultproxy.Delay, func(r faultproxy.Request) bool { return r.Header.Get("X-Vault-Wrap-TTL") != "" })

	before := fx.proxy.Requests()
	type result struct {
		w   *edge.WrappedSecret
		err error
	}
	done := make(chan result, 1)
	go func() {
		w, err := fx.proxied.Wrap(ctx, "s", edge.WithWrapVersion())
		done <- result{w, err}
	}()
	require.Eventually(t, func() bool { return fx.proxy.Requests()-before == 2 }, 5*time.Second, time.Millisecond,
		"the wrap reaches the proxy")
	require.NoError(t, fx.direct.Update(ctx, "s", edge.Secret{"v": "three"}), "while the wrap is held back")
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, 2, r.w.Version)

	got, err := edge.UnwrapSecret(ctx, receiver(t), r.w.Token)
	require.NoError(t, err)
	assert.Equal(t, 2, got.Version)
	assert.Equal(t, edge.Secret{"v": "two"}, got.Value)
	read, err := fx.direct.Read(ctx, "s")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": "three"}, read, "version 3 is the latest")
}

// TestWrapVersionErrors: WithWrapVersion fails, before making any token,
// where it cannot know the version.
func TestWrapVersionErrors(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	adminUser, memberUser := vault.NewUser(t), vault.NewUser(t)
	org := vault.NewOrg(t, adminUser)
	vault.AddMember(t, org, memberUser)
	adminSess := vault.Session(t, adminUser, org)
	memberSess := vault.Session(t, memberUser, org)
	require.NoError(t, adminSess.Secrets.CreateOrgSecret(ctx, "s", edge.Secret{"v": "x"}))
	require.NoError(t, adminSess.Secrets.CreateOrgSecret(ctx, "deleted", edge.Secret{"v": "x"}))
	// Another tool soft-deletes the latest version.
	status, body, err := rawDo(ctx, vault.Addr(), http.MethodDelete, "/v1/"+vault.Mount()+"/data/edge/orgs/"+org+"/deleted", vault.RootClient(t).Token(), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status, string(body))

	tests := []struct {
		name string
		sess *edge.Session
		give string
		want error
	}{
		{"member: no metadata read", memberSess, "s", edge.ErrPermissionDenied},
		{"missing", adminSess, "nope", edge.ErrNotFound},
		{"latest version deleted", adminSess, "deleted", edge.ErrNotFound},
		{"bad name", adminSess, "../s", edge.ErrBadEntry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := tt.sess.Secrets.WrapOrgSecret(ctx, tt.give, edge.WithWrapVersion())
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, w)
			var e *edge.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "wrap", e.Op)
			assert.Equal(t, "org", e.Scope)
		})
	}
	// A member's plain wrap works, and holds the latest version.
	w, err := memberSess.Secrets.WrapOrgSecret(ctx, "s")
	require.NoError(t, err)
	got, err := edge.UnwrapSecret(ctx, receiver(t), w.Token)
	require.NoError(t, err)
	assert.Equal(t, 1, got.Version)
}

// TestMembersWrapLatestOnly: an org member lists, reads and wraps the
// org's secrets through the SDK as before, and cannot read or wrap an
// older version with their own token (the members policy denies the
// version parameter), so their wraps always hold the latest version.
func TestMembersWrapLatestOnly(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	adminUser, memberUser := vault.NewUser(t), vault.NewUser(t)
	org := vault.NewOrg(t, adminUser)
	vault.AddMember(t, org, memberUser)
	adminOps := scopes.Org(vault.Session(t, adminUser, org))
	memberSess := vault.Session(t, memberUser, org)
	memberOps := scopes.Org(memberSess)
	twoVersions(ctx, t, adminOps, "db")
	path, origin := dataPath(vault.Mount(), memberSess, memberOps, "db")

	names, err := memberOps.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"db"}, names)
	got, err := memberOps.Read(ctx, "db")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": "two"}, got)
	w, err := memberOps.Wrap(ctx, "db")
	require.NoError(t, err)
	client := receiver(t)
	_, err = edge.VerifyWrapped(ctx, client, w.Token, origin)
	require.NoError(t, err)
	u, err := edge.UnwrapSecret(ctx, client, w.Token)
	require.NoError(t, err)
	assert.Equal(t, 2, u.Version)

	for _, version := range []string{"1", "2", "0"} {
		t.Run("version "+version, func(t *testing.T) {
			query := map[string][]string{"version": {version}}
			_, err := rawWrap(ctx, t, memberUser.Token, path, query)
			assert.Equal(t, http.StatusForbidden, statusOf(err), "member's wrap: %v", err)
			status, body, err := rawDo(ctx, vault.Addr(), http.MethodGet, "/v1/"+path+"?version="+version, memberUser.Token, nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusForbidden, status, "member's read: %s", body)
			// The admin may.
			wi, err := rawWrap(ctx, t, adminUser.Token, path, query)
			require.NoError(t, err)
			_, err = edge.UnwrapSecret(ctx, client, wi.Token)
			require.NoError(t, err)
		})
	}
}

// statusOf returns the HTTP status of a vault/api error, 0 for none.
func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// TestUnwrapSecretFaults: UnwrapSecret is Unwrap: a lost answer that
// redeemed the token is ErrUnknownOutcome; after a failure Vault did not
// act on, the token is still there, and the one retry delivers it.
func TestUnwrapSecretFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault faultproxy.Fault
		want  error
		spent bool
	}{
		{faultproxy.Drop, edge.ErrUnknownOutcome, true},
		{faultproxy.BadGateway502After, edge.ErrUnknownOutcome, true},
		{faultproxy.Status500, nil, false},
		{faultproxy.Reset, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			fx := newFaultFixture(t, "org")
			twoVersions(ctx, t, fx.direct, fx.name)
			w, err := fx.direct.Wrap(ctx, fx.name)
			require.NoError(t, err)
			fx.wrapped = w
			fx.proxy.FailNext(1, tt.fault, func(r faultproxy.Request) bool { return strings.HasSuffix(r.Path, "/sys/wrapping/unwrap") })

			got, err := edge.UnwrapSecret(ctx, fx.client, w.Token)
			if tt.spent {
				require.ErrorIs(t, err, tt.want)
				assert.Nil(t, got)
				checkFaultError(t, fx, "unwrap", err)
				assert.NotErrorIs(t, err, edge.ErrInvalidToken)
				return
			}
			require.NoError(t, err, "the token was still good: the one retry delivers it")
			assert.Equal(t, 2, got.Version)
			assert.Equal(t, edge.Secret{"v": "two"}, got.Value)
		})
	}
}

// TestUnwrappedSecretNeverPrintsValue: fmt and every log/slog handler
// show the version and the value's keys, never its values.
func TestUnwrappedSecretNeverPrintsValue(t *testing.T) {
	t.Parallel()
	const value = "hunter2-" + faultCanary
	u := &edge.UnwrappedSecret{Value: edge.Secret{"password": value}, Version: 7, CreatedTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		assert.NotContains(t, fmt.Sprintf(format, u), value, format)
		assert.NotContains(t, fmt.Sprintf(format, *u), value, format)
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("handover", "got", u)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("handover", "got", *u)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("handover", "got", *u)
	out := buf.String()
	assert.NotContains(t, out, value)
	assert.Contains(t, out, `"version":7`)
	assert.Contains(t, out, "got.version=7")
	assert.Contains(t, out, "password")
}

// TestAdminAndMemberLostAnswer: after a lost answer the SDK reads its
// write back by version number. An admin, and an admin who is also a
// member (the members' data rule is a glob the admins' "+" rule takes
// priority over), may read versions. An org whose policies predate that
// layout (its members rule the same "+" path as the admins', so that
// Vault merges the members' version rule into an admin-member's rights)
// refuses the version read: ownWrite then reads the latest version,
// which is its write, and reports success as well. Either way the secret
// holds the value.
func TestAdminAndMemberLostAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		member    bool
		oldPolicy bool // the members policy of before the glob rule
	}{
		{"admin", false, false},
		{"admin and member", true, false},
		{"admin and member, old members policy", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			vault := edgetest.Start(t)
			fx := newFaultFixture(t, "org")
			org := fx.session.Org()
			if tt.member {
				require.NoError(t, vault.Admin().AddMember(ctx, org, fx.session.EntityID()))
			}
			if tt.oldPolicy {
				name, err := vault.Admin().OrgMembersPolicyName(org)
				require.NoError(t, err)
				root := vault.RootClient(t)
				text, err := root.Sys().GetPolicyWithContext(ctx, name)
				require.NoError(t, err)
				old := strings.Replace(text, "/orgs/"+org+"/*\"", "/orgs/"+org+"/+\"", 1)
				require.NotEqual(t, text, old)
				require.NoError(t, root.Sys().PutPolicyWithContext(ctx, name, old))
			}
			require.NoError(t, fx.direct.Create(ctx, "probe", edge.Secret{"v": "1"}))
			_, err := fx.direct.ReadVersion(ctx, "probe", 1)
			if tt.oldPolicy {
				require.ErrorIs(t, err, edge.ErrPermissionDenied, "the old policy refuses an admin-member's version read")
			} else {
				require.NoError(t, err)
			}

			fx.proxy.FailNext(1, faultproxy.Drop, isWrite)
			require.NoError(t, fx.proxied.Create(ctx, fx.name, fx.value))
			got, err := fx.direct.Read(ctx, fx.name)
			require.NoError(t, err)
			assert.Equal(t, fx.value["password"], got["password"])
		})
	}
}
