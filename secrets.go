package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/vault/api"

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
// Vault's policies let every member of the org list, read and wrap them,
// and only the org's admins create, update and delete them.
//
// Besides the errors each method names, every method returns an error
// wrapping ErrBadEntry if name is invalid (no request is sent),
// ErrPermissionDenied if Vault refuses the request, ErrNoEntity (user
// methods) if the session's token has no identity entity, and ErrNoOrg
// (org methods) if the session has no org. Any other failure is an *Error
// wrapping vault/api's error.
//
// Each user method has an org twin; both build their scope's Vault path
// and share one implementation, so the two scopes behave alike. A
// SecretsService is safe for concurrent use by multiple goroutines.
type SecretsService struct {
	client  *api.Client
	address string
	wrapTTL time.Duration
	user    scope
	org     scope
}

// scope is where one kind of secret lives in Vault.
type scope struct {
	name string // "user" or "org", as errors print it
	data string // KV v2 data path of the scope: <mount>/data/<prefix>/users/<entity>
	meta string // KV v2 metadata path of the scope: <mount>/metadata/<prefix>/users/<entity>
	err  error  // why the scope cannot be used (ErrNoEntity, ErrNoOrg), or nil
}

func newScope(name, mount, base string) scope {
	return scope{name: name, data: mount + "/data/" + base, meta: mount + "/metadata/" + base}
}

// fail returns the *Error of operation op on secret name in scope sc.
func (sc scope) fail(op, name string, kind, err error) error {
	return &Error{Op: op, Scope: sc.name, Name: name, Kind: kind, Err: err}
}

// check refuses an unusable scope or an invalid name before any request.
func (sc scope) check(op, name string) error {
	if sc.err != nil {
		return sc.fail(op, name, sc.err, nil)
	}
	if err := checkName(name); err != nil {
		return sc.fail(op, name, ErrBadEntry, err)
	}
	return nil
}

// maxUpdateAttempts bounds how often update retries when another writer
// changes the secret between its metadata read and its write.
const maxUpdateAttempts = 8

// casMismatch is part of Vault's KV v2 answer to a write whose cas
// parameter does not match the current version.
const casMismatch = "check-and-set parameter did not match the current version"

func (s *SecretsService) list(ctx context.Context, sc scope) ([]string, error) {
	if sc.err != nil {
		return nil, sc.fail("list", "", sc.err, nil)
	}
	secret, err := s.client.Logical().ListWithContext(ctx, sc.meta)
	if err != nil {
		return nil, sc.fail("list", "", kindOf(err), err)
	}
	names := []string{}
	if secret == nil { // vault/api's answer to 404: an empty scope
		return names, nil
	}
	keys, _ := secret.Data["keys"].([]any)
	for _, k := range keys {
		// A key ending in '/' is a folder some other tool made below
		// the scope: it is not a secret of ours.
		if name, ok := k.(string); ok && ValidName(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

func (s *SecretsService) read(ctx context.Context, sc scope, name string) (Secret, error) {
	if err := sc.check("read", name); err != nil {
		return nil, err
	}
	resp, err := s.client.Logical().ReadRawWithContext(ctx, sc.data+"/"+name)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		// 404: missing, or latest version deleted or destroyed.
		return nil, sc.fail("read", name, readKindOf(err), err)
	}
	value, err := decodeKVResponse(resp.Body)
	if err != nil {
		return nil, sc.fail("read", name, nil, err)
	}
	return value, nil
}

func (s *SecretsService) create(ctx context.Context, sc scope, name string, value Secret) error {
	if err := sc.check("create", name); err != nil {
		return err
	}
	stored, err := kvValue(value)
	if err != nil {
		return sc.fail("create", name, ErrBadEntry, err)
	}
	// cas=0: the write succeeds only if the secret does not exist.
	_, err = s.client.Logical().WriteBytesWithContext(ctx, sc.data+"/"+name, kvWriteBody(0, stored))
	switch {
	case err == nil:
		return nil
	case vaulterr.Mentions(err, casMismatch):
		return sc.fail("create", name, ErrAlreadyExists, nil)
	}
	return sc.fail("create", name, kindOf(err), err)
}

func (s *SecretsService) update(ctx context.Context, sc scope, name string, value Secret) error {
	if err := sc.check("update", name); err != nil {
		return err
	}
	stored, err := kvValue(value)
	if err != nil {
		return sc.fail("update", name, ErrBadEntry, err)
	}
	for range maxUpdateAttempts {
		version, err := s.currentVersion(ctx, sc, name)
		if err != nil {
			return err
		}
		// cas=version: the write succeeds only if nobody wrote, or
		// deleted, the secret since the metadata read; a deleted
		// secret is never brought back.
		_, err = s.client.Logical().WriteBytesWithContext(ctx, sc.data+"/"+name, kvWriteBody(version, stored))
		if err == nil {
			return nil
		}
		if !vaulterr.Mentions(err, casMismatch) {
			return sc.fail("update", name, kindOf(err), err)
		}
	}
	return sc.fail("update", name, ErrConflict, fmt.Errorf("gave up after %d attempts", maxUpdateAttempts))
}

// currentVersion returns the version number of the secret's live latest
// version, or an error wrapping ErrNotFound if it has none.
func (s *SecretsService) currentVersion(ctx context.Context, sc scope, name string) (uint64, error) {
	meta, err := s.client.Logical().ReadWithContext(ctx, sc.meta+"/"+name)
	if err != nil {
		return 0, sc.fail("update", name, readKindOf(err), err)
	}
	if meta == nil { // vault/api's answer to 404
		return 0, sc.fail("update", name, ErrNotFound, nil)
	}
	cur, _ := meta.Data["current_version"].(json.Number)
	version, err := strconv.ParseUint(string(cur), 10, 64)
	if err != nil || version == 0 {
		return 0, sc.fail("update", name, ErrNotFound, nil)
	}
	versions, _ := meta.Data["versions"].(map[string]any)
	latest, _ := versions[cur.String()].(map[string]any)
	// A deletion time in the future is a scheduled deletion (the
	// mount's delete_version_after): the version is still live.
	if deleted, _ := latest["deletion_time"].(string); deleted != "" {
		if at, err := time.Parse(time.RFC3339Nano, deleted); err != nil || !at.After(time.Now()) {
			return 0, sc.fail("update", name, ErrNotFound, nil)
		}
	}
	if destroyed, _ := latest["destroyed"].(bool); destroyed {
		return 0, sc.fail("update", name, ErrNotFound, nil)
	}
	return version, nil
}

// kvWriteBody returns the body of a KV v2 write of the JSON object data
// with the given check-and-set version.
func kvWriteBody(cas uint64, data []byte) []byte {
	b := make([]byte, 0, len(data)+48)
	b = append(b, `{"options":{"cas":`...)
	b = strconv.AppendUint(b, cas, 10)
	b = append(b, `},"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

func (s *SecretsService) delete(ctx context.Context, sc scope, name string) error {
	if err := sc.check("delete", name); err != nil {
		return err
	}
	// Deleting the metadata removes every version, so the name can be
	// created again. Vault answers 204 whether or not it existed.
	if _, err := s.client.Logical().DeleteWithContext(ctx, sc.meta+"/"+name); err != nil {
		return sc.fail("delete", name, kindOf(err), err)
	}
	return nil
}
