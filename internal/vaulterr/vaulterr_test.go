package vaulterr

import (
	"errors"
	"fmt"
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
