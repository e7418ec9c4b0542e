package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/edgesdk/edge"
)

// Retry-After, in seconds, of a 503: Vault could not answer.
const retryAfter = "5"

// requestTimeout bounds the Vault work of one request.
const requestTimeout = 10 * time.Second

// handler serves the secrets of each request's caller, with the caller's
// own Vault token, through one shared edge.Client.
type handler struct {
	client *edge.Client
	logger *slog.Logger
}

// newHandler returns the service's routes:
//
//	GET /secrets/user/{name}       the caller's user secret name
//	GET /secrets/org/{org}/{name}  org secret name of org
//
// Each request carries "Authorization: Bearer <vault token>"; the handler
// makes a session of c for that token, reads the secret with it, answers
// it as a JSON object, and closes the session. Vault decides what the
// token may read: the service holds no token of its own. Errors are JSON
// objects {"error": "..."} holding neither a token nor a value.
func newHandler(c *edge.Client, logger *slog.Logger) http.Handler {
	h := &handler{client: c, logger: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /secrets/user/{name}", h.userSecret)
	mux.HandleFunc("GET /secrets/org/{org}/{name}", h.orgSecret)
	return mux
}

func (h *handler) userSecret(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(ctx context.Context, sess *edge.Session) (edge.Secret, error) {
		return sess.Secrets.ReadUserSecret(ctx, r.PathValue("name"))
	})
}

func (h *handler) orgSecret(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(ctx context.Context, sess *edge.Session) (edge.Secret, error) {
		org, err := sess.WithOrg(r.PathValue("org")) // no request, no goroutine
		if err != nil {
			return nil, err
		}
		return org.Secrets.ReadOrgSecret(ctx, r.PathValue("name"))
	})
}

// serve answers r with what read returns, read with a session of the
// request's bearer token that is closed afterwards.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, read func(context.Context, *edge.Session) (edge.Secret, error)) {
	token, ok := bearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tenant-service"`)
		writeJSON(w, http.StatusUnauthorized, errorBody("missing or malformed bearer token"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	sess, err := h.client.Session(ctx, token) // no request; a token that cannot be one is ErrBadEntry
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer sess.Close()
	s, err := read(ctx, sess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// bearerToken returns the token of r's "Authorization: Bearer <token>"
// header, as sent: a token with spaces or control bytes is left for
// edge.Client.Session to refuse. It reports false if there is no such
// header or no token in it.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// fail answers r with the status of err, and logs err, which the SDK
// guarantees holds no token and no value.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, text := statusOf(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelWarn
	}
	h.logger.Log(r.Context(), level, "request failed", "route", r.Pattern, "status", status, "err", err)
	writeJSON(w, status, errorBody(text))
}

// statusOf maps an error of the SDK to an HTTP status and a short text.
// An edge error matches one kind at most (the one pairing,
// ErrUnknownOutcome with ErrUnavailable, comes from writes only), so the
// order of the cases does not matter.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, edge.ErrBadEntry):
		return http.StatusBadRequest, "bad request: invalid name, org or token"
	case errors.Is(err, edge.ErrNotFound):
		return http.StatusNotFound, "secret not found"
	case errors.Is(err, edge.ErrPermissionDenied):
		return http.StatusForbidden, "permission denied"
	case errors.Is(err, edge.ErrNoEntity):
		return http.StatusForbidden, "the token has no vault identity: no user secrets"
	case errors.Is(err, edge.ErrUnavailable):
		return http.StatusServiceUnavailable, "vault is unavailable: try again later"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "vault did not answer in time"
	}
	return http.StatusInternalServerError, "internal error"
}

func errorBody(text string) map[string]string { return map[string]string{"error": text} }

// writeJSON writes v as the response, which no cache may keep.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
