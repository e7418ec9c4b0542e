package vaultclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/vaulterr"
)

// Attempts records what the attempts vault/api made for one call came
// to: how many there were, how many of them were retries, and whether
// one of them may have reached Vault without its answer reaching us (a connection lost after the request was
// written, a 5xx, a cancelled context). A write whose answer was lost may
// have taken effect even though a retry, or the call, failed.
//
// An Attempts is safe for concurrent use.
type Attempts struct {
	once   bool      // never retry after an attempt that may have reached Vault
	parent *Attempts // the enclosing call's, which counts these attempts too
	start  time.Time // when the call began, for a retry budget

	mu      sync.Mutex
	n       int
	retries int
	retry   bool // the policy asked for another attempt: the next one recorded is a retry
	lost    bool
}

type attemptsKey struct{}

// Track returns a context that makes the retry policy of clients made by
// Own report to the returned Attempts. Use the context for one call. A
// call tracked inside another reports to both.
func Track(ctx context.Context) (context.Context, *Attempts) {
	parent, _ := ctx.Value(attemptsKey{}).(*Attempts)
	t := &tracked{Context: ctx, a: Attempts{parent: parent, start: time.Now()}}
	return t, &t.a
}

// tracked is the context Track and TrackOnce return: the context and its
// Attempts in one allocation, on every operation's path.
type tracked struct {
	context.Context
	a Attempts
}

// Value returns the Attempts for attemptsKey, and the parent's values.
func (t *tracked) Value(key any) any {
	if key == (attemptsKey{}) {
		return &t.a
	}
	return t.Context.Value(key)
}

// TrackOnce is Track for a request that must not be repeated once it may
// have reached Vault (an unwrap: a second try finds the token used). It
// still retries attempts Vault surely did not act on: a connection that
// could not be made, a 429, a sealed Vault's 503.
func TrackOnce(ctx context.Context) (context.Context, *Attempts) {
	parent, _ := ctx.Value(attemptsKey{}).(*Attempts)
	t := &tracked{Context: ctx, a: Attempts{once: true, parent: parent, start: time.Now()}}
	return t, &t.a
}

// N returns the number of attempts made.
func (a *Attempts) N() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// Retries returns the number of attempts made because the retry policy
// asked for another after a failed one: N minus the requests sent.
func (a *Attempts) Retries() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.retries
}

// Lost reports whether an attempt may have reached Vault and had its
// answer lost.
func (a *Attempts) Lost() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lost
}

// record notes one attempt and reports whether it may have reached Vault
// with its answer lost.
func (a *Attempts) record(resp *http.Response, err error) bool {
	lost := MaybeReached(resp, err)
	a.mu.Lock()
	retry := a.retry
	a.retry = false
	a.mu.Unlock()
	for p := a; p != nil; p = p.parent {
		p.mu.Lock()
		p.n++
		if retry {
			p.retries++
		}
		p.lost = p.lost || lost
		p.mu.Unlock()
	}
	return lost
}

// willRetry notes that the policy asked for another attempt: if one
// comes (vault/api's MaxRetries may forbid it), record counts it as a
// retry.
func (a *Attempts) willRetry() {
	a.mu.Lock()
	a.retry = true
	a.mu.Unlock()
}

// markReached notes that the call may have reached Vault without its
// answer, whatever its attempts' outcomes.
func (a *Attempts) markReached() {
	for p := a; p != nil; p = p.parent {
		p.mu.Lock()
		p.lost = true
		p.mu.Unlock()
	}
}

// checkRetry wraps the client's retry policy (vault/api's default when
// nil) so that it reports every attempt to the call's Attempts, never
// retries a TLS or configuration failure (vaulterr.IsTLSOrConfig: the
// next attempt would fail the same way), and stops retrying once the
// call has taken budget (0: no limit but vault/api's MaxRetries).
//
// go-retryablehttp's own policy (v0.7.8) refuses only a certificate that
// does not verify, and only as the direct cause of the *url.Error; TLS
// spoken to a plain port, a server's TLS alert (a client certificate it
// requires) and the like it retries.
func checkRetry(inner retryablehttp.CheckRetry, budget time.Duration) retryablehttp.CheckRetry {
	if inner == nil {
		inner = api.DefaultRetryPolicy
	}
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		a, _ := ctx.Value(attemptsKey{}).(*Attempts)
		lost := a != nil && a.record(resp, err)
		if vaulterr.IsTLSOrConfig(err) {
			return false, nil // the call returns err itself
		}
		retry, rerr := inner(ctx, resp, err)
		switch {
		case lost && a.once:
			return false, rerr
		case retry && budget > 0 && a != nil && time.Since(a.start) >= budget:
			return false, rerr
		}
		if retry && a != nil {
			a.willRetry()
		}
		return retry, rerr
	}
}

// Retry budget waits: the first retry comes after about RetryMinWait, the
// wait doubles up to RetryMaxWait.
const (
	RetryMinWait = 100 * time.Millisecond
	RetryMaxWait = time.Second
)

// RetryBudget makes the client Own returns retry what Vault could not
// answer (a connection error, a 5xx, a 429, a standby without an active
// node) for up to budget per call, with waits from RetryMinWait doubling
// up to RetryMaxWait, through vault/api's own retry loop. A call not
// tracked (see Track) is bounded by the number of retries that fits in
// budget. A budget of 0 keeps the client's retry settings.
func RetryBudget(budget time.Duration) Option {
	return func(o *options) { o.budget = budget }
}

// Option changes a client Own makes.
type Option func(*options)

type options struct {
	budget time.Duration
}

func (o options) apply(c *api.Client, policy retryablehttp.CheckRetry) {
	if o.budget > 0 {
		c.SetMinRetryWait(RetryMinWait)
		c.SetMaxRetryWait(RetryMaxWait)
		c.SetBackoff(retryablehttp.DefaultBackoff) // min * 2^n, capped at max
		c.SetMaxRetries(int(o.budget/RetryMaxWait) + 4)
	}
	c.SetCheckRetry(checkRetry(policy, o.budget))
}

// sealedBody is what a sealed Vault answers, with status 503.
var sealedBody = []byte("Vault is sealed")

// MaybeReached reports whether an attempt that ended with resp and err
// may have been acted on by Vault while its caller did not learn the
// result: any failure after a connection was made (the request may have
// been written), and any 5xx but a sealed Vault's 503. A connection that
// could not be made, a TLS or configuration failure (a certificate that
// does not verify, a TLS alert from the server: no request reached
// Vault's HTTP layer; see vaulterr.IsTLSOrConfig), and any other status,
// say what happened.
func MaybeReached(resp *http.Response, err error) bool {
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" || vaulterr.IsTLSOrConfig(err) {
			return false
		}
		return true
	}
	if resp == nil || resp.StatusCode < 500 {
		return false
	}
	if resp.StatusCode == http.StatusServiceUnavailable && peekContains(resp, sealedBody) {
		return false
	}
	return true
}

// peekContains reports whether the first KB of resp's body contains s,
// leaving the body to be read whole as before.
func peekContains(resp *http.Response, s []byte) bool {
	if resp.Body == nil {
		return false
	}
	head := make([]byte, 1024)
	n, _ := io.ReadFull(resp.Body, head)
	head = head[:n]
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return bytes.Contains(head, s)
}
