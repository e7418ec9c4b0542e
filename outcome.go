package edge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/vaultclient"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// A write whose answer is lost (the connection drops after Vault
// committed it, or a proxy turns Vault's answer into a 5xx) is retried by
// vault/api, and the retry then meets the write itself: a create finds
// "its" secret existing, an update finds the version it expected gone.
// The functions here find out, from Vault, what the lost attempt did.

// verdict is what the SDK could learn about a write whose answer was
// lost.
type verdict int

const (
	unknown verdict = iota // Vault could not tell
	ours                   // the version holds exactly the caller's value, written during the call
	theirs                 // the version is someone else's (other value, or older than the call)
)

// versionResponse is the body of a KV v2 read of one version.
type versionResponse struct {
	Data struct {
		Data     json.RawMessage `json:"data"`
		Metadata struct {
			Version      uint64    `json:"version"`
			CreatedTime  time.Time `json:"created_time"`
			DeletionTime string    `json:"deletion_time"`
			Destroyed    bool      `json:"destroyed"`
		} `json:"metadata"`
	} `json:"data"`
}

// maxClockSkew bounds how far the clocks of an HA cluster's nodes may
// differ for ownWrite to tell a lost create from someone else's: see
// ownWrite.
const maxClockSkew = 30 * time.Second

// ownWrite reports whether version of secret name in sc is the write of
// the value stored (as kvValue encoded it) that the call made, after an
// attempt's answer was lost.
//
// A version with another value is someone else's. A version with the
// same value is the call's if it was written during the call, which is
// known without any clock when the call saw the version before it
// (after): an update reads the current version V before it writes V+1
// with check-and-set, so a V+1 found later was written after that read.
// A create has no version before it (after is 0): its version 1 is the
// call's unless it was written before the call began, which only clocks
// can tell. The version's created_time is set by the active node; the
// call's start is taken from the answer's Date header, less the time the
// call has taken, and that header comes from whichever node answered. So
// that nodes whose clocks differ do not make the call's own write
// someone else's, a version counts as written before the call only if
// it is older than that by more than maxClockSkew (plus a second, the
// header's resolution): a create finds its own write whenever the
// answering node's clock is within maxClockSkew of the active node's. A
// version with the same value written by someone else during the call,
// or less than maxClockSkew before it, is taken for the caller's: no
// answer from Vault tells the two apart, and the secret holds the
// caller's value either way.
func (s *SecretsService) ownWrite(ctx context.Context, sc scope, name string, version, after uint64, stored []byte, start time.Time) verdict {
	ctx, _ = vaultclient.Track(ctx) // a retry budget of its own
	req := vaultclient.Request{Method: http.MethodGet, Path: sc.data + "/" + name,
		Query: url.Values{"version": {strconv.FormatUint(version, 10)}}, Token: s.token, Gate: s.c.gate}
	read := func(latest bool) func(resp *api.Response, err error) (verdict, error) {
		return func(resp *api.Response, err error) (verdict, error) {
			if vaulterr.Status(err) == http.StatusForbidden && !latest {
				return unknown, err // the caller reads the latest version instead
			}
			if err != nil {
				return unknown, nil // deleted or destroyed since (404), or unavailable
			}
			var body versionResponse
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				return unknown, nil
			}
			md := body.Data.Metadata
			if md.Version != version {
				return unknown, nil // latest: written again since, version is no longer the latest
			}
			if md.DeletionTime != "" || md.Destroyed || md.CreatedTime.IsZero() {
				return unknown, nil
			}
			if !sameStored(body.Data.Data, stored) {
				return theirs, nil
			}
			if after > 0 && version > after {
				return ours, nil // written after the call read version after
			}
			vaultNow, err := http.ParseTime(resp.Header.Get("Date"))
			if err != nil {
				return unknown, nil
			}
			if md.CreatedTime.Before(vaultNow.Add(-time.Since(start) - time.Second - maxClockSkew)) {
				return theirs, nil
			}
			return ours, nil
		}
	}
	v, err := vaultclient.Send(ctx, s.c.api, req, read(false))
	if err != nil {
		// The token may not read a version by its number. With
		// package admin's current policies no writer is refused (an
		// admin who is also a member gets the admins' data rule
		// alone), but orgs whose policies predate that layout (the
		// members' data rule on the admins' very "+" path) hold an
		// admin-member to the members' version rule until CreateOrg
		// rewrites them: the latest version tells, if it is the one
		// asked for (TestAdminAndMemberLostAnswer).
		req.Query = nil
		v, _ = vaultclient.Send(ctx, s.c.api, req, read(true))
	}
	return v
}

// sameStored reports whether the data Vault returned is what the SDK
// stored, as Vault's KV v2 engine sees it: both decoded the way it
// decodes them, with numbers as float64.
func sameStored(got json.RawMessage, stored []byte) bool {
	var a, b map[string]any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal(stored, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

// tokenUnredeemed reports whether Vault still knows the wrapping token
// c holds (sys/wrapping/lookup): an unwrap whose answer was lost did not
// redeem it, yet.
func tokenUnredeemed(ctx context.Context, c *api.Client) bool {
	if ctx.Err() != nil {
		return false
	}
	_, err := c.Logical().WriteWithContext(ctx, "sys/wrapping/lookup", map[string]any{"token": c.Token()})
	return err == nil
}

// lostError explains why an outcome is unknown, keeping the failure that
// lost the answer as its cause.
type lostError struct {
	msg string
	err error
}

func (e *lostError) Error() string { return e.msg + ": " + vaulterr.Describe(e.err) }
func (e *lostError) Unwrap() error { return e.err }

// bodyReader reads a response body and keeps the first read error, so
// that a body cut short is told apart from a body that is not JSON.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}
