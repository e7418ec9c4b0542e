// Package edge keeps per-user and per-organization secrets in HashiCorp
// Vault (a KV version 2 secrets engine), with the semantics of the Edge
// EdgeSecrets API: twelve operations (list, read, create, update, delete
// and wrap, for the user's own secrets and for the org's) and its three
// errors, NotFound, AlreadyExists and BadEntry.
//
//	sess, err := edge.NewSession(ctx, edge.Config{}) // VAULT_ADDR, VAULT_TOKEN, EDGE_ORG
//	if err != nil { ... }
//	defer sess.Close()
//	err = sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k-123"})
//	s, err := sess.Secrets.ReadOrgSecret(ctx, "team-db")
//	if errors.Is(err, edge.ErrNotFound) { ... }
//
// # The model: who may do what
//
// A [Session] is one caller, logged in to Vault with a token that belongs
// to a Vault identity entity (a userpass user, an AppRole role, ...), and
// optionally one org ([Config.Org]). [Session.Secrets], a
// [SecretsService], does the operations, each in two scopes:
//
//   - User secrets are private to their user: no other user, not even an
//     org admin, may list, read, write or wrap them.
//   - Org secrets are listed, read and wrapped (latest version), and
//     their version history listed, by every member of the org; they are
//     created, updated and deleted, and their older versions read and
//     rolled back, only by its admins.
//
// Vault enforces this, not the client: with ACL policies (one templated
// user policy for all users, a members and an admins policy per org),
// identity entities (a user's secrets live under the entity id of their
// token) and identity groups (an org's members and admins). A user who
// skips the SDK and calls Vault with their own token is refused just the
// same. Package [github.com/edgesdk/edge/admin] writes those policies and
// groups.
//
// # Layout in Vault
//
// With Config.Mount (default [DefaultMount], "secret") and Config.Prefix
// (default [DefaultPrefix], "edge"):
//
//	user secret NAME of entity E:  <mount>/data/<prefix>/users/<E>/<NAME>
//	org secret NAME of org O:      <mount>/data/<prefix>/orgs/<O>/<NAME>
//	listing:                       LIST <mount>/metadata/<prefix>/users/<E> (or orgs/<O>)
//
// Create never overwrites (a write with cas=0: ErrAlreadyExists);
// Update replaces the whole value and never creates a secret, nor brings
// back one deleted meanwhile; Delete removes every version and the
// metadata, so the name can be created again, and deleting a missing
// secret is not an error; List returns the names, sorted.
//
// KV v2 keeps earlier versions: ListUserSecretVersions lists them (numbers
// and times, newest first), ReadUserSecretVersion reads one, and
// RollbackUserSecret writes one's value again as a new version, with
// check-and-set (ErrConflict if someone wrote meanwhile); each has its org
// twin.
//
// # Errors
//
// Every error is an [*Error], which records the operation, the scope, the
// secret name, a Kind and the cause. Match the kind with errors.Is
// against the sentinels: [ErrNotFound], [ErrAlreadyExists] and
// [ErrBadEntry] (the API's three errors), [ErrPermissionDenied] (Vault's
// 403), [ErrNoEntity], [ErrNoOrg], [ErrConflict], [ErrUnavailable] (try
// again later), [ErrConfig] (the address, TLS or client configuration
// cannot work: fix it, retrying does not help), [ErrUnknownOutcome] (a
// write whose answer was lost: read to see), [ErrIdentityChanged],
// [ErrUndecodable], and on the receiving side of a wrap [ErrInvalidToken]
// and [ErrWrongSecret]. Reach Vault's
// answer with errors.As and vault/api's *api.ResponseError. An error
// matches at most one of these kinds (ErrNotFound, ErrAlreadyExists,
// ErrBadEntry, ErrPermissionDenied, ErrConflict, ErrInvalidToken,
// ErrWrongSecret, ErrUnknownOutcome, and every other sentinel, any added
// later included), so they may be tested in any order; the one pairing
// is ErrUnknownOutcome with ErrUnavailable, when Vault was unavailable.
// An *Error matches its own Kind alone, whatever its cause holds. A
// cancelled or expired context matches ctx.Err(). Error texts are short facts; they
// never hold a secret value or a token, nor an invalid name whole (it may
// be a token pasted in the wrong place). What to do about each error is in
// the sentinel's documentation. Package admin's errors print and match
// the same way.
//
// # Names and values
//
// Secret and org names are 1 to [MaxNameLength] ASCII letters, digits,
// '-' and '_' ([ValidName]); anything else is ErrBadEntry and no request
// is sent. Mount and Prefix are '/'-separated valid names ([ValidPath]).
//
// A value is a [Secret], a JSON object of at most [MaxValueSize] bytes.
// Values round-trip exactly: whatever would not come back as written is
// refused with ErrBadEntry before any request, and numbers come back as
// json.Number, spelled as written. [SecretOf] and [Secret.Decode] convert
// to and from structs. Printing a Secret with fmt or log/slog shows its
// keys, never its values; [Secret.Reveal] shows them on purpose.
//
// # Numbers and the exact-JSON envelope
//
// Vault's KV v2 engine decodes stored values into float64 when it answers
// a read, so any client would get 9223372036854775807 back as
// 9223372036854776000 and 1e21 as 1e+21. A value holding a number whose
// float64 spelling would differ from the written text (and a value nested
// deeper than 100 levels, one with an object or array of more than 1,000
// entries, or one whose own keys include "_edge_json") is therefore
// stored as its exact JSON text in one string field, {"_edge_json":
// "..."}, which Read and Unwrap decode transparently. Every other value is
// stored field by field, as "vault kv get" and other clients expect.
//
// # Wrapping: handing a secret over
//
// [SecretsService.WrapUserSecret] and [SecretsService.WrapOrgSecret]
// return a [WrappedSecret]: a single-use Vault response-wrapping token
// holding a copy of the value, valid for [Config.WrapTTL] (default
// [DefaultWrapTTL]) or [WithWrapTTL]. The receiver needs no session and no
// token of its own: [VerifyWrapped] checks, without consuming the token,
// that it holds the secret the sender named ([OrgSecretOrigin],
// [UserSecretOrigin]); [Unwrap] or [UnwrapSecret] redeems it, once;
// [LookupWrapped] looks at it. [WithWrapVersion] and
// [UnwrappedSecret.Version] let the two sides agree on which version of
// the secret was handed over. Printing a WrappedSecret never shows the
// token.
//
// # Read cache
//
// Reads go to Vault every time unless [Config.CacheTTL] is set: then a
// successful read is answered from memory for that long (at most
// [Config.CacheSize] secrets, [DefaultCacheSize] by default). The
// session's own writes drop their name's cached value before they return;
// another client's write, or a permission Vault revokes, reaches a cached
// name at most CacheTTL later, or at once after
// [SecretsService.InvalidateUserSecret],
// [SecretsService.InvalidateOrgSecret] or [SecretsService.InvalidateAll].
// Errors are never cached; lists and wraps always ask Vault. Each value
// expires at a uniformly random point between 0.9×CacheTTL and CacheTTL.
//
// With [Config.CacheStaleIfError], a read whose cached value has expired
// returns it when Vault cannot answer the refresh (ErrUnavailable), up to
// CacheTTL + CacheStaleIfError after it was read from Vault: never over
// an answer of Vault's (not found, permission denied), never once the
// caller's context has ended. A sealed or unreachable Vault cannot report
// a revocation, so that sum bounds how long a revoked reader may still
// read a cached value during an outage.
//
// # One service, many users
//
// A program that acts as one caller uses [NewSession]. A service that
// acts for many (each request carrying its user's Vault token) makes one
// [Client] with [NewClient] when it starts, and a session per request
// with [Client.Session]: no request when made, no goroutine; the token's
// identity entity is looked up once per token (and only for user
// operations), then remembered in a bounded cache keyed by the token's
// SHA-256. A bad or revoked token surfaces on the first operation as
// ErrPermissionDenied. [Session.WithOrg] changes the org per session, with
// no request. A Client bounds its requests in flight
// (Config.MaxConcurrentRequests), so that over TLS a burst shares one
// HTTP/2 connection. [Config] says which fields describe the Client and
// which its sessions; NewSession is a Client of its own and one session.
//
// # Auth, renewal and faults
//
// Without [Config.Auth] the session uses its token as it is
// ([Config.Token], VAULT_TOKEN or the client's) and never renews it. With
// an auth method (any vault/api api.AuthMethod: AppRole, Kubernetes,
// userpass, ...), [NewSession] logs in, and the session keeps its token
// alive in the background until [Session.Close]: it renews it while Vault
// allows, logs in again near its max TTL or when renewal fails, and logs
// in again and retries once when an operation finds the token revoked.
// [Session.WithOrg] gives a session on another org sharing the login.
// [Config.Logger] receives one record per operation, never a value or a
// token.
//
// vault/api retries failed requests, writes included; the SDK checks with
// Vault what a write whose answer was lost did before it reports anything,
// so it never reports ErrAlreadyExists for the caller's own write, and
// says ErrUnknownOutcome when it cannot tell. [Config.RetryBudget] lets
// each operation ride through a leader election of an HA cluster. A
// Session is safe for concurrent use by multiple goroutines.
//
// # Where the rest fits
//
//   - Package [github.com/edgesdk/edge/admin] is for operators: it sets up
//     the KV v2 mount and the user policy (Admin.Setup), creates orgs
//     (Admin.CreateOrg) and manages their members and admins
//     (Admin.AddMember, Admin.AddAdmin, ...), with a token holding
//     Admin.OperatorPolicy.
//   - Package [github.com/edgesdk/edge/edgetest] is for the tests of
//     programs that use this package: edgetest.Start(t) gives a real dev
//     Vault, and NewUser, NewOrg, AddMember and Session make users, orgs,
//     memberships and sessions on it.
//   - The edge-secrets command (github.com/edgesdk/edge/cmd/edge-secrets)
//     does the twelve operations, and the receiving side of a wrap, from
//     a shell.
//
// The README (https://github.com/edgesdk/edge) has the details: what each
// operation does after a lost answer, what VerifyWrapped proves and what
// it does not, measurements against an HA cluster, and the CLI's exit
// codes.
package edge
