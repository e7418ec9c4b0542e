package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/vaultclient"
)

// SecretVersion describes one version of a secret as Vault's KV version 2
// engine keeps it: its number and times, never its value.
type SecretVersion struct {
	// Number is the version's number: 1 for the first write, then 2, ...
	Number int
	// CreatedTime is when the version was written.
	CreatedTime time.Time
	// DeletionTime is when the version was deleted, or is to be deleted;
	// zero if it is not. A time in the future is a scheduled deletion
	// (the mount's or the secret's delete_version_after): the version is
	// live until then.
	DeletionTime time.Time
	// Destroyed reports whether the version's value was destroyed for
	// good.
	Destroyed bool
}

// String describes v, as "version 3 (created 2026-01-02T15:04:05Z)",
// with its deletion or destruction if any.
func (v SecretVersion) String() string {
	s := "version " + strconv.Itoa(v.Number) + " (created " + v.CreatedTime.UTC().Format(time.RFC3339)
	if !v.DeletionTime.IsZero() {
		s += ", deletion " + v.DeletionTime.UTC().Format(time.RFC3339)
	}
	if v.Destroyed {
		s += ", destroyed"
	}
	return s + ")"
}

// The history operations: each runs its implementation through call.

func (s *SecretsService) versions(ctx context.Context, sc scope, name string) ([]SecretVersion, error) {
	return call(s, ctx, "versions", sc, name, func(ctx context.Context) ([]SecretVersion, error) {
		return s.listVersions(ctx, sc, name)
	})
}

// readVersion never uses the read cache: the cache holds latest values.
func (s *SecretsService) readVersion(ctx context.Context, sc scope, name string, n int) (Secret, error) {
	if err := s.checkVersion(ctx, "read version", sc, name, n); err != nil {
		return nil, err
	}
	return call(s, ctx, "read version", sc, name, func(ctx context.Context) (Secret, error) {
		return s.readVersionSecret(ctx, sc, name, n)
	})
}

func (s *SecretsService) rollback(ctx context.Context, sc scope, name string, n int) error {
	if err := s.checkVersion(ctx, "rollback", sc, name, n); err != nil {
		return err
	}
	_, err := call(s, ctx, "rollback", sc, name, func(ctx context.Context) (struct{}, error) {
		defer s.invalidate(sc, name)
		return struct{}{}, s.rollbackSecret(ctx, sc, name, n)
	})
	return err
}

// checkVersion refuses an invalid name or a version number below 1
// (ErrBadEntry) before call, which may check the mount with a request,
// and logs and traces the refusal as call would, with 0 attempts.
func (s *SecretsService) checkVersion(ctx context.Context, op string, sc scope, name string, n int) error {
	var err error
	switch {
	case !ValidName(name):
		err = sc.check(op, name)
	case n <= 0:
		err = sc.fail(op, name, ErrBadEntry, fmt.Errorf("version %d is not a version number: versions start at 1", n))
	}
	if err == nil {
		return nil
	}
	if s.c.logger != nil {
		s.logCall(ctx, op, sc.name, name, err, 0, 0)
	}
	if t := s.c.tel; t != nil {
		_, span := t.start(ctx, op, op, sc, name) // the refusal is an operation's span too, with 0 attempts
		t.end(ctx, span, op, sc.name, err, nil, 0)
	}
	return err
}

// listVersions returns every version of secret name that Vault keeps,
// newest first, from one metadata read. A secret with no metadata, or
// none of whose versions Vault keeps, does not exist: ErrNotFound.
func (s *SecretsService) listVersions(ctx context.Context, sc scope, name string) ([]SecretVersion, error) {
	if err := sc.check("versions", name); err != nil {
		return nil, err
	}
	meta, err := s.readMetadata(ctx, "versions", sc, name)
	if err != nil {
		return nil, err
	}
	if len(meta.Data.Versions) == 0 {
		return nil, sc.fail("versions", name, ErrNotFound, nil)
	}
	out := make([]SecretVersion, 0, len(meta.Data.Versions))
	for key, v := range meta.Data.Versions {
		n, err := versionNumber(key)
		if err != nil {
			return nil, sc.fail("versions", name, nil, err)
		}
		created, err := parseVaultTime(v.CreatedTime)
		if err != nil {
			return nil, sc.fail("versions", name, nil, fmt.Errorf("version %d: vault returned a created_time that is not a time", n))
		}
		deleted, err := parseVaultTime(v.DeletionTime)
		if err != nil {
			return nil, sc.fail("versions", name, nil, fmt.Errorf("version %d: vault returned a deletion_time that is not a time", n))
		}
		out = append(out, SecretVersion{Number: n, CreatedTime: created, DeletionTime: deleted, Destroyed: v.Destroyed})
	}
	slices.SortFunc(out, func(a, b SecretVersion) int { return b.Number - a.Number })
	return out, nil
}

// versionNumber converts a version number as Vault's metadata names it
// (a key of "versions") to an int: a positive decimal that fits.
func versionNumber(key string) (int, error) {
	n, err := strconv.ParseUint(key, 10, 64)
	if err != nil || n == 0 || n > math.MaxInt {
		return 0, errors.New("vault returned a version number that is not a positive int")
	}
	return int(n), nil
}

// readVersionSecret returns the value of version n of secret name.
func (s *SecretsService) readVersionSecret(ctx context.Context, sc scope, name string, n int) (Secret, error) {
	if err := sc.check("read version", name); err != nil {
		return nil, err
	}
	body, err := s.versionBody(ctx, "read version", sc, name, n)
	if err != nil {
		return nil, err
	}
	value, err := decodeKVResponse(bytes.NewReader(body))
	if err != nil {
		return nil, sc.fail("read version", name, decodeKind(err), err)
	}
	return value, nil
}

// versionBody reads version n of secret name (GET data/<name>?version=n)
// and returns the whole answer's body. A version that is not there is
// an error wrapping ErrNotFound whose cause says why (see
// missingVersion).
func (s *SecretsService) versionBody(ctx context.Context, op string, sc scope, name string, n int) ([]byte, error) {
	req := vaultclient.Request{Method: http.MethodGet, Path: sc.data + "/" + name,
		Query: url.Values{"version": {strconv.Itoa(n)}}, Token: s.token, Gate: s.c.gate}
	return vaultclient.Send(ctx, s.c.api, req, func(resp *api.Response, err error) ([]byte, error) {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil, sc.fail(op, name, ErrNotFound, missingVersion(resp.Body, n, err))
		}
		if err != nil {
			return nil, sc.fail(op, name, timedOut(ctx, err, kindOf(err)), err)
		}
		body := &bodyReader{r: resp.Body}
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, sc.fail(op, name, timedOut(ctx, err, kindOf(err)), err)
		}
		return b, nil
	})
}

// missingVersion explains Vault's 404 to a read of version n. KV v2
// answers a deleted or destroyed version with its metadata (deletion_time,
// destroyed) and no data; a version it never had, or no longer keeps, or
// a secret that does not exist, with no metadata. cause is vault/api's
// error, kept so that errors.As still reaches the status.
func missingVersion(body io.Reader, n int, cause error) error {
	var v versionResponse
	_ = json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&v) // no metadata: never written
	md := v.Data.Metadata
	switch {
	case md.Version == uint64(n) && md.Destroyed:
		return &versionError{n, "was destroyed", cause}
	case md.Version == uint64(n) && md.DeletionTime != "":
		return &versionError{n, "was deleted", cause}
	}
	return &versionError{n, "does not exist (never written, or no longer kept)", cause}
}

// versionError says why version N of a secret cannot be read.
type versionError struct {
	n     int
	what  string
	cause error
}

func (e *versionError) Error() string { return "version " + strconv.Itoa(e.n) + " " + e.what }
func (e *versionError) Unwrap() error { return e.cause }

// rollbackTheirs returns the error of a rollback whose check-and-set on
// version failed: the secret changed after the rollback read it. It
// reads the latest version again to say how: a secret deleted meanwhile
// (Edge's Delete, or its latest version deleted or destroyed) is
// ErrNotFound, which the rollback never brings back; otherwise
// ErrConflict, naming the version found if the read succeeds.
func (s *SecretsService) rollbackTheirs(ctx context.Context, sc scope, name string, version uint64) error {
	now, err := s.currentVersion(ctx, "rollback", sc, name)
	switch {
	case errors.Is(err, ErrNotFound):
		return sc.fail("rollback", name, ErrNotFound, fmt.Errorf("the secret was deleted after rollback read version %d; nothing was written", version))
	case err != nil:
		return sc.fail("rollback", name, ErrConflict, fmt.Errorf("another write came after rollback read version %d; nothing was written", version))
	}
	return sc.fail("rollback", name, ErrConflict, fmt.Errorf("another write made version %d after rollback read version %d; nothing was written", now, version))
}

// rollbackSecret writes the value of version n of secret name again, as
// a new version, with check-and-set on the latest version it saw: it
// reads the latest live version V (currentVersion: a secret whose latest
// version is deleted or destroyed is ErrNotFound, never brought back),
// reads version n, then writes n's value as V+1 with cas=V. A write by
// someone else in between makes the check-and-set fail: ErrConflict,
// nothing written, no retry (the caller decides whether rolling back
// still makes sense); a delete in between, ErrNotFound (see
// rollbackTheirs). The value is written as Vault holds it, byte for
// byte; one this SDK cannot decode is ErrUndecodable, nothing written.
// A lost answer is decided as for update (casWrite, ownWrite).
func (s *SecretsService) rollbackSecret(ctx context.Context, sc scope, name string, n int) error {
	if err := sc.check("rollback", name); err != nil {
		return err
	}
	start := time.Now()
	version, err := s.currentVersion(ctx, "rollback", sc, name)
	if err != nil {
		return err
	}
	body, err := s.versionBody(ctx, "rollback", sc, name, n)
	if err != nil {
		return err
	}
	if _, err := decodeKVResponse(bytes.NewReader(body)); err != nil {
		return sc.fail("rollback", name, decodeKind(err), err)
	}
	var v versionResponse
	if err := json.Unmarshal(body, &v); err != nil || len(v.Data.Data) == 0 {
		return sc.fail("rollback", name, nil, errors.New("vault returned a version read without data"))
	}
	lost := false
	switch res, err := s.casWrite(ctx, "rollback", sc, name, version, v.Data.Data, start, &lost); res {
	case casWritten:
		return nil
	case casFailed:
		return err
	case casTheirs:
		return s.rollbackTheirs(ctx, sc, name, version)
	default: // casUnsure
		return sc.fail("rollback", name, ErrUnknownOutcome, &lostError{"an attempt's answer was lost, a retry found a newer version, and vault could not show whose it is", err})
	}
}
