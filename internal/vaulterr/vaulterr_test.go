package vaulterr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"syscall"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
)

func TestDescribe(t *testing.T) {
	re := &api.ResponseError{HTTPMethod: "GET", URL: "http://127.0.0.1/v1/secret/data/x", StatusCode: 403, Errors: []string{"1 error occurred:\n\t* permission denied\n\n"}}
	raw := &api.ResponseError{StatusCode: 502, RawError: true, Errors: []string{"<html>secret page</html>"}}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"response error", re, "vault returned 403: 1 error occurred: * permission denied"},
		{"wrapped", fmt.Errorf("checking the token: %w", re), "checking the token: vault returned 403: 1 error occurred: * permission denied"},
		{"raw body left out", raw, "vault returned 502"},
		{"plain", errors.New("dial tcp:\nrefused"), "dial tcp: refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Describe(tt.err))
		})
	}
}

func TestStatusAndMentions(t *testing.T) {
	re := &api.ResponseError{StatusCode: 400, Errors: []string{"check-and-set parameter did not match the current version"}}
	wrapped := fmt.Errorf("x: %w", re)
	assert.Equal(t, 400, Status(wrapped))
	assert.Equal(t, 0, Status(errors.New("x")))
	assert.True(t, Mentions(wrapped, "Check-And-Set parameter"))
	assert.False(t, Mentions(wrapped, "permission denied"))
	assert.False(t, Mentions(errors.New("check-and-set"), "check-and-set"))
}

func TestClassifiers(t *testing.T) {
	resp := func(status int, msg string) error {
		return fmt.Errorf("op: %w", &api.ResponseError{StatusCode: status, Errors: []string{msg}})
	}
	netErr := &url.Error{Op: "Put", URL: "http://127.0.0.1:1", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}
	tests := []struct {
		name                                        string
		err                                         error
		cas, sealed, unavailable, wrapRefused, upgr bool
	}{
		{"cas mismatch", resp(400, "check-and-set parameter did not match the current version"), true, false, false, false, false},
		{"sealed", resp(503, "Vault is sealed"), false, true, true, false, false},
		{"503 standby", resp(503, "Vault is in standby mode"), false, false, true, false, false},
		{"500", resp(500, "internal error"), false, false, true, false, false},
		{"429", resp(429, "rate limit quota exceeded"), false, false, true, false, false},
		{"403", resp(403, "permission denied"), false, false, false, false, false},
		{"404", resp(404, ""), false, false, false, false, false},
		{"wrap ttl refused", resp(400, "error parsing wrap TTL"), false, false, false, true, false},
		{"kv upgrading", resp(400, "Upgrading from non-versioned to versioned data. This backend will be unavailable for a brief period and will resume service shortly."), false, false, false, false, true},
		{"network", netErr, false, false, true, false, false},
		{"EOF", fmt.Errorf("x: %w", io.ErrUnexpectedEOF), false, false, true, false, false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false, false, false, false, false},
		{"deadline inside a url.Error", &url.Error{Op: "Get", URL: "u", Err: context.DeadlineExceeded}, false, false, false, false, false},
		{"canceled", context.Canceled, false, false, false, false, false},
		{"local file", fmt.Errorf("reading the secret id: %w", &fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}), false, false, false, false, false},
		{"nil", nil, false, false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.cas, IsCASMismatch(tt.err), "IsCASMismatch")
			assert.Equal(t, tt.sealed, IsSealed(tt.err), "IsSealed")
			assert.Equal(t, tt.unavailable, Unavailable(tt.err), "Unavailable")
			assert.Equal(t, tt.wrapRefused, IsWrapRefused(tt.err), "IsWrapRefused")
			assert.Equal(t, tt.upgr, IsKVUpgrading(tt.err), "IsKVUpgrading")
		})
	}
}

func TestIsLoginRefused(t *testing.T) {
	resp := func(status int, msg string) error {
		return &api.ResponseError{StatusCode: status, Errors: []string{msg}}
	}
	assert.True(t, IsLoginRefused(resp(400, "invalid username or password")))
	assert.True(t, IsLoginRefused(resp(403, "permission denied")))
	assert.True(t, IsLoginRefused(resp(500, "invalid secret id")))
	assert.True(t, IsLoginRefused(resp(500, "invalid role id")))
	assert.True(t, IsLoginRefused(resp(500, "invalid username or password")))
	assert.False(t, IsLoginRefused(resp(500, "internal error")))
	assert.False(t, IsLoginRefused(resp(503, "Vault is sealed")))
	assert.False(t, IsLoginRefused(errors.New("dial tcp: refused")))
}
