// Command approle-service is a small long-running service that uses the
// Edge SDK as services do: it logs in to Vault with AppRole (the session
// renews its token and logs in again when needed), reads its database
// configuration from an org secret into a struct, serves HTTP, and shuts
// down cleanly on SIGINT or SIGTERM, closing its session.
//
// Configuration, from the environment:
//
//	VAULT_ADDR              the Vault (default: vault/api's, https://127.0.0.1:8200)
//	EDGE_ORG                the org whose secret "database" holds the configuration
//	EDGE_KV_MOUNT           the KV version 2 mount (default "secret")
//	APPROLE_ROLE_ID         the AppRole role id (configuration)
//	APPROLE_SECRET_ID_FILE  a file holding the secret id (a credential: never
//	                        on the command line or in the environment)
//	LISTEN_ADDR             where to serve HTTP (default 127.0.0.1:8080)
//
// The role's identity entity must be a member of the org. The org secret
// "database" is an object such as
//
//	{"host": "db.internal", "port": 5432, "name": "app", "user": "app", "password": "..."}
//
// The service answers GET /healthz with "ok" and GET /db with the
// configuration it loaded, without the password. main_test.go runs it
// against the dev Vault through package edgetest.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api/auth/approle"

	"github.com/edgesdk/edge"
)

// secretName is the org secret holding the database configuration.
const secretName = "database"

// DBConfig is the service's database configuration. Printing it never
// shows the password.
type DBConfig struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Name     string `json:"name"`
	User     string `json:"user"`
	Password string `json:"password"`
}

// String describes c without its password.
func (c DBConfig) String() string {
	return fmt.Sprintf("DBConfig{Host: %q, Port: %d, Name: %q, User: %q, Password: <redacted>}", c.Host, c.Port, c.Name, c.User)
}

// config is the service's own configuration.
type config struct {
	vaultAddr    string // "": vault/api's default (VAULT_ADDR)
	org          string
	mount        string // "": edge's default (EDGE_KV_MOUNT, else "secret")
	roleID       string
	secretIDFile string
	listen       string
}

// configFromEnv reads the configuration from the environment.
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		vaultAddr:    getenv("VAULT_ADDR"),
		org:          getenv("EDGE_ORG"),
		mount:        getenv("EDGE_KV_MOUNT"),
		roleID:       getenv("APPROLE_ROLE_ID"),
		secretIDFile: getenv("APPROLE_SECRET_ID_FILE"),
		listen:       getenv("LISTEN_ADDR"),
	}
	if c.listen == "" {
		c.listen = "127.0.0.1:8080"
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"EDGE_ORG", c.org}, {"APPROLE_ROLE_ID", c.roleID}, {"APPROLE_SECRET_ID_FILE", c.secretIDFile},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return config{}, fmt.Errorf("set %v", missing)
	}
	return c, nil
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := configFromEnv(os.Getenv)
	if err == nil {
		err = serveUntilSignal(cfg, logger, nil)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "approle-service:", err)
		os.Exit(1)
	}
}

// serveUntilSignal runs the service until SIGINT or SIGTERM.
func serveUntilSignal(cfg config, logger *slog.Logger, ready func(addr string)) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, cfg, logger, ready)
}

// run logs in, loads the database configuration and serves HTTP until ctx
// ends; then it stops the server (letting requests in flight finish) and
// closes the session. ready, if not nil, is called with the address
// served once the service is ready.
func run(ctx context.Context, cfg config, logger *slog.Logger, ready func(addr string)) error {
	auth, err := approle.NewAppRoleAuth(cfg.roleID, &approle.SecretID{FromFile: cfg.secretIDFile})
	if err != nil {
		return fmt.Errorf("approle login: %w", err)
	}
	sess, err := edge.NewSession(ctx, edge.Config{
		Address: cfg.vaultAddr,
		Mount:   cfg.mount,
		Org:     cfg.org,
		Auth:    auth,   // logs in now, renews the token, logs in again as needed
		Logger:  logger, // renewals and logins at Info and Warn; never a token or a value
	})
	if err != nil {
		return err
	}
	defer sess.Close() // stops the token's renewal

	db, err := loadDB(ctx, sess.Secrets)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(db), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("serving", "addr", ln.Addr().String(), "db", net.JoinHostPort(db.Host, fmt.Sprint(db.Port)), "entity", sess.EntityID())
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "cause", context.Cause(ctx))
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if served := <-served; !errors.Is(served, http.ErrServerClosed) && err == nil {
		err = served
	}
	return err
}

// loadDB reads the org secret "database" into a DBConfig.
func loadDB(ctx context.Context, secrets *edge.SecretsService) (DBConfig, error) {
	s, err := secrets.ReadOrgSecret(ctx, secretName)
	if err != nil {
		return DBConfig{}, fmt.Errorf("loading the database configuration: %w", err)
	}
	var db DBConfig
	if err := s.DecodeStrict(&db); err != nil {
		return DBConfig{}, fmt.Errorf("the database configuration: %w", err)
	}
	if db.Host == "" || db.Port == 0 {
		return DBConfig{}, errors.New("the database configuration lacks host or port")
	}
	return db, nil
}

func handler(db DBConfig) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /db", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"host": db.Host, "port": db.Port, "name": db.Name, "user": db.User})
	})
	return mux
}
