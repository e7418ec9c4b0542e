package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/vaultclient"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// WrapInfo is what Vault tells about a wrapping token without consuming
// it (sys/wrapping/lookup).
type WrapInfo struct {
	CreationPath string        // the Vault path that was read and wrapped
	CreationTime time.Time     // when the token was made
	TTL          time.Duration // its lifetime from CreationTime
}

// ExpiresAt returns the time after which the token can no longer be
// redeemed.
func (i WrapInfo) ExpiresAt() time.Time { return i.CreationTime.Add(i.TTL) }

// Origin names the secret a wrapping token should hold, for
// VerifyWrapped. Make one with UserSecretOrigin or OrgSecretOrigin.
type Origin struct {
	Scope string // "user" or "org"
	Owner string // the user's entity id, or the org
	Name  string // the secret's name
	Mount string // the KV v2 mount; default DefaultMount
	// Prefix is the path below Mount; default DefaultPrefix.
	Prefix string
}

// UserSecretOrigin is the origin of user secret name of the user with
// Vault identity entity entityID, at the default mount and prefix.
func UserSecretOrigin(entityID, name string) Origin {
	return Origin{Scope: "user", Owner: entityID, Name: name}
}

// OrgSecretOrigin is the origin of org secret name of org, at the default
// mount and prefix.
func OrgSecretOrigin(org, name string) Origin {
	return Origin{Scope: "org", Owner: org, Name: name}
}

// path returns the KV v2 data path of the origin, as Vault records it in
// a wrapping token's creation_path.
func (o Origin) path() (string, error) {
	mount, prefix := o.Mount, o.Prefix
	if mount == "" {
		mount = DefaultMount
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	var kind string
	switch o.Scope {
	case "user":
		kind = "users"
	case "org":
		kind = "orgs"
	default:
		return "", fmt.Errorf("origin scope %q is neither user nor org", o.Scope)
	}
	for _, check := range []error{checkPath(mount), checkPath(prefix), checkName(o.Owner), checkName(o.Name)} {
		if check != nil {
			return "", fmt.Errorf("origin: %w", check)
		}
	}
	return mount + "/data/" + prefix + "/" + kind + "/" + o.Owner + "/" + o.Name, nil
}

// LookupWrapped asks Vault about a wrapping token without consuming it.
// client says where Vault is (nil: vault/api's environment, VAULT_ADDR);
// it is never modified, and its own token is not needed.
//
// LookupWrapped returns an error wrapping ErrInvalidToken if Vault does
// not know the token.
func LookupWrapped(ctx context.Context, client *api.Client, token string) (*WrapInfo, error) {
	fail := func(kind, err error) error { return &Error{Op: "lookup wrapped", Kind: kind, Err: err} }
	c, err := tokenClient(client, token)
	if err != nil {
		return nil, fail(tokenKind(err), err)
	}
	secret, err := c.Logical().WriteWithContext(ctx, "sys/wrapping/lookup", map[string]any{"token": c.Token()})
	if err != nil {
		return nil, fail(wrapTokenKind(err), err)
	}
	if secret == nil || secret.Data == nil {
		return nil, fail(ErrInvalidToken, nil)
	}
	info := &WrapInfo{}
	info.CreationPath, _ = secret.Data["creation_path"].(string)
	if ts, _ := secret.Data["creation_time"].(string); ts != "" {
		info.CreationTime, _ = time.Parse(time.RFC3339Nano, ts)
	}
	if ttl, ok := secret.Data["creation_ttl"].(json.Number); ok {
		secs, _ := ttl.Int64()
		info.TTL = time.Duration(secs) * time.Second
	}
	return info, nil
}

// VerifyWrapped checks, without consuming it, that a wrapping token holds
// the secret want names, so that a receiver detects a token swapped in
// transit. It returns the token's WrapInfo, and an error wrapping
// ErrWrongSecret if the token holds anything else, ErrInvalidToken if
// Vault does not know it, or ErrBadEntry if want is not a valid origin.
func VerifyWrapped(ctx context.Context, client *api.Client, token string, want Origin) (*WrapInfo, error) {
	fail := func(kind, err error) error {
		name := want.Name
		if !ValidName(name) {
			name = "" // the cause says what is wrong with it
		}
		return &Error{Op: "verify wrapped", Scope: want.Scope, Name: name, Kind: kind, Err: err}
	}
	path, err := want.path()
	if err != nil {
		return nil, fail(ErrBadEntry, err)
	}
	info, err := LookupWrapped(ctx, client, token)
	if err != nil {
		return nil, err
	}
	if info.CreationPath != path {
		return nil, fail(ErrWrongSecret, fmt.Errorf("it was made from %q, not %q", info.CreationPath, path))
	}
	return info, nil
}

// Unwrap redeems a wrapping token made by WrapUserSecret or WrapOrgSecret
// and returns the secret's value, decoded as ReadUserSecret decodes it.
// The token can be redeemed once. client says where Vault is (nil:
// vault/api's environment, VAULT_ADDR); it is never modified, and its own
// token is not needed: Unwrap authenticates with the wrapping token
// itself. Call VerifyWrapped first to be sure the token holds the secret
// you expect.
//
// Unwrap returns an error wrapping ErrInvalidToken if the token is
// malformed, used or expired, and ErrNotFound if the secret was gone when
// the token was made.
//
// Unwrap never repeats a request that may have reached Vault: a second
// try would find the token used. If the answer is lost (the connection
// drops, a 5xx), Unwrap asks Vault whether the token is still there: if
// it is, the error wraps ErrUnavailable and trying again is safe; if it is
// not, the error wraps ErrUnknownOutcome: the lost answer may have carried
// the value, which is then gone for good. Requests Vault surely did not
// act on (a connection refused, a 429, a sealed Vault) are retried as
// vault/api retries them.
func Unwrap(ctx context.Context, client *api.Client, token string) (Secret, error) {
	fail := func(kind, err error) error { return &Error{Op: "unwrap", Kind: kind, Err: err} }
	c, err := tokenClient(client, token)
	if err != nil {
		return nil, fail(tokenKind(err), err)
	}
	// Never retried blindly: a second try after an answer that was lost
	// finds the token used, and its value gone with the lost answer.
	tctx, attempts := vaultclient.TrackOnce(ctx)
	resp, err := c.Logical().WriteRawWithContext(tctx, "sys/wrapping/unwrap", nil)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		if attempts.Lost() {
			return nil, unwrapLost(ctx, c, err)
		}
		return nil, fail(wrapTokenKind(err), err)
	}
	body := &bodyReader{r: resp.Body}
	value, err := decodeKVResponse(body)
	if body.err != nil {
		// Vault redeemed the token, and its answer was cut short.
		return nil, fail(ErrUnknownOutcome, &lostError{"the token was redeemed but its answer was cut short", body.err})
	}
	if err != nil {
		return nil, fail(decodeKind(err), err)
	}
	return value, nil
}

// errEmptyToken is tokenClient's answer to an empty token.
var errEmptyToken = errors.New("the token is empty")

// tokenClient returns a client for Vault at client's address (or the
// environment's) that authenticates with token: a clone, so that the
// caller's client, perhaps shared, never gets the token (vault/api's own
// Logical().Unwrap sets it on a client that has none).
func tokenClient(client *api.Client, token string) (*api.Client, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errEmptyToken
	}
	c, err := vaultclient.Own(client)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return c, nil
}

func tokenKind(err error) error {
	if errors.Is(err, errEmptyToken) {
		return ErrInvalidToken
	}
	return nil
}

// wrapTokenKind classifies Vault's refusal of a wrapping token: 400
// ("wrapping token is not valid or does not exist") and 403 (the token
// does not authenticate at all) are ErrInvalidToken; 404 is what the
// token held when the secret was gone; other failures are classified as
// any other (ErrUnavailable).
func wrapTokenKind(err error) error {
	switch vaulterr.Status(err) {
	case 400, 403:
		return ErrInvalidToken
	case 404:
		return ErrNotFound
	}
	return kindOf(err)
}
