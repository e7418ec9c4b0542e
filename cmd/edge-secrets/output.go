package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/edgesdk/edge"
)

// writeJSON prints v as one line of JSON. HTML characters are kept as
// they are (encoding/json would write <, > and & as \u003c, ...);
// json.Numbers keep their spelling.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	return nil
}

// wrapOutput is what wrap prints: everything a receiver needs, the token
// included (stdout only).
type wrapOutput struct {
	Token        string    `json:"token"`
	Accessor     string    `json:"accessor"`
	UnwrapURL    string    `json:"unwrap_url"`
	CreationPath string    `json:"creation_path"`
	CreationTime time.Time `json:"creation_time"`
	ExpiresAt    time.Time `json:"expires_at"`
	TTLSeconds   int64     `json:"ttl_seconds"`
	Version      int       `json:"version,omitempty"`
}

func newWrapOutput(w *edge.WrappedSecret) wrapOutput {
	return wrapOutput{
		Token:        w.Token,
		Accessor:     w.Accessor,
		UnwrapURL:    w.UnwrapURL,
		CreationPath: w.CreationPath,
		CreationTime: w.CreationTime.UTC(),
		ExpiresAt:    w.ExpiresAt().UTC(),
		TTLSeconds:   int64(w.TTL / time.Second),
		Version:      w.Version,
	}
}

// unwrapOutput is what unwrap --with-version prints.
type unwrapOutput struct {
	Value       map[string]any `json:"value"`
	Version     int            `json:"version"`
	CreatedTime *time.Time     `json:"created_time"` // null if Vault's answer did not say
}

// verifyOutput is what verify prints: what Vault says of the token.
type verifyOutput struct {
	CreationPath string    `json:"creation_path"`
	CreationTime time.Time `json:"creation_time"`
	ExpiresAt    time.Time `json:"expires_at"`
	TTLSeconds   int64     `json:"ttl_seconds"`
}

// versionOutput is one version in history --json.
type versionOutput struct {
	Version      int        `json:"version"`
	CreatedTime  time.Time  `json:"created_time"`
	DeletionTime *time.Time `json:"deletion_time"` // null when none
	Destroyed    bool       `json:"destroyed"`
}

func newVersionOutput(v edge.SecretVersion) versionOutput {
	out := versionOutput{Version: v.Number, CreatedTime: v.CreatedTime.UTC(), Destroyed: v.Destroyed}
	if !v.DeletionTime.IsZero() {
		t := v.DeletionTime.UTC()
		out.DeletionTime = &t
	}
	return out
}

// whoamiOutput is what whoami prints: never the token.
type whoamiOutput struct {
	EntityID   string `json:"entity_id"`
	Org        string `json:"org"`
	TTLSeconds int64  `json:"ttl_seconds"` // 0: the token never expires
}
