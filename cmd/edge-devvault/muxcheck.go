package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
)

// checkMuxCleansDotSegments verifies that net/http.ServeMux, as configured in
// this process, does not route requests whose path contains percent-encoded
// dot segments to a handler but redirects them to the cleaned path, as the Go
// 1.21 ServeMux did. Vault v1.14.0 relies on that (see the package comment).
// It fails if the //go:debug httpmuxgo121=1 directive is missing or was
// overridden, e.g. with GODEBUG=httpmuxgo121=0 in the environment.
func checkMuxCleansDotSegments() error {
	for _, p := range []string{
		"/v1/secret/data/a/%2e%2e/b",
		"/v1/secret/data/a/..%2Fb",
		"/v1/secret/data/a/%2E%2E%2Fb",
	} {
		reached := false
		mux := http.NewServeMux()
		mux.HandleFunc("/v1/", func(http.ResponseWriter, *http.Request) { reached = true })
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+p, nil))
		if reached || rec.Code < 300 || rec.Code > 399 {
			return fmt.Errorf("net/http.ServeMux passes %q to the handler uncleaned (status %d): "+
				"Vault's ACLs can be bypassed by path traversal; build with //go:debug httpmuxgo121=1 "+
				"and do not override it with GODEBUG", p, rec.Code)
		}
	}
	return nil
}
