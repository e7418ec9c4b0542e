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
// Its methods are safe for concurrent use, and on a nil *authState (a
// session without Auth) do nothing.
type authState struct {
	client *api.Client
	method api.AuthMethod
	logger *slog.Logger

	mu       sync.Mutex   // serializes logins
	tokenMu  sync.RWMutex // held to write the client's token (a login), read to copy the client
	entityID string       // the session's entity, once known
	changed  atomic.Bool

	fresh  chan *api.Secret // a login made by recover, for the watcher loop
	ctx    context.Context  // ends with stop
	cancel context.CancelFunc
	done   chan struct{} // closed when the watcher loop has returned
	once   sync.Once

	logins, renewals atomic.Int64
}

// reloginBackoff bounds the waits between failed logins in the background.
const (
	reloginMinWait = 100 * time.Millisecond
	reloginMaxWait = 10 * time.Second
)

// login logs client in with method and starts keeping its token alive.
func login(ctx context.Context, client *api.Client, method api.AuthMethod, logger *slog.Logger) (*authState, error) {
	a := &authState{client: client, method: method, logger: logger, fresh: make(chan *api.Secret, 1), done: make(chan struct{})}
	secret, err := a.loginOnce(ctx)
	if err != nil {
		return nil, sessionError(loginKind(err), fmt.Errorf("logging in: %w", err))
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	go a.run(secret)
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

// loginOnce logs in, which sets the client's token, and notes an entity
// other than the session's.
func (a *authState) loginOnce(ctx context.Context) (*api.Secret, error) {
	a.tokenMu.Lock()
	secret, err := a.client.Auth().Login(ctx, a.method) // sets the client's token
	a.tokenMu.Unlock()
	if err != nil {
		return nil, err
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return nil, errors.New("vault returned no token")
	}
	a.logins.Add(1)
	if id := a.entity(); id != "" && secret.Auth.EntityID != id {
		a.changed.Store(true)
		a.log(slog.LevelError, "edge: the new login is another identity entity; user operations now fail with ErrIdentityChanged")
	}
	return secret, nil
}

func (a *authState) setEntity(id string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entityID = id
}

func (a *authState) entity() string {
	// loginOnce runs with mu held, or before the session exists.
	return a.entityID
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
func (a *authState) identityChanged() bool { return a != nil && a.changed.Load() }

// run renews the token described by secret, and each token after it,
// until stop.
func (a *authState) run(secret *api.Secret) {
	defer close(a.done)
	for secret != nil {
		w, err := a.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: secret})
		if err != nil {
			a.log(slog.LevelWarn, "edge: cannot watch the token; logging in again", "error", vaulterr.Describe(err))
			secret = a.relogin()
			continue
		}
		go w.Start()
		secret = a.watch(w)
		w.Stop()
	}
}

// watch follows one LifetimeWatcher and returns the next token's secret,
// or nil after stop.
func (a *authState) watch(w *api.LifetimeWatcher) *api.Secret {
	for {
		select {
		case <-a.ctx.Done():
			return nil
		case s := <-a.fresh:
			return s
		case r := <-w.RenewCh():
			a.renewals.Add(1)
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
			return a.relogin()
		}
	}
}

// relogin logs in until it succeeds, waiting longer after each failure,
// and returns the new token's secret, or nil after stop.
func (a *authState) relogin() *api.Secret {
	wait := reloginMinWait
	for {
		a.mu.Lock()
		secret, err := a.loginOnce(a.ctx)
		a.mu.Unlock()
		if err == nil {
			a.log(slog.LevelInfo, "edge: logged in again")
			return secret
		}
		if a.ctx.Err() != nil {
			return nil
		}
		a.log(slog.LevelWarn, "edge: login failed; trying again", "error", vaulterr.Describe(err), "wait", wait)
		select {
		case <-a.ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, reloginMaxWait)
	}
}

// recover is called when an operation that sent token used was refused
// (403). It reports whether the operation should be tried once more: the
// token has changed since, or Vault no longer knows it (revoked) and a
// new login succeeded. A 403 for a token Vault still knows is a real
// refusal.
func (a *authState) recover(ctx context.Context, used string) bool {
	if a == nil || used == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client.Token() != used {
		return true
	}
	if _, err := a.client.Auth().Token().LookupSelfWithContext(ctx); vaulterr.Status(err) != 403 {
		return false
	}
	a.log(slog.LevelWarn, "edge: vault no longer knows the token; logging in again")
	secret, err := a.loginOnce(ctx)
	if err != nil {
		a.log(slog.LevelWarn, "edge: login failed", "error", vaulterr.Describe(err))
		return false
	}
	select { // the watcher loop follows the newest token
	case <-a.fresh:
	default:
	}
	a.fresh <- secret
	return true
}

// stop ends the renewal and waits for its goroutine.
func (a *authState) stop() {
	if a == nil {
		return
	}
	a.once.Do(a.cancel)
	<-a.done
}

func (a *authState) log(level slog.Level, msg string, args ...any) {
	if a.logger != nil {
		a.logger.Log(context.Background(), level, msg, args...)
	}
}
