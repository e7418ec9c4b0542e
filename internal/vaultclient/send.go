package vaultclient

import (
	"context"
	"io"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/vault/api"
)

// Request is one request whose answer the caller reads itself, as a
// stream: the raw requests of the SDK.
type Request struct {
	Method string     // GET, PUT, LIST, ...
	Path   string     // the Vault path, without "/v1/"
	Query  url.Values // query parameters; may be nil
	Body   []byte     // sent as it is; nil for none
	// WrapTTL asks Vault to wrap the answer for this long ("300s");
	// empty for an answer in the clear.
	WrapTTL string
	// Token authenticates this request in place of the client's own
	// token: one shared client acts for many callers, each request with
	// its caller's token. Empty: the client's token.
	Token string
	// Gate bounds the requests in flight with it; nil: no bound.
	Gate *Gate
}

// Gate bounds the requests a client has in flight at once: a request
// that finds it full waits for one to end (its whole answer read), or
// for its context. Over HTTP/2, net/http opens one more TCP connection
// for every request that finds every stream of its connections busy, or
// no connection at all, and under a burst many at once (1,000 concurrent
// reads opened 325 connections to a server allowing 250 streams on
// each). A Gate as wide as one connection's streams keeps a burst on the
// connection the client has, and the client's first request goes alone,
// so that a burst at start waits for the connection it opens rather
// than open one each. A Gate is safe for concurrent use.
type Gate struct {
	slots  chan struct{}
	first  chan struct{} // a lock, held by the first request until it ends
	opened atomic.Bool   // a first request has ended
}

// NewGate returns a Gate of n requests in flight.
func NewGate(n int) *Gate {
	return &Gate{slots: make(chan struct{}, n), first: make(chan struct{}, 1)}
}

// enter waits for a free slot, or for ctx, and reports whether the
// request is the first, which leave must be told.
func (g *Gate) enter(ctx context.Context) (first bool, err error) {
	if g == nil {
		return false, nil
	}
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	if g.opened.Load() {
		return false, nil
	}
	select {
	case g.first <- struct{}{}:
	case <-ctx.Done():
		<-g.slots
		return false, ctx.Err()
	}
	if g.opened.Load() {
		<-g.first
		return false, nil
	}
	return true, nil
}

// leave frees the slot of a request that entered.
func (g *Gate) leave(first bool) {
	if g == nil {
		return
	}
	if first {
		g.opened.Store(true)
		<-g.first
	}
	<-g.slots
}

// Send sends req with c and hands Vault's answer to read: the response
// (nil when none came) and vault/api's error (a *api.ResponseError for a
// status of 400 or more, whose body vault/api has read). Send returns
// what read returns.
//
// Send is the one place the SDK sends a request whose body it reads
// itself, and it owns that request's context: a child of ctx that it
// cancels exactly once, after read has returned, and after the body was
// closed. Two failures cannot happen because of it:
//
//   - A body read after its context was cancelled. vault/api's
//     Logical().WriteRawWithContext cancels the context it sends with
//     before it returns the response; over HTTP/2 that resets the
//     stream, and a body not yet received is cut short (an unwrap then
//     destroys the secret it was to deliver). Send never calls it: it
//     sends through RawRequestWithContext, which leaves the context
//     alone, and cancels only when read is done.
//   - A request that outlives its call. RawRequestWithContext (and the
//     ReadRaw functions built on it) derives a context with the client
//     timeout and never cancels it, so that the caller can still read
//     the body: each finished request would leave a live timer, a
//     context and the transport's cancel hook behind until the timeout.
//     Cancelling the parent that Send owns cancels that child too.
//
// The response's body is drained (up to maxDrain) and closed when read
// returns, so that its connection is used again; read must not keep it. ctx's values (the call's Attempts, see Track) reach the retry
// policy as before.
func Send[T any](ctx context.Context, c *api.Client, req Request, read func(*api.Response, error) (T, error)) (T, error) {
	first, err := req.Gate.enter(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer req.Gate.leave(first) // after the context is cancelled and the body closed
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // after the body is closed: deferred first, runs last

	r := c.NewRequest(req.Method, "/v1/"+req.Path)
	if req.Query != nil {
		r.Params = req.Query
	}
	if req.Body != nil {
		r.BodyBytes = req.Body
	}
	r.WrapTTL = req.WrapTTL
	if req.Token != "" {
		r.ClientToken = req.Token
	}
	//lint:ignore SA1019 the one vault/api entry point that sends a request built by the caller (method, wrap TTL, bytes) and does not cancel its context before the body is read; see above.
	resp, err := c.RawRequestWithContext(ctx, r)
	if resp != nil && resp.Body != nil {
		defer func() {
			// What read left of the body (an answer nobody needs, a
			// newline after the JSON) is read, up to a bound, so that
			// the connection goes back to the pool: net/http closes a
			// connection whose body was closed unread.
			drain(resp.Body)
			resp.Body.Close()
		}()
	}
	return read(resp, err)
}

// maxDrain bounds what Send reads of an answer its caller left unread: a
// longer rest costs more than a new connection.
const maxDrain = 256 << 10

// drainBuffers lends drain its buffer: no allocation per request.
var drainBuffers = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// drain reads and discards up to maxDrain bytes of r, until its end.
func drain(r io.Reader) {
	bp := drainBuffers.Get().(*[]byte)
	defer drainBuffers.Put(bp)
	for n := 0; n < maxDrain; {
		m, err := r.Read(*bp)
		n += m
		if err != nil {
			return
		}
	}
}
