package vaulttest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Userpass users and unique names.

var userNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// NewUser creates (or resets the password of) the userpass user name with
// the given policies (none: only "default"), logs it in and returns its
// token and entity id. Use unique names for per-test isolation, e.g. with
// UniqueName.
func (s *Server) NewUser(ctx context.Context, name string, policies ...string) (User, error) {
	if !userNameRE.MatchString(name) {
		return User{}, fmt.Errorf("vaulttest: NewUser: invalid user name %q (lower case letters, digits, '-', '_')", name)
	}
	password, err := randomString(24)
	if err != nil {
		return User{}, err
	}
	if policies == nil {
		policies = []string{}
	}
	p := "/v1/auth/userpass/users/" + url.PathEscape(name)
	status, body, err := s.Do(ctx, http.MethodPost, p, s.RootToken, map[string]any{
		"password":       password,
		"token_policies": policies,
	})
	if err != nil {
		return User{}, err
	}
	if status/100 != 2 {
		return User{}, fmt.Errorf("vaulttest: NewUser %s: creating user: status %d: %s", name, status, vaultErrors(body))
	}

	p = "/v1/auth/userpass/login/" + url.PathEscape(name)
	status, body, err = s.Do(ctx, http.MethodPost, p, "", map[string]any{"password": password})
	if err != nil {
		return User{}, err
	}
	if status != http.StatusOK {
		return User{}, fmt.Errorf("vaulttest: NewUser %s: login: status %d: %s", name, status, vaultErrors(body))
	}
	var login struct {
		Auth *struct {
			ClientToken string `json:"client_token"`
			Accessor    string `json:"accessor"`
			EntityID    string `json:"entity_id"`
		} `json:"auth"`
	}
	if err := json.Unmarshal(body, &login); err != nil {
		return User{}, fmt.Errorf("vaulttest: NewUser %s: decoding login response: %w", name, err)
	}
	if login.Auth == nil || login.Auth.ClientToken == "" || login.Auth.EntityID == "" {
		return User{}, fmt.Errorf("vaulttest: NewUser %s: login response has no token or entity_id", name)
	}
	return User{
		Name:     name,
		Token:    login.Auth.ClientToken,
		EntityID: login.Auth.EntityID,
		Password: password,
		Accessor: login.Auth.Accessor,
	}, nil
}

// UniqueName returns prefix followed by "-" and random lower case
// characters, valid as a user or policy name.
func UniqueName(prefix string) string {
	s, err := randomString(9)
	if err != nil {
		panic(err)
	}
	return prefix + "-" + strings.ToLower(strings.NewReplacer("-", "0", "_", "1").Replace(s))
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("vaulttest: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
