package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/vaultclient"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// WrapInfo is what Vault tells about a wrapping token without consuming
// it (sys/wrapping/lookup).
type WrapInfo struct {
	CreationPath string        // the Vault path that was read and wrapped, without the query string
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
// transit. It does not show which version of the secret the token holds:
// Vault records the path it read without the query string, so a wrap of
// an older version (?version=N) passes too; UnwrapSecret shows the
// version, for the receiver to compare with the one the sender announced.
// It returns the token's WrapInfo, and an error wrapping
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

// UnwrappedSecret is what a wrapping token held: the secret's value, and
// which version of the secret it is, as the KV v2 read that Vault wrapped
// reported them. Compare Version (or CreatedTime) with what the sender
// announced: VerifyWrapped shows which secret a token holds, not which
// version.
//
// Printing an UnwrappedSecret with the fmt verbs or log/slog shows the
// value's keys, not its values (see Secret's Format).
type UnwrappedSecret struct {
	Value Secret // decoded as ReadUserSecret decodes it
	// Version is the KV v2 version the token holds: the latest when the
	// token was made, or any version the wrapping read asked for with
	// ?version=N. It is 0 if the answer did not say, which a KV v2 read
	// always does: the token was then not made by one (VerifyWrapped
	// tells).
	Version     int
	CreatedTime time.Time // when that version was written; zero if the answer did not say
}

// LogValue makes log/slog print u's version and creation time, and its
// value's keys without their values, with every handler (JSONHandler
// included).
func (u UnwrappedSecret) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("value", u.Value),
		slog.Int("version", u.Version),
		slog.Time("created_time", u.CreatedTime),
	)
}

// Unwrap redeems a wrapping token made by WrapUserSecret or WrapOrgSecret
// and returns the secret's value, decoded as ReadUserSecret decodes it.
// The token can be redeemed once. client says where Vault is (nil:
// vault/api's environment, VAULT_ADDR); it is never modified, and its own
// token is not needed: Unwrap authenticates with the wrapping token
// itself. Call VerifyWrapped first to be sure the token holds the secret
// you expect, and use UnwrapSecret instead to learn which version of it
// you got.
//
// Unwrap returns an error wrapping ErrInvalidToken if the token is
// malformed, used or expired, and ErrNotFound if the secret was gone when
// the token was made.
//
// Unwrap repeats a request that may have reached Vault at most once, and
// only after asking Vault: if the answer is lost (the connection drops, a
// 5xx, a proxy's 504), Unwrap asks Vault whether the token is still there
// (sys/wrapping/lookup), and if it is, tries once more. If that try
// delivers the value, Unwrap returns it. Otherwise (the token was gone at
// the lookup, the second try found it used, because the lost request
// redeemed it after all, or the second answer was lost too) the error
// wraps ErrUnknownOutcome: the lost answer may have carried the value,
// which is then gone for good, and trying again is pointless. Unwrap
// never reports such a token as ErrInvalidToken, which means the token
// was used, malformed or expired before this call. Requests Vault surely
// did not act on (a connection refused, a 429, a sealed Vault) are
// retried as vault/api retries them.
func Unwrap(ctx context.Context, client *api.Client, token string) (Secret, error) {
	u, err := unwrap(ctx, client, token)
	if err != nil {
		return nil, err
	}
	return u.Value, nil
}

// UnwrapSecret is Unwrap that also says which version of the secret the
// token held, and when that version was written: the one request, the
// same errors. A sender can wrap any version it may read (the members of
// an org may not ask for one, see package admin), and Vault records the
// path it read without the query string that named the version, so
// VerifyWrapped accepts the token whatever version it holds: compare
// Version with the version the sender announced (WrappedSecret.Version,
// with WithWrapVersion), or CreatedTime with when the secret was last
// changed.
func UnwrapSecret(ctx context.Context, client *api.Client, token string) (*UnwrappedSecret, error) {
	return unwrap(ctx, client, token)
}

// Unwrap is the package's Unwrap with the Client's vault/api client: Vault
// at the Client's address, with its TLS and retry settings. The Client's
// own token is not sent: the wrapping token authenticates the request.
// With Config.TracerProvider or Config.MeterProvider, the unwrap is one
// span (edge.Unwrap) and is measured as the sessions' operations are;
// neither holds the token or the value. It returns the errors Unwrap
// returns, and is safe for concurrent use.
func (c *Client) Unwrap(ctx context.Context, token string) (Secret, error) {
	u, err := c.unwrap(ctx, "unwrap", token)
	if err != nil {
		return nil, err
	}
	return u.Value, nil
}

// UnwrapSecret is the package's UnwrapSecret with the Client's vault/api
// client, traced (edge.UnwrapSecret) and measured as Client.Unwrap is. It
// returns the errors UnwrapSecret returns, and is safe for concurrent
// use.
func (c *Client) UnwrapSecret(ctx context.Context, token string) (*UnwrappedSecret, error) {
	return c.unwrap(ctx, "unwrap secret", token)
}

// unwrap is Client.Unwrap and Client.UnwrapSecret, spanOp naming the
// span (see spanNames); its metrics are operation "unwrap".
func (c *Client) unwrap(ctx context.Context, spanOp, token string) (*UnwrappedSecret, error) {
	t := c.tel
	if t == nil {
		return unwrap(ctx, c.api, token)
	}
	start := time.Now()
	ctx, span := t.start(ctx, spanOp, "unwrap", scope{}, "")
	defer endOnPanic(span)
	tctx, attempts := vaultclient.Track(ctx)
	u, err := unwrap(tctx, c.api, token)
	t.end(ctx, span, "unwrap", "", err, attempts, time.Since(start))
	return u, err
}

// unwrap is Unwrap and UnwrapSecret.
//
// An unwrap is never retried blindly: a second try after an answer that
// was lost finds the token used, and its value gone with the lost answer.
// After a lost answer, unwrap asks Vault whether the token is still
// there, and if it is, tries once more: the lost request may still
// redeem it a moment later, so a retry that finds the token used, or
// whose answer is lost too, is ErrUnknownOutcome (the value may have
// gone to this caller's lost answer), never ErrInvalidToken.
func unwrap(ctx context.Context, client *api.Client, token string) (*UnwrappedSecret, error) {
	c, err := tokenClient(client, token)
	if err != nil {
		return nil, &Error{Op: "unwrap", Kind: tokenKind(err), Err: err}
	}
	u, lost, err := unwrapOnce(ctx, c)
	if !lost {
		return u, err
	}
	if !tokenUnredeemed(ctx, c) {
		return nil, &Error{Op: "unwrap", Kind: ErrUnknownOutcome, Err: &lostError{"the answer was lost and the token may have been redeemed by the lost request", err}}
	}
	u, _, rerr := unwrapOnce(ctx, c)
	switch {
	case rerr == nil:
		return u, nil
	case errors.Is(rerr, ErrNotFound), errors.Is(rerr, ErrUndecodable):
		return nil, rerr // Vault's answer, the token redeemed by this try
	}
	// The token used (the lost request redeemed it after all), the
	// second answer lost too, or Vault unreachable while the lost
	// request may still complete: the value may be gone with the first
	// answer.
	return nil, &Error{Op: "unwrap", Kind: ErrUnknownOutcome, Err: &lostError{"the answer was lost, and a second try could not redeem the token: the value may have gone to the lost answer", err}}
}

// unwrapOnce sends one unwrap with c, whose token is the wrapping token,
// and reports whether an attempt may have reached Vault and had its
// answer lost (lost; then the error is the failure that lost it).
// Attempts Vault surely did not act on (a connection refused, a 429, a
// sealed Vault) are retried as vault/api retries them.
func unwrapOnce(ctx context.Context, c *api.Client) (u *UnwrappedSecret, lost bool, err error) {
	fail := func(kind, err error) error { return &Error{Op: "unwrap", Kind: kind, Err: err} }
	tctx, attempts := vaultclient.TrackOnce(ctx)
	req := vaultclient.Request{Method: http.MethodPut, Path: "sys/wrapping/unwrap"}
	u, err = vaultclient.Send(tctx, c, req, func(resp *api.Response, err error) (*UnwrappedSecret, error) {
		if err != nil {
			return nil, err
		}
		// decodeKVResponse reads the body as a stream, as Read does, so
		// that a body cut short is told from one that is not JSON; the
		// copy of what it read, the whole body once it succeeded, gives
		// the version.
		var raw bytes.Buffer
		body := &bodyReader{r: resp.Body}
		value, err := decodeKVResponse(io.TeeReader(body, &raw))
		if body.err != nil {
			// Vault redeemed the token, and its answer was cut short.
			return nil, fail(ErrUnknownOutcome, &lostError{"the token was redeemed but its answer was cut short", body.err})
		}
		if err != nil {
			return nil, fail(decodeKind(err), err)
		}
		u := &UnwrappedSecret{Value: value}
		u.Version, u.CreatedTime = kvVersion(raw.Bytes())
		return u, nil
	})
	var e *Error
	switch {
	case err == nil, errors.As(err, &e):
		return u, false, err
	case attempts.Lost():
		return nil, true, err
	}
	return nil, false, fail(wrapTokenKind(err), err)
}

// kvVersion returns data.metadata.version and data.metadata.created_time
// of the body of a KV v2 read, or zero values for what the body does not
// hold: the value is already decoded, and the token spent, so a missing
// or malformed version is reported as unknown (0), never as a failure.
func kvVersion(body []byte) (int, time.Time) {
	var kv struct {
		Data struct {
			Metadata struct {
				Version     json.RawMessage `json:"version"`
				CreatedTime json.RawMessage `json:"created_time"`
			} `json:"metadata"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &kv) != nil {
		return 0, time.Time{}
	}
	md := kv.Data.Metadata
	var version int
	if json.Unmarshal(md.Version, &version) != nil || version < 0 {
		version = 0
	}
	var created time.Time
	var ts string
	if json.Unmarshal(md.CreatedTime, &ts) == nil {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			created = t
		}
	}
	return version, created
}

// tokenClient's answers to a token that cannot be one: it is never
// quoted, it may be a credential.
var (
	errEmptyToken = errors.New("the token is empty")
	errTokenBytes = errors.New("the token holds a control byte or a character outside printable ASCII")
)

// printable reports whether token is printable ASCII, as every Vault
// token is, and as vault/api (and HTTP) require of a header value.
func printable(token string) bool {
	for i := 0; i < len(token); i++ {
		if token[i] < 0x21 || token[i] > 0x7e {
			return false
		}
	}
	return true
}

// tokenClient returns a client for Vault at client's address (or the
// environment's) that authenticates with token: a clone, so that the
// caller's client, perhaps shared, never gets the token (vault/api's own
// Logical().Unwrap sets it on a client that has none).
func tokenClient(client *api.Client, token string) (*api.Client, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errEmptyToken
	}
	if !printable(token) {
		return nil, errTokenBytes
	}
	c, err := vaultclient.Own(client)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return c, nil
}

func tokenKind(err error) error {
	if errors.Is(err, errEmptyToken) || errors.Is(err, errTokenBytes) {
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
