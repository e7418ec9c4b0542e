package vaulttest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// SharedUsers are the users provisioned on the Shared server: the demo
// layout's (Options.Demo).
var SharedUsers = []string{"alice", "bob", "carol", "dave"}

var shared struct {
	once sync.Once
	mu   sync.Mutex
	srv  *Server
	err  error
}

// Shared returns the server shared by all tests of the test binary, starting
// it on first use with the demo layout (Options.Demo: SharedUsers in orgs
// acme and globex). It calls tb.Fatal if the
// server cannot be started. Use Run in TestMain to stop it at the end;
// otherwise it stops when the test binary exits.
//
// Tests must not change state other tests rely on (the users, the mount
// configuration, the policies); create per-test users with NewUser.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() {
		// Covers a first build of devvault (~2 minutes) plus startup.
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		srv, err := Start(ctx, Options{Users: SharedUsers, Demo: true})
		shared.mu.Lock()
		shared.srv, shared.err = srv, err
		shared.mu.Unlock()
	})
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.err != nil {
		tb.Fatalf("vaulttest: starting the shared Vault: %v", shared.err)
	}
	return shared.srv
}

// Run runs the tests and then stops the shared server, if one was started.
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(vaulttest.Run(m)) }
func Run(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	srv := shared.srv
	shared.mu.Unlock()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "vaulttest: stopping the shared Vault: %v\n", err)
	}
	return code
}
