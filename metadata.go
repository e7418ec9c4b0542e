package edge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/vaultclient"
)

// kvMetadata is the part of a KV v2 metadata read (GET
// <mount>/metadata/<path>) that the SDK uses: the latest version's number
// and every version Vault keeps, and the time of the answer by Vault's
// clock. It carries no value.
type kvMetadata struct {
	Data struct {
		CurrentVersion uint64                       `json:"current_version"`
		Versions       map[string]kvVersionMetadata `json:"versions"`
	} `json:"data"`
	// date is the answer's Date header (Vault's clock, truncated to the
	// second), or the zero Time if it has none that parses.
	date time.Time
}

// kvVersionMetadata is one version's entry in kvMetadata. Times are
// RFC 3339 text as Vault sends them; DeletionTime is "" when the version
// has none.
type kvVersionMetadata struct {
	CreatedTime  string `json:"created_time"`
	DeletionTime string `json:"deletion_time"`
	Destroyed    bool   `json:"destroyed"`
}

// latest returns the entry of the latest version, and false if the
// metadata names none (a secret with no version, or a current_version
// Vault does not list).
func (m *kvMetadata) latest() (kvVersionMetadata, bool) {
	if m.Data.CurrentVersion == 0 {
		return kvVersionMetadata{}, false
	}
	v, ok := m.Data.Versions[strconv.FormatUint(m.Data.CurrentVersion, 10)]
	return v, ok
}

// parseVaultTime parses a time as Vault writes it in metadata; "" (no
// time) is the zero time.
func parseVaultTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// readMetadata reads the KV v2 metadata of secret name in sc, for
// operation op, in one request. A secret that does not exist (404) is an
// error wrapping ErrNotFound; a request that vault/api's own timeout
// ended, ErrUnavailable (see timedOut). The caller has checked name and
// scope.
func (s *SecretsService) readMetadata(ctx context.Context, op string, sc scope, name string) (*kvMetadata, error) {
	req := vaultclient.Request{Method: http.MethodGet, Path: sc.meta + "/" + name, Token: s.token, Gate: s.c.gate}
	return vaultclient.Send(ctx, s.c.api, req, func(resp *api.Response, err error) (*kvMetadata, error) {
		if err != nil {
			return nil, sc.fail(op, name, timedOut(ctx, err, readKindOf(err)), err)
		}
		var meta kvMetadata
		body := &bodyReader{r: resp.Body}
		if err := json.NewDecoder(body).Decode(&meta); err != nil {
			if body.err != nil {
				return nil, sc.fail(op, name, timedOut(ctx, body.err, kindOf(body.err)), body.err)
			}
			return nil, sc.fail(op, name, nil, errors.New("vault returned metadata that is not JSON"))
		}
		meta.date, _ = http.ParseTime(resp.Header.Get("Date")) // none: the zero Time
		return &meta, nil
	})
}
