// Package edgetest gives the tests of code that uses package edge a real
// HashiCorp Vault, provisioned for Edge, with fresh users and orgs per
// test.
//
//	func TestMain(m *testing.M) { edgetest.Main(m) } // stops the Vault at the end
//
//	func TestTeamDB(t *testing.T) {
//		t.Parallel()
//		v := edgetest.Start(t)
//		carol, alice := v.NewUser(t), v.NewUser(t)
//		org := v.NewOrg(t, carol)          // carol administers a fresh org
//		v.AddMember(t, org, alice)         // alice is a member of it
//		admin := v.Session(t, carol, org)  // closed when the test ends
//		member := v.Session(t, alice, org) // likewise
//		// ... admin writes org secrets, your code reads them through member.Secrets
//	}
//
// # The shared Vault
//
// [Start] starts one Vault per test binary, on its first call, and every
// later call (from any test, in parallel or not) returns the same
// [*Vault]. Tests never collide on it: [Vault.NewUser], [Vault.NewOrg] and
// [Vault.NewAppRole] make new Vault identities and orgs with random names
// each time, so a test sees only the users, orgs and secrets it made.
// Nothing is deleted at the end of a test (the names are never reused);
// sessions made by [Vault.Session] and [Vault.NewSession] are closed by
// t.Cleanup.
//
// By default the Vault is the dev Vault of this repository
// (github.com/edgesdk/edge/cmd/edge-devvault: Vault v1.14.0 in memory, on
// 127.0.0.1, plain HTTP), run as a child process of the test binary. The
// first start builds it into the user cache directory (4 to 5 minutes
// on 2 cores from a cold Go build cache; see "Outside this
// repository" for where its source comes from); starting it takes one to
// two seconds. It has KV version 2 at "secret", userpass and AppRole;
// Start adds the Edge user policy through package admin
// ([admin.Admin.Setup]).
//
// # A Vault over TLS
//
// [StartTLS] returns a second shared dev Vault, started on its first
// call and provisioned exactly like Start's, served over TLS as
// production Vaults are: vault/api's clients then speak HTTP/2 to it, as
// they do to every Vault behind TLS, which plain HTTP never shows (over
// HTTP/2, a response body whose request context was cancelled is cut
// short). The dev Vault makes a CA at start and a certificate for
// 127.0.0.1, ::1 and localhost signed by it; [Vault.CACert] is the CA
// certificate's file, for clients edgetest does not make (VAULT_CACERT,
// api.TLSConfig.CACert). Every client edgetest makes for it (the root
// and admin clients, logins, [Vault.RootClient], the Client of
// [Vault.Config], [Vault.Session] and [Vault.NewSession]) trusts that CA
// and no other. Stop, Main and Run stop it with the other. With an
// external Vault (below), StartTLS returns Start's Vault if
// EDGE_TEST_VAULT_ADDR is https (its clients then trust what vault/api's
// environment says: VAULT_CACERT, VAULT_CAPATH, else the system's roots),
// and skips the test if it is plain http.
//
// # A Vault that requires client certificates
//
// [StartMTLS] returns a third shared dev Vault, started on its first
// call and provisioned like Start's, served over TLS like StartTLS's,
// whose server also requires and verifies a client certificate, as a
// Vault listener with tls_require_and_verify_client_cert does: a client
// that presents none fails in the TLS handshake. The dev Vault makes a
// second CA at start, for clients, and one client certificate signed by
// it; every client edgetest makes for it (the same list as above)
// presents that certificate and trusts the server's CA.
// [Vault.ClientCert] returns the files of the certificate and its key,
// and [Vault.CACert] the server's CA, for clients edgetest does not make
// (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY and VAULT_CACERT, or
// api.TLSConfig). Stop, Main and Run stop it with the others. With an
// external Vault, StartMTLS skips the test, saying so: edgetest can make
// neither the external Vault require client certificates nor a
// certificate it would accept.
//
// # Stopping it
//
// A library cannot own TestMain, so the Vault (and StartTLS's and
// StartMTLS's) is stopped in one of three ways:
//
//   - [Main] in the package's TestMain runs the tests, stops the Vault
//     and exits with the tests' exit code; [Stop] does the stopping for a
//     TestMain of your own.
//   - Without either, the dev Vault still stops when the test binary
//     ends: its standard input is a pipe held only by the test process,
//     and the dev Vault shuts down as soon as that pipe closes, which the
//     operating system does when the test binary exits, crashes or is
//     killed (even with SIGKILL); it then stops on its own, taking a
//     moment that nothing waits for.
//   - With an external Vault (below) nothing is stopped.
//
// [Main] (or [Stop]) is still the better choice: it waits for the dev
// Vault to exit and reports an unclean exit, so that no process is left
// running when "go test" prints its result.
//
// # An external Vault
//
// With EDGE_TEST_VAULT_ADDR and EDGE_TEST_VAULT_TOKEN both set (setting
// one alone is an error), Start starts nothing and provisions that Vault
// instead, with the token, which must be able to manage mounts, auth
// methods, policies and identity groups (a root token in practice): KV
// version 2 at "secret" (enabled if nothing is mounted there; a KV version
// 1 or other engine there is an error), userpass (and, on the first
// [Vault.NewAppRole], AppRole) enabled if missing, and the Edge user
// policy. [Provision] does the same for a Vault the test runs itself.
// The users, roles, orgs, policies, groups and secrets the tests
// make stay there: use a throwaway Vault, such as "vault server -dev". The
// token is never printed. This mode needs no Go toolchain beyond the
// tests' own and no copy of the dev Vault.
//
// # Outside this repository
//
// The dev Vault is a Go module of its own
// (github.com/edgesdk/edge/cmd/edge-devvault), so that the SDK's module
// never depends on Vault's server code; Go's module zips leave nested
// modules out, so a module that requires github.com/edgesdk/edge does not
// get its source. Start then installs it with
//
//	go install github.com/edgesdk/edge/cmd/edge-devvault@<the SDK's version>
//
// (the version read from where the go command put the SDK's source in the
// module cache; for a pseudo-version, the same commit) into the user
// cache directory, once
// per version; this needs the go command and the module proxy. The
// SDK's releases tag both modules at the same commit (vX.Y.Z and
// cmd/edge-devvault/vX.Y.Z). Inside a checkout of the SDK, or with a
// replace directive pointing at one, Start builds cmd/edge-devvault from
// that source instead. Either way the binary lives in a private directory
// (<user cache directory>/edge-devvault, mode 0700) and runs only if it
// is the user's own and neither it nor its directory is writable by
// anyone else: a cache directory that another user owns or may write to
// is refused with an error that says what to fix, never replaced or used.
// EDGE_DEVVAULT_BIN names a prebuilt binary to use instead of either, as
// it is (the user's choice); an external Vault (above) needs none.
//
// # Failures and secrets
//
// Every method fails the test with t.Fatal (so call them from the test's
// goroutine, as with t.FailNow) and a message that names the step and
// Vault's answer. No message, and no String or GoString method, ever
// shows a token, a password or a secret id. The clients edgetest makes
// ignore a developer's VAULT_NAMESPACE and VAULT_WRAP_TTL: the root and
// admin clients, [Vault.RootClient], and the Client that [Vault.Config]
// sets (so [Vault.Session], and edge.NewSession with that Config, send no
// namespace header and wrap nothing unasked), and the one [Vault.NewSession]
// sets when the Config it is given has no Client and no other address.
package edgetest
