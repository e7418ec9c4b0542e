package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/vaulterr"
)

// authState keeps the token of a session made with Config.Auth alive: it
// logs in, renews the token with vault/api's LifetimeWatcher while Vault
// allows, and logs in again when renewal ends (the token nears its max
// TTL, or renewal failed) or when an operation finds the token revoked.
// A token without a lease (lease_duration 0) does not expire: it is used
// as it is, never renewed or replaced in the background.
//
// It owns the session's current token, in one place: adopt is the only
// code that sets the client's token, and it records the login as current
// in the same critical section, with a new generation number. Operations
// send the client's token; the watcher (run) renews exactly the current
// login and starts over whenever the generation changes. So whoever logs
// in, the token operations send is the token that is renewed: the watcher
// reads the current login and its change signal together under mu, and
// adopt replaces the one and closes the other in the same critical
// section, so no login can come between what the watcher renews and what
// the client sends without the watcher starting over.
//
// Logins after the first run in a flight (startLogin): at most one at a
// time, shared by every caller that asks while it runs, and only for the
// login that is current, so that a caller whose token was replaced
// meanwhile never replaces the newer one. Each such login checks its new
// token with Vault before adopting it. A failed login, or one whose token
// Vault refuses at once, makes the next one wait, from reloginMinWait,
// twice as long each time, up to reloginMaxWait; while it waits, a
// recovery leaves the refusal as it is and the watcher waits too: no
// path logs in in a loop.
//
// Its methods are safe for concurrent use, and on a nil *authState (a
// session without Auth) do nothing.
type authState struct {
	client *api.Client
	method api.AuthMethod
	logger *slog.Logger
	tel    *telemetry // counts the logins after the first; nil without providers

	tokenMu sync.RWMutex // held to write the client's token (adopt), read to copy the client

	mu       sync.Mutex
	current  *api.Secret   // the login whose token the client sends
	gen      uint64        // counts the logins adopted: current's number
	changed  chan struct{} // closed when current is replaced
	flight   *loginFlight  // the login in flight, or nil
	wait     time.Duration // the last wait imposed before a login
	next     time.Time     // no login starts before
	entityID string        // the session's entity, once known
	stopped  bool

	otherEntity atomic.Bool     // a login yielded another entity
	flights     sync.WaitGroup  // the flights' goroutines
	ctx         context.Context // ends with stop
	cancel      context.CancelFunc
	done        chan struct{} // closed when the watcher loop has returned
	once        sync.Once
}

// loginFlight is one login (or a check of the current token, then maybe
// a login) shared by every caller that asks while it runs.
type loginFlight struct {
	done chan struct{} // closed when it has ended
	ok   bool          // a newer token than the one it replaces is current
}

// reloginMinWait and reloginMaxWait bound the waits before a login after
// a failed login, or after a login whose token Vault refused at once.
const (
	reloginMinWait = time.Second
	reloginMaxWait = 30 * time.Second
)

// errUnusable is a login's failure when Vault refused the token the
// login had just returned.
var errUnusable = errors.New("vault refused the token the login returned")

// login logs client in with method and starts keeping its token alive,
// counting its later logins in tel (nil: not).
func login(ctx context.Context, client *api.Client, method api.AuthMethod, logger *slog.Logger, tel *telemetry) (*authState, error) {
	a := &authState{client: client, method: method, logger: logger, tel: tel, changed: make(chan struct{}), done: make(chan struct{})}
	if err := a.loginOnce(ctx, false); err != nil {
		return nil, sessionError(loginKind(err), fmt.Errorf("logging in: %w", err))
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	go a.run()
	return a, nil
}

// loginKind classifies a failed login: Vault's refusal of the
// credentials is ErrPermissionDenied.
func loginKind(err error) error {
	if vaulterr.IsLoginRefused(err) {
		return ErrPermissionDenied
	}
	return kindOf(err)
}

// loginOnce logs in and adopts the new token. With check, it first asks
// Vault about the token (lookup-self), and returns errUnusable without
// adopting it if Vault refuses it.
func (a *authState) loginOnce(ctx context.Context, check bool) error {
	// Not vault/api's Auth().Login, which would set the client's token
	// itself: adopt does.
	secret, err := a.method.Login(ctx, a.client)
	if err != nil {
		return err
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return errors.New("vault returned no token")
	}
	if check && !a.known(ctx, secret.Auth.ClientToken) {
		return errUnusable
	}
	a.adopt(secret)
	return nil
}

// known reports whether Vault knows token: false only if lookup-self
// with it is refused (403).
func (a *authState) known(ctx context.Context, token string) bool {
	c := a.withRequestCallbacks(a.client, func(r *api.Request) { r.ClientToken = token })
	_, err := c.Auth().Token().LookupSelfWithContext(ctx)
	return vaulterr.Status(err) != 403
}

// adopt makes secret's token the session's: the client sends it from now
// on, and the watcher renews it. It notes an entity other than the
// session's.
func (a *authState) adopt(secret *api.Secret) {
	a.tokenMu.Lock()
	a.mu.Lock()
	a.client.SetToken(secret.Auth.ClientToken)
	a.current = secret
	a.gen++
	close(a.changed)
	a.changed = make(chan struct{})
	other := a.entityID != "" && secret.Auth.EntityID != a.entityID
	a.mu.Unlock()
	a.tokenMu.Unlock()
	if other {
		a.otherEntity.Store(true)
		a.log(slog.LevelError, "edge: the new login is another identity entity; user operations now fail with ErrIdentityChanged")
	}
}

func (a *authState) setEntity(id string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entityID = id
}

// withRequestCallbacks returns vault/api's shallow copy of client with
// callbacks. vault/api copies the client's token without its lock, so the
// copy is made while no login writes it (a data race found by
// TestAuthKeepsTokenAlive under -race).
func (a *authState) withRequestCallbacks(client *api.Client, callbacks ...api.RequestCallback) *api.Client {
	if a == nil {
		return client.WithRequestCallbacks(callbacks...)
	}
	a.tokenMu.RLock()
	defer a.tokenMu.RUnlock()
	return client.WithRequestCallbacks(callbacks...)
}

// identityChanged reports whether a login yielded another entity.
func (a *authState) identityChanged() bool { return a != nil && a.otherEntity.Load() }

// run renews the current token until stop, starting over on each new
// one, and replaces it when its renewal ends.
func (a *authState) run() {
	defer close(a.done)
	for a.ctx.Err() == nil {
		a.mu.Lock()
		secret, gen, changed := a.current, a.gen, a.changed
		a.mu.Unlock()
		if secret.Auth.LeaseDuration <= 0 {
			// No lease: the token does not expire. vault/api's watcher
			// would end at once for it, and its end would ask for a
			// login, then another, without pause.
			select {
			case <-a.ctx.Done():
			case <-changed:
			}
			continue
		}
		w, err := a.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: secret})
		if err != nil {
			a.log(slog.LevelWarn, "edge: cannot watch the token; logging in again", "error", vaulterr.Describe(err))
			a.relogin(gen)
			continue
		}
		go w.Start()
		ended := a.watch(w, changed)
		w.Stop()
		if ended {
			a.relogin(gen)
		}
	}
}

// watch follows the LifetimeWatcher of the current token, and reports
// whether the renewal ended (false: stop, or the token was replaced).
func (a *authState) watch(w *api.LifetimeWatcher, changed <-chan struct{}) bool {
	for {
		select {
		case <-a.ctx.Done():
			return false
		case <-changed:
			return false
		case r := <-w.RenewCh():
			ttl := 0
			if r != nil && r.Secret != nil && r.Secret.Auth != nil {
				ttl = r.Secret.Auth.LeaseDuration
			}
			a.log(slog.LevelInfo, "edge: token renewed", "ttl", time.Duration(ttl)*time.Second)
		case err := <-w.DoneCh():
			if err != nil {
				a.log(slog.LevelWarn, "edge: token renewal failed; logging in again", "error", vaulterr.Describe(err))
			} else {
				a.log(slog.LevelInfo, "edge: token near its end; logging in again")
			}
			return true
		}
	}
}

// relogin replaces login gen, whose renewal ended, until a newer token is
// current or stop, waiting as earlier logins require.
func (a *authState) relogin(gen uint64) {
	for a.ctx.Err() == nil {
		f, newer := a.startLogin(gen, false)
		if newer {
			return
		}
		if f == nil { // a wait, or stop
			a.mu.Lock()
			t := time.NewTimer(time.Until(a.next))
			a.mu.Unlock()
			select {
			case <-a.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		select {
		case <-a.ctx.Done():
			return
		case <-f.done:
		}
		if f.ok {
			return
		}
	}
}

// recover is called when an operation that sent token used was refused
// (403). It reports whether the operation should be tried once more: the
// token has changed since, or Vault no longer knows it (revoked) and a
// new login succeeded. A 403 for a token Vault still knows is a real
// refusal. Concurrent recoveries share one check and one login; while a
// wait imposed by earlier logins runs, the refusal stands.
func (a *authState) recover(ctx context.Context, used string) bool {
	if a == nil || used == "" {
		return false
	}
	a.mu.Lock()
	gen, token := a.gen, a.current.Auth.ClientToken
	a.mu.Unlock()
	if token != used {
		return true
	}
	f, newer := a.startLogin(gen, true)
	if f == nil && !newer && a.awaitNext(ctx) {
		// A short wait imposed by earlier logins has passed: one try.
		f, newer = a.startLogin(gen, true)
	}
	if f == nil {
		return newer
	}
	select {
	case <-ctx.Done():
		return false
	case <-f.done:
		return f.ok
	}
}

// maxRecoverWait bounds the wait imposed by earlier logins that an
// operation refused with 403 sits out before it tries a login of its
// own: through a short wait (a login whose token was refused once, under
// load) the operation succeeds late rather than fail; a longer one
// (logins failing again and again) leaves the refusal as it is.
const maxRecoverWait = 5 * time.Second

// awaitNext waits for the end of the wait imposed by earlier logins, and
// reports whether it ended: false after stop, when ctx ends first, or
// when the wait is longer than maxRecoverWait.
func (a *authState) awaitNext(ctx context.Context) bool {
	a.mu.Lock()
	d, stopped := time.Until(a.next), a.stopped
	a.mu.Unlock()
	switch {
	case stopped || d > maxRecoverWait:
		return false
	case d <= 0:
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-a.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// startLogin returns the flight that replaces login gen: the one in
// flight, or a new one, which first checks that Vault no longer knows the
// token if check is set. It returns nil and true if gen is no longer
// current, and nil and false after stop or while a wait imposed by
// earlier logins runs.
func (a *authState) startLogin(gen uint64, check bool) (*loginFlight, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen != a.gen {
		return nil, true
	}
	if a.flight != nil {
		return a.flight, false
	}
	if a.stopped || time.Now().Before(a.next) {
		return nil, false
	}
	f := &loginFlight{done: make(chan struct{})}
	a.flight = f
	a.flights.Add(1)
	go a.fly(f, gen, a.current.Auth.ClientToken, check)
	return f, false
}

// fly runs flight f, which replaces login gen, of token.
func (a *authState) fly(f *loginFlight, gen uint64, token string, check bool) {
	defer a.flights.Done()
	a.replace(token, check)
	a.mu.Lock()
	a.flight = nil
	f.ok = a.gen != gen
	a.mu.Unlock()
	close(f.done)
}

// replace logs in again in place of token. With check, it first asks
// Vault whether it still knows token, and logs in only if it does not.
func (a *authState) replace(token string, check bool) {
	if check {
		if a.known(a.ctx, token) {
			return // known, or no answer: the refusal stands
		}
		a.log(slog.LevelWarn, "edge: vault no longer knows the token; logging in again")
	}
	err := a.loginOnce(a.ctx, true)
	if a.ctx.Err() != nil {
		return
	}
	a.tel.relogin(err)
	a.mu.Lock()
	if err != nil {
		a.wait = min(max(2*a.wait, reloginMinWait), reloginMaxWait)
		a.next = time.Now().Add(a.wait)
	} else {
		a.wait = 0
	}
	wait := a.wait
	a.mu.Unlock()
	switch {
	case errors.Is(err, errUnusable):
		a.log(slog.LevelWarn, "edge: vault refused the new login's token; waiting before the next login", "wait", wait)
	case err != nil:
		a.log(slog.LevelWarn, "edge: login failed; waiting before the next login", "error", vaulterr.Describe(err), "wait", wait)
	case !check:
		a.log(slog.LevelInfo, "edge: logged in again")
	}
}

// stop ends the renewal and waits for its goroutines. No login starts
// after it.
func (a *authState) stop() {
	if a == nil {
		return
	}
	a.once.Do(func() {
		a.cancel() // first: a loop that finds stopped set finds ctx done
		a.mu.Lock()
		a.stopped = true
		a.mu.Unlock()
	})
	<-a.done
	a.flights.Wait()
}

func (a *authState) log(level slog.Level, msg string, args ...any) {
	if a.logger != nil {
		a.logger.Log(context.Background(), level, msg, args...)
	}
}
