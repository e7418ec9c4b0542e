package edge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
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

// ownWrite reports whether version of secret name in sc is the write of
// the value stored (as kvValue encoded it) that a call begun at start
// made. It compares the value, and the version's creation time with the
// call's start on Vault's own clock (the answer's Date header less the
// call's elapsed time, less one second for the header's resolution), so
// that clock skew between client and Vault does not matter. A version
// with the same value written by someone else during the call is taken
// for the caller's: no answer from Vault tells the two apart.
func (s *SecretsService) ownWrite(ctx context.Context, sc scope, name string, version uint64, stored []byte, start time.Time) verdict {
	ctx, _ = vaultclient.Track(ctx) // a retry budget of its own
	resp, err := s.client.Logical().ReadRawWithDataWithContext(ctx, sc.data+"/"+name,
		map[string][]string{"version": {strconv.FormatUint(version, 10)}})
	latest := false
	if vaulterr.Status(err) == http.StatusForbidden {
		// The org members policy denies the version parameter, and
		// holds an admin who is also a member: the latest version
		// tells, if it is the one asked for.
		if resp != nil {
			resp.Body.Close()
		}
		resp, err = s.client.Logical().ReadRawWithContext(ctx, sc.data+"/"+name)
		latest = true
	}
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		return unknown // deleted or destroyed since (404), or unavailable
	}
	elapsed := time.Since(start)
	var body versionResponse
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return unknown
	}
	md := body.Data.Metadata
	if latest && md.Version != version {
		return unknown // written again since: version is no longer the latest
	}
	if md.DeletionTime != "" || md.Destroyed || md.CreatedTime.IsZero() {
		return unknown
	}
	if !sameStored(body.Data.Data, stored) {
		return theirs
	}
	vaultNow, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return unknown
	}
	if md.CreatedTime.Before(vaultNow.Add(-elapsed - time.Second)) {
		return theirs
	}
	return ours
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

// unwrapLost classifies an unwrap whose answer was lost (err), asking
// Vault whether the token is still there: if it is, the unwrap did not
// happen and may be tried again (ErrUnavailable); if not, Vault may have
// handed the value out with the lost answer (ErrUnknownOutcome).
func unwrapLost(ctx context.Context, c *api.Client, err error) error {
	if ctx.Err() == nil {
		_, lerr := c.Logical().WriteWithContext(ctx, "sys/wrapping/lookup", map[string]any{"token": c.Token()})
		if lerr == nil {
			return &Error{Op: "unwrap", Kind: ErrUnavailable, Err: &lostError{"the answer was lost; the token is still unredeemed", err}}
		}
	}
	return &Error{Op: "unwrap", Kind: ErrUnknownOutcome, Err: &lostError{"the answer was lost and the token may have been redeemed by the lost request", err}}
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
