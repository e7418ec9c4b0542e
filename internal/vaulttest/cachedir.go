package vaulttest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The cache where the dev Vault is built: a binary that tests and the
// quickstart run with the root token, so no other local user may be able
// to put one there.
//
// The cache directory (<UserCacheDir>/edge-devvault) and each build's
// directory below it are private: made with mode 0700 if missing; if they
// exist they must be directories (not symbolic links) owned by the
// current user and not writable by group or others, and are then set to
// 0700. Their parent, the user cache directory, must be owned by the
// current user or root and, if others may write to it, have the sticky
// bit (as /tmp has), so that nobody else can rename the cache directory
// away. A cached binary runs only if it is a regular file owned by the
// current user and not writable by group or others. Anything else is
// refused with an error wrapping errUnsafeCache that says what to fix
// (nothing is repaired or replaced: what another user could write may
// already hold their binary). EDGE_DEVVAULT_BIN, a binary the user names,
// is not checked.

// errUnsafeCache is wrapped by the errors about a cache directory or a
// cached binary that another user owns or could have written.
var errUnsafeCache = errors.New("unsafe dev Vault cache")

// unsafeHint says what to do about a refused cache.
const unsafeHint = "another local user could plant the binary that runs with the root token; remove it, or set XDG_CACHE_HOME to a private directory, or " + EnvBin + " to a binary of your own"

// privateBuildDir checks cacheRoot and makes or checks cacheDir, below it,
// and binDir, below that (see above).
func privateBuildDir(cacheRoot, cacheDir, binDir string) error {
	if err := os.MkdirAll(cacheRoot, 0o700); err != nil {
		return fmt.Errorf("vaulttest: %w", err)
	}
	if err := checkCacheRoot(cacheRoot); err != nil {
		return err
	}
	for _, dir := range []string{cacheDir, binDir} {
		if err := privateDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// checkCacheRoot checks the user cache directory, the parent of the
// dev Vault's.
func checkCacheRoot(dir string) error {
	if !ownerChecks {
		return nil
	}
	fi, err := os.Stat(dir) // a symbolic link such as ~/.cache -> elsewhere is fine
	if err != nil {
		return fmt.Errorf("vaulttest: %w", err)
	}
	if uid, ok := ownerOf(fi); ok && uid != os.Getuid() && uid != 0 {
		return fmt.Errorf("vaulttest: %w: %s is owned by user id %d; %s", errUnsafeCache, dir, uid, unsafeHint)
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("vaulttest: %w: %s is writable by group or others (mode %v) without the sticky bit; %s", errUnsafeCache, dir, fi.Mode(), unsafeHint)
	}
	return nil
}

// privateDir makes dir with mode 0700, or checks the existing one and
// sets its mode to 0700.
func privateDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if err == nil || !ownerChecks {
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("vaulttest: %w", err)
	}
	if err := checkOwned(dir, true); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("vaulttest: %w", err)
	}
	return nil
}

// checkOwned returns an error wrapping errUnsafeCache unless path is,
// itself (not through a symbolic link), a directory (wantDir) or a
// regular file owned by the current user and not writable by group or
// others.
func checkOwned(path string, wantDir bool) error {
	if !ownerChecks {
		return nil
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("vaulttest: %w", err)
	}
	switch {
	case wantDir && !fi.IsDir(), !wantDir && !fi.Mode().IsRegular():
		what := "a directory"
		if !wantDir {
			what = "a regular file"
		}
		return fmt.Errorf("vaulttest: %w: %s is not %s (mode %v); %s", errUnsafeCache, path, what, fi.Mode(), unsafeHint)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("vaulttest: %w: %s is writable by group or others (mode %v); %s", errUnsafeCache, path, fi.Mode(), unsafeHint)
	}
	if uid, ok := ownerOf(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("vaulttest: %w: %s is owned by user id %d, not by you (%d); %s", errUnsafeCache, path, uid, os.Getuid(), unsafeHint)
	}
	return nil
}

// checkCachedBinary checks bin, if it exists, and its directory before
// bin is run or reused.
func checkCachedBinary(bin string) error {
	if _, err := os.Lstat(bin); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := checkOwned(filepath.Dir(bin), true); err != nil {
		return err
	}
	return checkOwned(bin, false)
}
