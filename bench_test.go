package edge_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
)

// The benchmarks below measure whole operations against the real dev
// Vault on loopback, so they include Vault's own work; compare runs with
// benchstat.

func BenchmarkReadUserSecret(b *testing.B) {
	sess := newSession(b)
	ctx := context.Background()
	require.NoError(b, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"user": "svc", "password": "p4ss", "port": 5432}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sess.Secrets.ReadUserSecret(ctx, "s"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateUserSecret(b *testing.B) {
	sess := newSession(b)
	ctx := context.Background()
	value := edge.Secret{"user": "svc", "password": "p4ss", "port": 5432}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := sess.Secrets.CreateUserSecret(ctx, "s"+strconv.Itoa(i), value); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkUpdateOrgSecret(b *testing.B) {
	sess := newSession(b)
	ctx := context.Background()
	require.NoError(b, sess.Secrets.CreateOrgSecret(ctx, "s", edge.Secret{"v": 0}))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := sess.Secrets.UpdateOrgSecret(ctx, "s", edge.Secret{"v": i}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkWrapUserSecret(b *testing.B) {
	sess := newSession(b)
	ctx := context.Background()
	require.NoError(b, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": "x"}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sess.Secrets.WrapUserSecret(ctx, "s"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadUserSecretParallel reads from many goroutines on one
// session, the way a service shares it.
func BenchmarkReadUserSecretParallel(b *testing.B) {
	sess := newSession(b)
	ctx := context.Background()
	require.NoError(b, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": "x"}))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := sess.Secrets.ReadUserSecret(ctx, "s"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
