package edge

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"strconv"
	"time"
)

// DefaultWatchInterval is the time between two polls of a watch made
// without WatchInterval.
const DefaultWatchInterval = 30 * time.Second

// MinWatchInterval is the shortest interval WatchInterval accepts.
const MinWatchInterval = time.Second

// maxWatchBackoff bounds the wait after polls that found Vault
// unavailable, in intervals.
const maxWatchBackoff = 8

// Change is what a watch (WatchUserSecret, WatchOrgSecret) saw of its
// secret at one poll: the state of the secret's latest version, after one
// or more changes since the poll before. Several changes between two
// polls make one Change, of the state the later poll saw.
//
// A read of the secret answers ErrNotFound when Deleted or Destroyed is
// set, with one exception: Vault's clock, by which a deletion time has
// come or not, is known to the second (the Date of its answer), so a
// deletion scheduled less than a second after the poll is reported as
// Deleted up to a second early, while a read still returns the value. A
// Change with neither flag means the latest version is readable: a new
// version (an update, a create), or a deleted version brought back
// (Vault's undelete).
type Change struct {
	// Version is the number of the secret's latest version, or 0 if the
	// secret does not exist: never created, or deleted by Delete (which
	// removes every version and the metadata).
	Version int
	// Deleted is set when the secret has no metadata (Version 0), or
	// when its latest version has a deletion time that has come by
	// Vault's clock, not the client's (a delete of the latest version
	// alone, by other tools, or the mount's delete_version_after; see
	// WatchUserSecret). Vault's clock is the Date of the node that
	// answered the poll: against an HA cluster whose nodes' clocks
	// differ, a scheduled deletion may be reported early or late by that
	// difference (a delete made before the poll is always seen: its
	// deletion time is in that node's past unless its clock is behind
	// the active node's).
	Deleted bool
	// Destroyed is set when the latest version's data is destroyed (by
	// other tools: Edge never destroys). Deleted may be set too.
	Destroyed bool
	// Recreated is set when a new readable version appeared after the
	// secret was deleted: the secret did not exist at the poll before
	// (or at the start of the watch), or its latest version was deleted
	// or destroyed then and a newer one is readable now, or the secret
	// was deleted and created again between the two polls (seen by the
	// versions' creation times, not their numbers alone: a secret
	// created again starts at version 1). A deleted version brought back
	// by Vault's undelete is not Recreated.
	Recreated bool
	// Initial is set on the first Change of a watch, and only there: the
	// state at the watch's first poll, whatever it is.
	Initial bool
	// Time is the time Vault recorded for the state: the latest
	// version's creation time for a readable version, its deletion time
	// for a deleted one; the zero Time when Vault records none (no
	// metadata, or a destroyed version).
	Time time.Time
}

// WatchOption changes one watch: WatchUserSecret or WatchOrgSecret.
type WatchOption func(*watchOptions)

type watchOptions struct {
	interval time.Duration
}

// WatchInterval sets the time between two polls of the watch (default
// DefaultWatchInterval). An interval below MinWatchInterval makes the
// watch yield one error wrapping ErrBadEntry, before any request. Each
// wait is jittered (see WatchUserSecret).
func WatchInterval(d time.Duration) WatchOption {
	return func(o *watchOptions) { o.interval = d }
}

// watch is the iterator of a watch of secret name; scopeOf gives the
// scope before each poll, named scopeName before the first.
func (s *SecretsService) watch(ctx context.Context, scopeName string, scopeOf func(context.Context) scope, name string, opts []WatchOption) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		o := watchOptions{interval: DefaultWatchInterval}
		for _, opt := range opts {
			if opt != nil {
				opt(&o)
			}
		}
		named := scope{name: scopeName}
		if err := checkName(name); err != nil {
			yield(Change{}, named.fail("watch", "", ErrBadEntry, err)) // not the name: see scope.check
			return
		}
		if o.interval < MinWatchInterval {
			yield(Change{}, named.fail("watch", name, ErrBadEntry, fmt.Errorf("watch interval %v is below the minimum of %v", o.interval, MinWatchInterval)))
			return
		}
		var (
			last     watchState
			started  bool
			failures int // polls in a row that found Vault unavailable
		)
		for ctx.Err() == nil {
			sc := scopeOf(ctx)
			meta, err := s.poll(ctx, sc, name)
			if ctx.Err() != nil {
				return
			}
			switch {
			case errors.Is(err, ErrUnavailable):
				failures++
				if !yield(Change{}, err) {
					return
				}
			case err != nil:
				yield(Change{}, err)
				return
			default:
				failures = 0
				state, ch, err := observe(meta, time.Now())
				if err != nil {
					yield(Change{}, sc.fail("watch", name, nil, err))
					return
				}
				if !started || state != last {
					ch.Initial = !started
					if started {
						ch.Recreated = recreated(last, state, meta)
					}
					last, started = state, true
					s.invalidate(sc, name)
					if !yield(ch, nil) {
						return
					}
				}
			}
			if !sleepCtx(ctx, watchWait(o.interval, failures)) {
				return
			}
		}
	}
}

// poll reads the metadata of secret name in sc, through call; a secret
// that does not exist is a nil *kvMetadata and no error.
func (s *SecretsService) poll(ctx context.Context, sc scope, name string) (*kvMetadata, error) {
	return call(s, ctx, "watch", sc, name, func(ctx context.Context) (*kvMetadata, error) {
		if err := sc.check("watch", name); err != nil {
			return nil, err
		}
		meta, err := s.readMetadata(ctx, "watch", sc, name)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return meta, err
	})
}

// watchState is the state of a watched secret that a poll saw; two
// polls that see equal states see no change. It is comparable.
type watchState struct {
	version   uint64    // the latest version; 0: no metadata
	created   time.Time // the latest version's creation time, in UTC
	deleted   bool
	destroyed bool
}

// observe returns the state that meta (nil: no metadata) shows, and the
// Change that reports it, Initial and Recreated unset. A deletion time is
// the time of the deletion, or a deletion scheduled later, by Vault's
// clock: the version is deleted once Vault's clock has reached it. That
// clock is meta's date, the answer's Date header, which is truncated to
// the second: Vault's time was in [date, date+1s), and a deletion time
// up to date+1s is taken as come, so that a delete made in the second of
// the poll is seen at once (and a deletion scheduled less than a second
// later, up to a second early). Only an answer without a Date falls back
// to now, the local clock.
func observe(meta *kvMetadata, now time.Time) (watchState, Change, error) {
	if meta == nil || meta.Data.CurrentVersion == 0 {
		return watchState{deleted: true}, Change{Deleted: true}, nil
	}
	latest, ok := meta.latest()
	if !ok {
		return watchState{}, Change{}, errors.New("vault returned metadata without its current version")
	}
	created, err := parseVaultTime(latest.CreatedTime)
	if err != nil {
		return watchState{}, Change{}, errors.New("vault returned a creation time that is not RFC 3339")
	}
	deletion, err := parseVaultTime(latest.DeletionTime)
	if err != nil {
		return watchState{}, Change{}, errors.New("vault returned a deletion time that is not RFC 3339")
	}
	st := watchState{version: meta.Data.CurrentVersion, created: created.UTC(), destroyed: latest.Destroyed}
	if !meta.date.IsZero() {
		now = meta.date.Add(time.Second)
	}
	st.deleted = !deletion.IsZero() && !now.Before(deletion)
	ch := Change{Version: int(st.version), Deleted: st.deleted, Destroyed: st.destroyed}
	switch {
	case st.destroyed:
	case st.deleted:
		ch.Time = deletion
	default:
		ch.Time = created
	}
	return st, ch, nil
}

// recreated reports whether the secret, seen in state was before and now
// in state is (with metadata meta), was deleted and then got a readable
// version: is is readable, and was had no metadata, or is's versions do
// not continue was's (a lower number, or was's version now created at
// another time: the metadata was deleted and the secret created again),
// or was's latest version was deleted or destroyed and is has a newer
// one. A version of was that Vault no longer keeps (max_versions) is
// taken as a continuation.
func recreated(was, is watchState, meta *kvMetadata) bool {
	if is.deleted || is.destroyed {
		return false
	}
	if was.version == 0 || is.version < was.version {
		return true
	}
	if v, ok := meta.Data.Versions[strconv.FormatUint(was.version, 10)]; ok {
		if created, err := parseVaultTime(v.CreatedTime); err == nil && !created.Equal(was.created) {
			return true
		}
	}
	if is.version == was.version {
		return false // the same version, brought back by an undelete
	}
	return was.deleted || was.destroyed
}

// watchWait returns the wait before the next poll: the interval, doubled
// for each poll in a row that failed (at most maxWatchBackoff intervals),
// multiplied by a random factor in [0.9, 1.1].
func watchWait(interval time.Duration, failures int) time.Duration {
	d := interval
	for i := 0; i < failures && d < maxWatchBackoff*interval; i++ {
		d *= 2
	}
	d = min(d, maxWatchBackoff*interval)
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// sleepCtx waits for d, and reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
