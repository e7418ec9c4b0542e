package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

func TestMain(m *testing.M) { edgetest.Main(m) }

var teamDB = edge.Secret{"user": "app", "password": "s3cret-db-pw"}

// setup makes an org whose admin carol stored team-db (and other), and a
// receiver's client of the Vault, without a token.
func setup(t *testing.T) (v *edgetest.Vault, carol edgetest.User, org string, receiver *api.Client) {
	t.Helper()
	ctx := context.Background()
	v = edgetest.Start(t)
	carol = v.NewUser(t)
	org = v.NewOrg(t, carol)
	sess := v.Session(t, carol, org)
	require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "team-db", teamDB))
	require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "other", edge.Secret{"x": "y"}))
	receiver, err := api.NewClient(&api.Config{Address: v.Addr()})
	require.NoError(t, err)
	receiver.ClearToken()
	return v, carol, org, receiver
}

func decode(t *testing.T, b []byte) edge.Secret {
	t.Helper()
	var s edge.Secret
	require.NoError(t, json.Unmarshal(b, &s))
	return s
}

// TestHandover: the sender's output is the receiver's input; the token
// works once.
func TestHandover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v, carol, org, receiver := setup(t)

	var pipe, info bytes.Buffer
	require.NoError(t, send(ctx, v.Config(carol, org), false, "team-db", time.Minute, &pipe, &info))
	token := strings.TrimSpace(pipe.String())
	assert.Contains(t, info.String(), "handover receive -org "+org+" -name team-db")
	assert.NotContains(t, info.String(), token)

	want := edge.OrgSecretOrigin(org, "team-db")
	want.Mount = v.Mount()
	var out, rinfo bytes.Buffer
	require.NoError(t, receive(ctx, receiver, want, bytes.NewReader(pipe.Bytes()), &out, &rinfo))
	assert.Equal(t, teamDB, decode(t, out.Bytes()))
	assert.Contains(t, rinfo.String(), "version 1")
	assert.NotContains(t, rinfo.String(), "s3cret-db-pw")

	// A token works once.
	err := receive(ctx, receiver, want, strings.NewReader(token+"\n"), &out, &rinfo)
	assert.ErrorIs(t, err, edge.ErrInvalidToken)
}

// TestHandoverUserSecret hands over a user secret: the receiver names its
// owner by entity id.
func TestHandoverUserSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v, _, _, receiver := setup(t)
	alice := v.NewUser(t)
	require.NoError(t, v.Session(t, alice, "").Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k-123"}))

	var pipe, out, info bytes.Buffer
	require.NoError(t, send(ctx, v.Config(alice, ""), true, "api-key", time.Minute, &pipe, &info))
	assert.Contains(t, info.String(), "-user "+alice.EntityID)
	want := edge.UserSecretOrigin(alice.EntityID, "api-key")
	want.Mount = v.Mount()
	require.NoError(t, receive(ctx, receiver, want, &pipe, &out, &info))
	assert.Equal(t, edge.Secret{"key": "k-123"}, decode(t, out.Bytes()))
}

// TestHandoverWrongSecret: a token that holds another secret than the
// one announced is refused and not consumed.
func TestHandoverWrongSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v, carol, org, receiver := setup(t)

	var pipe, out, info bytes.Buffer
	require.NoError(t, send(ctx, v.Config(carol, org), false, "other", time.Minute, &pipe, &info))
	token := strings.TrimSpace(pipe.String())
	want := edge.OrgSecretOrigin(org, "team-db")
	want.Mount = v.Mount()
	err := receive(ctx, receiver, want, &pipe, &out, &info)
	assert.ErrorIs(t, err, edge.ErrWrongSecret)
	assert.Empty(t, out.String())
	_, err = edge.LookupWrapped(ctx, receiver, token)
	assert.NoError(t, err, "the token was not consumed")

	// A member may hand the org's secrets over too; an outsider may not.
	dave := v.NewUser(t)
	err = send(ctx, v.Config(dave, org), false, "team-db", time.Minute, &pipe, &info)
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
}

func TestUsage(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{nil, {"fly"}, {"send"}, {"receive", "-name", "x"}, {"receive", "-org", "a", "-user", "b", "-name", "x"}} {
		var stderr bytes.Buffer
		assert.Equal(t, exitUsage, run(ctx, args, strings.NewReader(""), &bytes.Buffer{}, &stderr), "%q", args)
		assert.NotEmpty(t, stderr.String())
	}
}

// TestTwoProcesses builds the command and runs the handover as the doc
// shows it: two processes, the sender's standard output piped into the
// receiver's standard input.
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	t.Parallel()
	v, carol, org, _ := setup(t)
	bin := filepath.Join(t.TempDir(), "handover")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	env := slices.Clip(append(os.Environ(), "VAULT_ADDR="+v.Addr(), "EDGE_KV_MOUNT="+v.Mount(), "VAULT_NAMESPACE="))
	sender := exec.Command(bin, "send", "-ttl", "1m", "team-db")
	sender.Env = append(env, "VAULT_TOKEN="+carol.Token, "EDGE_ORG="+org)
	receiver := exec.Command(bin, "receive", "-org", org, "-name", "team-db", "-mount", v.Mount())
	receiver.Env = append(env, "VAULT_TOKEN=") // the receiver has no Vault token
	pipe, err := sender.StdoutPipe()
	require.NoError(t, err)
	receiver.Stdin = pipe
	var sendErr, recvOut, recvErr bytes.Buffer
	sender.Stderr, receiver.Stdout, receiver.Stderr = &sendErr, &recvOut, &recvErr

	require.NoError(t, sender.Start())
	require.NoError(t, receiver.Start())
	assert.NoError(t, sender.Wait(), sendErr.String())
	assert.NoError(t, receiver.Wait(), recvErr.String())
	assert.Equal(t, teamDB, decode(t, recvOut.Bytes()))
	assert.Contains(t, recvErr.String(), "received org secret team-db (version 1")
	assert.NotContains(t, sendErr.String()+recvErr.String(), "s3cret-db-pw")
}
