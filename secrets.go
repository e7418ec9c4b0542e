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

// SecretsService does the EdgeSecrets operations, for the session's user
// and for the session's org. Reach it as Session.Secrets.
//
// User secrets live at <mount>/data/<prefix>/users/<entity id>/<name>,
// where the entity id is the Vault identity entity of the session's token.
// They are private to that user: Vault's policies, not this client, keep
// every other token out. Org secrets live at
// <mount>/data/<prefix>/orgs/<org>/<name>, where org is the session's org;
// Vault's policies let every member of the org list, read and wrap them
// and list their versions, and only the org's admins create, update and
// delete them, read older versions and roll back.
//
// Besides the errors each method names, every method returns an error
// wrapping ErrBadEntry if name is invalid (no request is sent),
// ErrPermissionDenied if Vault refuses the request, ErrNoEntity (user
// methods) if the session's token has no identity entity, and ErrNoOrg
// (org methods) if the session has no org, ErrUnavailable if Vault could
// not answer (sealed, unreachable, 5xx, 429), and, for Create, Update,
// Delete and Rollback, ErrUnknownOutcome if an attempt's answer was lost
// and the SDK could not learn from Vault whether the change took effect.
// A cancelled
// or expired ctx gives an error matching ctx.Err(). Any other failure is
// an *Error wrapping vault/api's error.
//
// Each user method has an org twin; both build their scope's Vault path
// and share one implementation, so the two scopes behave alike. A
// SecretsService is safe for concurrent use by multiple goroutines.
type SecretsService struct {
	c     *Client
	token string     // the caller's token; "" for the Client's own (NewSession's), which follows its logins
	auth  *authState // the Client's renewal, for a session of its own token; nil otherwise
	id    *sessionIdentity
	org   scope
	cache *readCache // nil without Config.CacheTTL
}

// userScope returns the scope of the session's user secrets, learning
// the token's entity from the Client (or Vault) the first time. A scope
// that cannot be used (ErrNoEntity, or a failed lookup) says why.
func (s *SecretsService) userScope(ctx context.Context) scope {
	if sc, ok := s.id.get(); ok {
		return sc
	}
	e, err := s.c.ids.entity(ctx, s.c.api, s.c.gate, s.token)
	if err != nil {
		kind, cause := splitIdentityError(err)
		return scope{name: "user", err: kind, cause: cause}
	}
	s.id.resolve(e.user, e.entityID)
	return e.user
}

// The operations: each runs its implementation through call.

func (s *SecretsService) list(ctx context.Context, sc scope) ([]string, error) {
	return call(s, ctx, "list", sc, "", func(ctx context.Context) ([]string, error) { return s.listSecrets(ctx, sc) })
}

func (s *SecretsService) read(ctx context.Context, sc scope, name string) (Secret, error) {
	if s.cache == nil {
		return call(s, ctx, "read", sc, name, func(ctx context.Context) (Secret, error) { return s.readSecret(ctx, sc, name) })
	}
	// A hit asks nothing of Vault: it is checked as call checks (an
	// invalid name or an unusable scope is never cached), logged with 0
	// attempts, and traced and measured as a hit.
	key := cacheKey{sc.data, name}
	if !(sc.name == "user" && s.auth.identityChanged()) {
		var start time.Time
		if s.c.tel != nil {
			start = time.Now()
		}
		if v, ok := s.cache.get(key); ok {
			if s.c.logger != nil {
				s.logCall(ctx, "read", sc.name, name, nil, 0, 0)
			}
			if s.c.tel != nil {
				s.c.tel.cacheHit(ctx, "read", sc, name, start)
			}
			return cloneSecret(v), nil
		}
	}
	var miss struct {
		staleSince time.Time // the refresh that answered after stale serves: when they began
		counted    bool      // the miss is counted, once however often call runs f
	}
	v, err := call(s, ctx, "read", sc, name, func(ctx context.Context) (Secret, error) {
		if err := sc.check("read", name); err != nil {
			return nil, err
		}
		if s.c.tel != nil && !miss.counted {
			miss.counted = true
			s.c.tel.cacheMiss(ctx, "read", sc.name)
		}
		v, since, err := s.cache.miss(ctx, key, func(ctx context.Context) (Secret, error) { return s.readSecret(ctx, sc, name) })
		if !since.IsZero() {
			miss.staleSince = since
		}
		if err != nil {
			if sv, st, ok := s.cache.stale(ctx, key, err); ok {
				if st.stale {
					// stale serve: the one place a read returns an
					// expired value, because Vault could not answer
					// (err) its refresh.
					s.logStale(ctx, sc, name, err, st)
					if s.c.tel != nil {
						s.c.tel.staleServe(ctx, "read", sc.name)
					}
				}
				return sv, nil
			}
		}
		return v, err
	})
	if !miss.staleSince.IsZero() && s.c.logger != nil {
		// Info when Vault answers with the value again; Warn when its
		// answer is a refusal or a not-found that ends the stale serves.
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelWarn
		}
		s.c.logger.LogAttrs(ctx, level, "edge: read: vault answers again after stale values were served",
			slog.String("op", "read"), slog.String("scope", sc.name), slog.String("name", name),
			slog.String("outcome", outcome(err)), slog.Duration("stale_for", time.Since(miss.staleSince)))
	}
	return v, err
}

// logStale writes the record of a stale serve of name: Warn for the
// first since the value was read from Vault, Debug after it. err is the
// refresh's failure. The record holds no value.
func (s *SecretsService) logStale(ctx context.Context, sc scope, name string, err error, st staleServe) {
	if s.c.logger == nil {
		return
	}
	level := slog.LevelDebug
	if st.first {
		level = slog.LevelWarn
	}
	s.c.logger.LogAttrs(ctx, level, "edge: read: vault unavailable, serving a stale value",
		slog.String("op", "read"), slog.String("scope", sc.name), slog.String("name", name),
		slog.String("outcome", outcome(err)), slog.Duration("age", st.age),
		slog.Duration("max_age", s.c.set.cacheTTL+s.c.set.cacheStaleIfError))
}

func (s *SecretsService) create(ctx context.Context, sc scope, name string, value Secret) error {
	_, err := call(s, ctx, "create", sc, name, func(ctx context.Context) (struct{}, error) {
		defer s.invalidate(sc, name)
		return struct{}{}, s.createSecret(ctx, sc, name, value)
	})
	return err
}

func (s *SecretsService) update(ctx context.Context, sc scope, name string, value Secret) error {
	_, err := call(s, ctx, "update", sc, name, func(ctx context.Context) (struct{}, error) {
		defer s.invalidate(sc, name)
		return struct{}{}, s.updateSecret(ctx, sc, name, value)
	})
	return err
}

func (s *SecretsService) delete(ctx context.Context, sc scope, name string) error {
	_, err := call(s, ctx, "delete", sc, name, func(ctx context.Context) (struct{}, error) {
		defer s.invalidate(sc, name)
		return struct{}{}, s.deleteSecret(ctx, sc, name)
	})
	return err
}

// InvalidateAll drops every cached value of the session (and of the
// sessions WithOrg derived from it, which share its cache), so that every
// next read asks Vault: for example after the session's user was removed
// from an org, whose secrets it may otherwise read from the cache until
// Config.CacheTTL ends. Reads in flight do not store their answers.
// Without Config.CacheTTL it does nothing.
func (s *SecretsService) InvalidateAll() {
	if s.cache != nil {
		s.cache.invalidateAll()
	}
}

// invalidate drops name's cached value, if the session caches reads. A
// write drops it whatever its outcome: a write that failed may still
// have changed the secret.
func (s *SecretsService) invalidate(sc scope, name string) {
	if s.cache != nil && ValidName(name) {
		s.cache.invalidate(cacheKey{sc.data, name})
	}
}

func (s *SecretsService) wrap(ctx context.Context, sc scope, name string, opts []WrapOption) (*WrappedSecret, error) {
	return call(s, ctx, "wrap", sc, name, func(ctx context.Context) (*WrappedSecret, error) { return s.wrapSecret(ctx, sc, name, opts) })
}

// call runs operation op of secret name in scope sc: it refuses the user
// scope of a session whose identity changed, retries f once after a new
// login when Vault refused a token it no longer knows (with Config.Auth),
// and logs one record of the outcome. With Config.TracerProvider or
// Config.MeterProvider it runs f in the operation's span (named from op
// and sc's scope, see spanNames) and records its metrics; without either,
// it costs one nil check.
func call[T any](s *SecretsService, ctx context.Context, op string, sc scope, name string, f func(context.Context) (T, error)) (T, error) {
	t := s.c.tel
	if t == nil {
		v, _, err := run(s, ctx, op, sc, name, f)
		return v, err
	}
	start := time.Now()
	ctx, span := t.start(ctx, op, op, sc, name)
	defer endOnPanic(span)
	v, attempts, err := run(s, ctx, op, sc, name, f)
	t.end(ctx, span, op, sc.name, err, attempts, time.Since(start))
	return v, err
}

// run is call without telemetry. It returns the attempts of f (nil if f
// was not run).
func run[T any](s *SecretsService, ctx context.Context, op string, sc scope, name string, f func(context.Context) (T, error)) (T, *vaultclient.Attempts, error) {
	if sc.name == "user" && s.auth.identityChanged() {
		var zero T
		return zero, nil, sc.fail(op, name, ErrIdentityChanged, nil)
	}
	if !s.c.mountOK.Load() && sc.usable() && (op == "list" || ValidName(name)) {
		if err := s.c.checkMount(ctx, op, s.token, &sc); err != nil {
			var zero T
			return zero, nil, err
		}
	}
	start := time.Now()
	tctx, attempts := vaultclient.Track(ctx)
	used := s.token
	if used == "" {
		used = s.c.api.Token()
	}
	v, err := f(tctx)
	if err != nil && errors.Is(err, ErrPermissionDenied) {
		switch {
		case s.auth.recover(ctx, used):
			if sc.name == "user" && s.auth.identityChanged() {
				return v, attempts, sc.fail(op, name, ErrIdentityChanged, nil)
			}
			v, err = f(tctx)
		case s.token != "":
			s.c.confirmRefusal(ctx, s.token)
		}
		if err != nil && s.cache != nil && errors.Is(err, ErrPermissionDenied) {
			// A refusal that a new login did not cure drops every
			// cached value of the session, not only this name's: the
			// token may be revoked or the user removed from the org,
			// and none of its values may be served again, stale during
			// an outage (Config.CacheStaleIfError) or fresh.
			s.cache.invalidateAll()
		}
	}
	if s.c.logger != nil {
		s.logCall(ctx, op, sc.name, name, err, attempts.N(), time.Since(start))
	}
	return v, attempts, err
}

// logCall writes an operation's Debug record. An invalid name is left
// out: it may be anything, a token pasted in the wrong place.
func (s *SecretsService) logCall(ctx context.Context, op, scope, name string, err error, attempts int, d time.Duration) {
	if !ValidName(name) {
		name = ""
	}
	s.c.logger.LogAttrs(ctx, slog.LevelDebug, "edge: "+op,
		slog.String("op", op), slog.String("scope", scope), slog.String("name", name),
		slog.String("outcome", outcome(err)), slog.Int("attempts", attempts), slog.Duration("duration", d))
}

// scope is where one kind of secret lives in Vault.
type scope struct {
	name  string // "user" or "org", as errors print it
	org   string // the org of an org scope; "" otherwise
	data  string // KV v2 data path of the scope: <mount>/data/<prefix>/users/<entity>
	meta  string // KV v2 metadata path of the scope: <mount>/metadata/<prefix>/users/<entity>
	err   error  // why the scope cannot be used (ErrNoEntity, ErrNoOrg, a failed lookup's kind), or nil
	cause error  // a failed lookup's cause, or nil
}

// usable reports whether operations may be sent in the scope.
func (sc scope) usable() bool { return sc.err == nil && sc.cause == nil }

func newScope(name, mount, base string) scope {
	return scope{name: name, data: mount + "/data/" + base, meta: mount + "/metadata/" + base}
}

// fail returns the *Error of operation op on secret name in scope sc.
func (sc scope) fail(op, name string, kind, err error) error {
	return &Error{Op: op, Scope: sc.name, Name: name, Kind: kind, Err: err}
}

// check refuses an unusable scope or an invalid name before any request.
func (sc scope) check(op, name string) error {
	if err := checkName(name); err != nil {
		// Not the name: it may be anything, a token pasted in the
		// wrong place; the cause quotes at most a short prefix.
		return sc.fail(op, "", ErrBadEntry, err)
	}
	if !sc.usable() {
		return sc.fail(op, name, sc.err, sc.cause)
	}
	return nil
}

// maxUpdateAttempts bounds how often update retries when another writer
// changes the secret between its metadata read and its write.
const maxUpdateAttempts = 8

func (s *SecretsService) listSecrets(ctx context.Context, sc scope) ([]string, error) {
	if !sc.usable() {
		return nil, sc.fail("list", "", sc.err, sc.cause)
	}
	// A LIST, as vault/api's Logical().List sends it, with the answer
	// decoded in one pass (decodeListResponse) rather than into a
	// map[string]any first.
	req := vaultclient.Request{Method: http.MethodGet, Path: sc.meta, Query: listParams, Token: s.token, Gate: s.c.gate}
	return vaultclient.Send(ctx, s.c.api, req, func(resp *api.Response, err error) ([]string, error) {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return []string{}, nil // an empty scope, as vault/api reads a 404
		}
		if err != nil {
			return nil, sc.fail("list", "", kindOf(err), err)
		}
		// A key ending in '/' is a folder some other tool made below the
		// scope: decodeListResponse keeps only valid names, sorted.
		body := &bodyReader{r: resp.Body}
		names, err := decodeListResponse(body)
		if body.err != nil {
			return nil, sc.fail("list", "", kindOf(body.err), body.err)
		}
		if err != nil {
			return nil, sc.fail("list", "", decodeKind(err), err)
		}
		return names, nil
	})
}

// listParams makes a GET a LIST. It is never modified: vault/api copies
// it into each request's URL.
var listParams = url.Values{"list": {"true"}}

func (s *SecretsService) readSecret(ctx context.Context, sc scope, name string) (Secret, error) {
	if err := sc.check("read", name); err != nil {
		return nil, err
	}
	req := vaultclient.Request{Method: http.MethodGet, Path: sc.data + "/" + name, Token: s.token, Gate: s.c.gate}
	return vaultclient.Send(ctx, s.c.api, req, func(resp *api.Response, err error) (Secret, error) {
		if err != nil {
			// 404: missing, or latest version deleted or destroyed.
			return nil, sc.fail("read", name, timedOut(ctx, err, readKindOf(err)), err)
		}
		body := &bodyReader{r: resp.Body}
		value, err := decodeKVResponse(body)
		if body.err != nil {
			return nil, sc.fail("read", name, timedOut(ctx, body.err, kindOf(body.err)), body.err)
		}
		if err != nil {
			return nil, sc.fail("read", name, decodeKind(err), err)
		}
		return value, nil
	})
}

// timedOut returns ErrUnavailable for a read that failed with err because
// of the client's own request timeout (vault/api's Config.Timeout,
// VAULT_CLIENT_TIMEOUT), which ends the request with
// context.DeadlineExceeded while ctx, the caller's, goes on: Vault did
// not answer in time. Otherwise it returns kind, err's classification.
func timedOut(ctx context.Context, err, kind error) error {
	if kind == nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return ErrUnavailable
	}
	return kind
}

// create writes with cas=0, so that the write succeeds only if the secret
// does not exist. If an attempt's answer was lost and vault/api's retry
// then finds the secret existing, version 1 may be the lost attempt's
// write: create asks Vault (see ownWrite) rather than report
// ErrAlreadyExists for the caller's own write.
func (s *SecretsService) createSecret(ctx context.Context, sc scope, name string, value Secret) error {
	if err := sc.check("create", name); err != nil {
		return err
	}
	stored, err := kvValue(value)
	if err != nil {
		return sc.fail("create", name, ErrBadEntry, err)
	}
	start := time.Now()
	tctx, attempts := vaultclient.Track(ctx)
	err = s.write(tctx, sc, name, kvWriteBody(0, stored))
	switch {
	case err == nil:
		return nil
	case vaulterr.IsCASMismatch(err) && !attempts.Lost():
		return sc.fail("create", name, ErrAlreadyExists, nil)
	case vaulterr.IsCASMismatch(err):
		switch s.ownWrite(ctx, sc, name, 1, 0, stored, start) {
		case ours:
			return nil
		case theirs:
			return sc.fail("create", name, ErrAlreadyExists, nil)
		}
		return sc.fail("create", name, ErrUnknownOutcome, &lostError{"an attempt's answer was lost, a retry found the secret existing, and vault could not show whose it is", err})
	case attempts.Lost():
		// The last answer was lost too: ask Vault whether a write
		// took effect.
		switch s.ownWrite(ctx, sc, name, 1, 0, stored, start) {
		case ours:
			return nil
		case theirs:
			return sc.fail("create", name, ErrAlreadyExists, nil)
		}
		return sc.fail("create", name, ErrUnknownOutcome, &lostError{"the answer was lost and vault could not show whether the write took effect", err})
	}
	return sc.fail("create", name, kindOf(err), err)
}

// update writes with cas=<the current version>, so that the write
// succeeds only if nobody wrote, or deleted, the secret since the
// metadata read: a deleted secret is never brought back. If another
// writer came first it reads the current version again and retries, at
// most maxUpdateAttempts times, then ErrConflict. A lost answer is
// decided by casWrite; if Vault cannot tell whether the version found is
// the lost write's, update writes again: the value is written twice, as
// two versions, which is harmless.
func (s *SecretsService) updateSecret(ctx context.Context, sc scope, name string, value Secret) error {
	if err := sc.check("update", name); err != nil {
		return err
	}
	stored, err := kvValue(value)
	if err != nil {
		return sc.fail("update", name, ErrBadEntry, err)
	}
	start := time.Now()
	lost := false // an earlier write's answer was lost: it may have been applied
	for range maxUpdateAttempts {
		version, err := s.currentVersion(ctx, "update", sc, name)
		if err != nil {
			if lost {
				return sc.fail("update", name, ErrUnknownOutcome, &lostError{"an attempt's answer was lost and the secret could not be read afterwards", err})
			}
			return err
		}
		switch res, err := s.casWrite(ctx, "update", sc, name, version, stored, start, &lost); res {
		case casWritten:
			return nil
		case casFailed:
			return err
		}
		// casTheirs or casUnsure: read the current version again.
	}
	return sc.fail("update", name, ErrConflict, fmt.Errorf("gave up after %d attempts", maxUpdateAttempts))
}

// casResult is what one check-and-set write (casWrite) did.
type casResult int

const (
	casWritten casResult = iota // the write took effect: Vault said so, or ownWrite found it after a lost answer
	casFailed                   // the write failed: the error says why
	casTheirs                   // another writer made the next version first: nothing written
	casUnsure                   // the next version exists, an attempt's answer was lost, and Vault could not tell whose it is
)

// casWrite writes stored (as kvValue encodes a value) as version+1 of
// secret name in sc, with check-and-set on version, for operation op of
// a call that started at start: the one write of update and rollback. If
// an attempt's answer was lost it asks Vault whether version+1 is the
// write's own (ownWrite). *lost records that an answer was lost, in this
// call or an earlier one of the same operation: a failure after that is
// ErrUnknownOutcome. casFailed comes with the operation's *Error; the
// other results with vault/api's error of the write, or nil.
func (s *SecretsService) casWrite(ctx context.Context, op string, sc scope, name string, version uint64, stored []byte, start time.Time, lost *bool) (casResult, error) {
	tctx, attempts := vaultclient.Track(ctx)
	err := s.write(tctx, sc, name, kvWriteBody(version, stored))
	if err == nil {
		return casWritten, nil
	}
	*lost = *lost || attempts.Lost()
	if !vaulterr.IsCASMismatch(err) {
		if attempts.Lost() && s.ownWrite(ctx, sc, name, version+1, version, stored, start) == ours {
			return casWritten, nil
		}
		return casFailed, sc.fail(op, name, writeKindOf(err, *lost), err)
	}
	if !attempts.Lost() {
		return casTheirs, err
	}
	switch s.ownWrite(ctx, sc, name, version+1, version, stored, start) {
	case ours:
		return casWritten, nil
	case theirs:
		return casTheirs, err
	}
	return casUnsure, err
}

// currentVersion returns the version number of the secret's live latest
// version, or an error (for operation op) wrapping ErrNotFound if it has
// none.
//
// A latest version with a deletion time is deleted once that time has
// come (a delete sets it to the moment of deleting, the mount's
// delete_version_after to a time after the write). Whether it has come
// is not decided here by comparing the deletion time with a clock: the
// client's clock may be off, and so may the Date header of whichever
// node of an HA cluster answered. Vault decides it, on the node that
// keeps the data: a read of the latest version answers 404 if it is
// deleted (see liveVersion). Only versions with a deletion time cost
// that second request.
func (s *SecretsService) currentVersion(ctx context.Context, op string, sc scope, name string) (uint64, error) {
	meta, err := s.readMetadata(ctx, op, sc, name)
	if err != nil {
		return 0, err
	}
	version := meta.Data.CurrentVersion
	if version == 0 {
		return 0, sc.fail(op, name, ErrNotFound, nil)
	}
	latest, _ := meta.latest()
	if latest.Destroyed {
		return 0, sc.fail(op, name, ErrNotFound, nil)
	}
	if latest.DeletionTime != "" {
		return s.liveVersion(ctx, op, sc, name)
	}
	return version, nil
}

// liveVersion asks Vault for the version number of the secret's live
// latest version by reading it: 404 means the latest version is deleted
// or destroyed (ErrNotFound). Reading the data is allowed wherever
// currentVersion is needed (an org admin's update, a wrap of a version).
// The value read is discarded unread.
func (s *SecretsService) liveVersion(ctx context.Context, op string, sc scope, name string) (uint64, error) {
	req := vaultclient.Request{Method: http.MethodGet, Path: sc.data + "/" + name, Token: s.token, Gate: s.c.gate}
	return vaultclient.Send(ctx, s.c.api, req, func(resp *api.Response, err error) (uint64, error) {
		if err != nil {
			return 0, sc.fail(op, name, timedOut(ctx, err, readKindOf(err)), err)
		}
		var v struct {
			Data struct {
				Metadata struct {
					Version uint64 `json:"version"`
				} `json:"metadata"`
			} `json:"data"`
		}
		body := &bodyReader{r: resp.Body}
		if err := json.NewDecoder(body).Decode(&v); err != nil || v.Data.Metadata.Version == 0 {
			if body.err != nil {
				return 0, sc.fail(op, name, timedOut(ctx, body.err, kindOf(body.err)), body.err)
			}
			return 0, sc.fail(op, name, nil, errors.New("vault returned a version read without a version"))
		}
		return v.Data.Metadata.Version, nil
	})
}

// kvWriteBody returns the request body of a KV v2 write of the JSON
// object data with the given check-and-set version:
// {"options":{"cas":N},"data":<data>}, data copied as it is. vault/api
// sends bytes without encoding them again. A standby that cannot forward
// answers 307: the session's client follows it in net/http, with these
// bytes (vaultclient.Own); vault/api's own redirect handling, which would
// send "null" for a request made of bytes, never sees it.
func kvWriteBody(cas uint64, data []byte) []byte {
	b := make([]byte, 0, len(data)+48)
	b = append(b, `{"options":{"cas":`...)
	b = strconv.AppendUint(b, cas, 10)
	b = append(b, `},"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// delete deletes the metadata, which removes every version, so that the
// name can be created again. Vault answers 204 whether or not the secret
// existed, so a retry after a lost answer is harmless.
func (s *SecretsService) deleteSecret(ctx context.Context, sc scope, name string) error {
	if err := sc.check("delete", name); err != nil {
		return err
	}
	tctx, attempts := vaultclient.Track(ctx)
	req := vaultclient.Request{Method: http.MethodDelete, Path: sc.meta + "/" + name, Token: s.token, Gate: s.c.gate}
	_, err := vaultclient.Send(tctx, s.c.api, req, func(resp *api.Response, err error) (struct{}, error) {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return struct{}{}, nil // nothing to delete, as vault/api reads a 404
		}
		return struct{}{}, err
	})
	if err != nil {
		return sc.fail("delete", name, writeKindOf(err, attempts.Lost()), err)
	}
	return nil
}

// write sends a KV v2 write of body (see kvWriteBody) to secret name in
// sc. Vault's answer, the new version's metadata, is not needed.
func (s *SecretsService) write(ctx context.Context, sc scope, name string, body []byte) error {
	req := vaultclient.Request{Method: http.MethodPut, Path: sc.data + "/" + name, Body: body, Token: s.token, Gate: s.c.gate}
	_, err := vaultclient.Send(ctx, s.c.api, req, func(_ *api.Response, err error) (struct{}, error) { return struct{}{}, err })
	return err
}
