package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/vaultclient"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// WrappedSecret is a single-use Vault response-wrapping token that holds
// a copy of a secret's value, to hand to someone else. Whoever holds the
// token can redeem it once, before it expires, with a POST to UnwrapURL
// carrying the header X-Vault-Token: Token, or with Unwrap.
//
// Printing a WrappedSecret with the fmt verbs or log/slog never shows the
// token; marshalling it to JSON does, on purpose. (fmt cannot call methods
// through unexported struct fields: a struct that keeps a WrappedSecret in
// an unexported field prints its fields, token included, with %v.)
type WrappedSecret struct {
	Token        string        `json:"token"`         // the wrapping token: a credential, keep it secret
	Accessor     string        `json:"accessor"`      // the wrapping token's accessor, safe to log
	UnwrapURL    string        `json:"unwrap_url"`    // <vault address>/v1/sys/wrapping/unwrap
	TTL          time.Duration `json:"ttl"`           // the token's lifetime from CreationTime
	CreationTime time.Time     `json:"creation_time"` // when Vault made the token
	CreationPath string        `json:"creation_path"` // the Vault path that was read and wrapped, without the query string
	// Version is the KV v2 version the token holds, when the wrap was
	// made WithWrapVersion; 0 otherwise (the token then holds the version
	// that was the latest when Vault made it, which only UnwrapSecret
	// shows).
	Version int `json:"version,omitempty"`
}

// ExpiresAt returns the time after which the token can no longer be
// redeemed.
func (w WrappedSecret) ExpiresAt() time.Time { return w.CreationTime.Add(w.TTL) }

// String describes w without its token.
func (w WrappedSecret) String() string {
	var version string
	if w.Version > 0 {
		version = " version " + strconv.Itoa(w.Version)
	}
	return fmt.Sprintf("wrapped secret %s%s (accessor %s, token redacted, expires %s)",
		w.CreationPath, version, w.Accessor, w.ExpiresAt().UTC().Format(time.RFC3339))
}

// Format prints String for every verb, so that no verb (%v, %+v, %#v,
// %d, ...) prints the token, whether w is a value or a pointer.
func (w WrappedSecret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(w.String())) }

// LogValue makes log/slog print w without its token.
func (w WrappedSecret) LogValue() slog.Value { return slog.StringValue(w.String()) }

// WrapOption changes one call of WrapUserSecret or WrapOrgSecret.
type WrapOption func(*wrapOptions)

type wrapOptions struct {
	ttl     time.Duration
	version bool
}

// WithWrapTTL sets the wrapping token's lifetime for one call, in place of
// Config.WrapTTL. Vault needs whole seconds: a TTL that is not is rounded
// up. A TTL that is not positive, or that Vault refuses (its
// min_wrapping_ttl or max_wrapping_ttl policy limits), makes the call fail
// with ErrBadEntry.
func WithWrapTTL(ttl time.Duration) WrapOption {
	return func(o *wrapOptions) { o.ttl = ttl }
}

// WithWrapVersion makes the wrap say which version it holds, in
// WrappedSecret.Version, so that the sender can announce it and the
// receiver compare it with UnwrapSecret's. Vault's wrapped answer hides
// the data, the version with it, so this costs a second request: the
// wrap reads the secret's metadata for its current version N (as Update
// does), then wraps that version explicitly (?version=N): the token holds
// version N even if the secret changes in between.
//
// The metadata read needs the read capability on the secret's metadata
// path, which every Edge policy grants; the explicit version needs the
// version parameter, which the org members policy refuses (see package
// admin): an org member's wrap WithWrapVersion fails with
// ErrPermissionDenied, and no token is made. A secret whose
// latest version is deleted is ErrNotFound, before any token is made.
func WithWrapVersion() WrapOption {
	return func(o *wrapOptions) { o.version = true }
}

// wrapTTLParam returns ttl as Vault's X-Vault-Wrap-TTL header value, in
// whole seconds rounded up. Vault answers a TTL of 0 with the plain
// secret, so a TTL that is not positive is refused.
func wrapTTLParam(ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("wrap TTL %v is not positive", ttl)
	}
	secs := int64(ttl / time.Second)
	if ttl%time.Second != 0 {
		secs++
	}
	return strconv.FormatInt(secs, 10) + "s", nil
}

// wrapResponse is the body of a wrapped response.
type wrapResponse struct {
	WrapInfo *struct {
		Token        string    `json:"token"`
		Accessor     string    `json:"accessor"`
		TTL          int64     `json:"ttl"`
		CreationTime time.Time `json:"creation_time"`
		CreationPath string    `json:"creation_path"`
	} `json:"wrap_info"`
	Data json.RawMessage `json:"data"`
}

// errNotWrapped fails a wrap closed when Vault's answer is not a wrapping
// token alone: the secret must never reach the sender in the clear.
var errNotWrapped = errors.New("vault did not answer with a wrapping token alone; nothing was returned")

func (s *SecretsService) wrapSecret(ctx context.Context, sc scope, name string, opts []WrapOption) (*WrappedSecret, error) {
	if err := sc.check("wrap", name); err != nil {
		return nil, err
	}
	o := wrapOptions{ttl: s.c.set.wrapTTL}
	for _, opt := range opts {
		opt(&o)
	}
	ttl, err := wrapTTLParam(o.ttl)
	if err != nil {
		return nil, sc.fail("wrap", name, ErrBadEntry, err)
	}
	var version uint64
	var query url.Values
	if o.version {
		version, err = s.currentVersion(ctx, "wrap", sc, name)
		if err != nil {
			return nil, err
		}
		query = url.Values{"version": {strconv.FormatUint(version, 10)}}
	}
	req := vaultclient.Request{Method: http.MethodGet, Path: sc.data + "/" + name, Query: query, WrapTTL: ttl, Token: s.token, Gate: s.c.gate}
	w, err := vaultclient.Send(ctx, s.c.api, req, func(resp *api.Response, err error) (*WrappedSecret, error) {
		if err != nil {
			return nil, err
		}
		var body wrapResponse
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return nil, sc.fail("wrap", name, nil, errNotWrapped)
		}
		wi := body.WrapInfo
		if wi == nil || wi.Token == "" || (len(body.Data) > 0 && string(body.Data) != "null") {
			return nil, sc.fail("wrap", name, nil, errNotWrapped)
		}
		return &WrappedSecret{
			Token:        wi.Token,
			Accessor:     wi.Accessor,
			UnwrapURL:    s.c.unwrapURL,
			TTL:          time.Duration(wi.TTL) * time.Second,
			CreationTime: wi.CreationTime,
			CreationPath: wi.CreationPath,
			Version:      int(version),
		}, nil
	})
	var e *Error
	if err == nil || errors.As(err, &e) {
		return w, err
	}
	return nil, s.wrapRefused(ctx, sc, name, ttl, query != nil, err)
}

// wrapRefused classifies Vault's refusal (err) of a wrapped read of
// secret name with wrap TTL ttl, with a version query or not.
//
// Vault answers a TTL outside the path's min_wrapping_ttl or
// max_wrapping_ttl with a bare 403, the same answer as any other refusal.
// sys/capabilities-self tells a token that may read the path, but it
// ignores parameters: a read of a version that the path's
// denied_parameters refuse (the org members policy refuses "version", and
// binds an admin who is also a member) is refused as well. So the 403 is
// read as the TTL only for a read without a query, by a token that may
// read the path; a refused version read is ErrPermissionDenied, saying
// why.
func (s *SecretsService) wrapRefused(ctx context.Context, sc scope, name, ttl string, versioned bool, err error) error {
	kind := readKindOf(err)
	switch {
	case vaulterr.IsWrapRefused(err):
		// Vault refused the wrap TTL header itself.
		kind = ErrBadEntry
	case kind != ErrPermissionDenied:
	case versioned:
		err = fmt.Errorf("vault refused the read of a given version; the path's policy may deny the version parameter (an org member, admin or not, may wrap only the latest version): %w", err)
	case s.canRead(ctx, sc.data+"/"+name):
		kind = ErrBadEntry
		err = fmt.Errorf("vault's policy does not allow a wrapping ttl of %s on this path (min_wrapping_ttl or max_wrapping_ttl): %w", ttl, err)
	}
	return sc.fail("wrap", name, kind, err)
}

// canRead reports whether the session's token has the read capability on
// path, asking Vault (sys/capabilities-self, in Vault's default policy).
func (s *SecretsService) canRead(ctx context.Context, path string) bool {
	body, err := json.Marshal(map[string][]string{"paths": {path}})
	if err != nil {
		return false
	}
	req := vaultclient.Request{Method: http.MethodPut, Path: "sys/capabilities-self", Body: body, Token: s.token, Gate: s.c.gate}
	caps, err := vaultclient.Send(ctx, s.c.api, req, func(resp *api.Response, err error) ([]string, error) {
		if err != nil {
			return nil, err
		}
		var answer map[string]json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			return nil, err
		}
		var caps []string
		if err := json.Unmarshal(answer[path], &caps); err != nil {
			return nil, err
		}
		return caps, nil
	})
	if err != nil {
		return false
	}
	for _, c := range caps {
		if c == "read" || c == "root" {
			return true
		}
	}
	return false
}
