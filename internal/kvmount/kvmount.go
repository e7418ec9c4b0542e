// Package kvmount holds the one rule for the secrets engine Edge keeps its
// secrets in, a KV version 2 engine, for the edge and admin packages and
// the dev Vault.
package kvmount

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/vaulterr"
)

// ErrNotMounted means no secrets engine is mounted exactly at the path.
var ErrNotMounted = errors.New("no secrets engine is mounted there")

// Problem explains why the secrets engine of type typ with options is not
// a KV version 2 engine at mount, or returns nil if it is one. typ and
// options are as Vault lists them (sys/mounts).
func Problem(mount, typ string, options map[string]string) error {
	version := options["version"]
	switch {
	case typ == "kv" && version == "2":
		return nil
	case typ == "kv" || typ == "generic":
		if version == "" {
			version = "1"
		}
		return fmt.Errorf("the secrets engine at %q is KV version %s, not KV version 2: upgrade it with \"vault kv enable-versioning %s\" or use another mount", mount, version, mount)
	}
	return fmt.Errorf("the secrets engine at %q is %q, not KV version 2: use another mount", mount, typ)
}

// Check asks Vault what is mounted exactly at mount, through
// sys/internal/ui/mounts (in Vault's default policy, so any token may),
// and returns nil for a KV version 2 engine, an error wrapping
// ErrNotMounted when nothing is mounted exactly there, and Problem's
// error for another engine. Vault answers 403 both for a missing mount and
// for a token with no access below it: Check then returns nil, leaving it
// to the requests that follow to report. Other failures are vault/api's.
func Check(ctx context.Context, c *api.Client, mount string) error {
	s, err := c.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+mount)
	switch {
	case vaulterr.Status(err) == 403:
		return nil
	case err != nil:
		return err
	case s == nil || s.Data == nil:
		return fmt.Errorf("%q: %w", mount, ErrNotMounted)
	}
	typ, _ := s.Data["type"].(string)
	path, _ := s.Data["path"].(string)
	if path != mount+"/" {
		return fmt.Errorf("%q: %w (%q is the mount there)", mount, ErrNotMounted, path)
	}
	options := map[string]string{}
	if o, ok := s.Data["options"].(map[string]any); ok {
		for k, v := range o {
			if str, ok := v.(string); ok {
				options[k] = str
			}
		}
	}
	return Problem(mount, typ, options)
}
