package names

import (
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fuzz targets below run their seeds (f.Add and testdata/fuzz) with
// every go test; fuzz one with
//
//	go test -run '^$' -fuzz '^FuzzName$' -fuzztime 60s ./internal/names

// FuzzName: every name either is refused, with an error that quotes at
// most a short prefix of it, or is exactly one literal path segment below
// its scope.
func FuzzName(f *testing.F) {
	for _, s := range []string{"my-secret", "A_b-9", "", ".", "..", "a/b", "%2e%2e", "a\x00", "ab\ncd", "é", "'", `"`, strings.Repeat("x", MaxNameLength+1), "hvs.CAESIJ0123456789"} {
		f.Add(s)
	}
	// A user's scope, as package edge makes it: mount "secret", base
	// "edge/users/0b1c-ent".
	const data, meta = "secret/data/edge/users/0b1c-ent", "secret/metadata/edge/users/0b1c-ent"
	f.Fuzz(func(t *testing.T, name string) {
		err := Check(name)
		require.Equal(t, err == nil, Valid(name))
		if err != nil {
			checkMessage(t, err.Error(), name, nameMessages)
			return
		}
		for _, scope := range []string{data, meta} {
			p := scope + "/" + name
			require.Equal(t, p, path.Clean(p), "cleaning changes nothing")
			require.Equal(t, p, (&url.URL{Path: p}).EscapedPath(), "escaping changes nothing")
			require.Equal(t, name, url.PathEscape(name))
			require.Equal(t, scope, path.Dir(p), "one segment below the scope")
			require.Equal(t, name, path.Base(p))
			require.Equal(t, strings.Count(scope, "/")+1, strings.Count(p, "/"))
		}
	})
}

// FuzzPath: every mount or prefix either is refused, with an error that
// quotes at most a short prefix of it, or is a clean, relative path of
// valid names, at most MaxPathLength bytes, that escaping leaves as is.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"secret", "kv/team-a", "", "/", "/secret", "secret/", "a//b", "a/../b", "a/./b", "a b", "a%2fb", strings.Repeat("a/", 128) + "a", "hvs.CAESIJ/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := CheckPath(p)
		if err != nil {
			checkMessage(t, err.Error(), p, pathMessages)
			return
		}
		require.LessOrEqual(t, len(p), MaxPathLength)
		require.False(t, path.IsAbs(p))
		require.Equal(t, p, path.Clean(p))
		require.Equal(t, p, (&url.URL{Path: p}).EscapedPath())
		for _, seg := range strings.Split(p, "/") {
			require.True(t, Valid(seg), "segment %q", seg)
		}
		// As both mount and prefix, the scope is the path it says.
		// (An org's scope, as package edge makes it.)
		data := p + "/data/" + p + "/orgs/acme"
		require.Equal(t, data, path.Clean(data))
		require.Equal(t, strings.Count(p, "/")*2+4, strings.Count(data, "/"))
	})
}

// The error messages of checkName and checkPath, with the parts that
// vary captured: an optional quoted prefix, the length, the bad byte and
// its offset.
var (
	describedByte = `('(?:\\x[0-9a-f]{2}|\\.|[ -~])'|0x[0-9a-f]{2} \(not ASCII\))`
	excerpted     = `(?:("[ -~]*")\.\.\. )?\((\d+) bytes\)`
	nameMessages  = []*regexp.Regexp{
		regexp.MustCompile(`^name is empty$`),
		regexp.MustCompile(`^name is (\d+) bytes long, more than 256$`),
		regexp.MustCompile(`^name ` + excerpted + ` has ` + describedByte + ` at byte (\d+): only ASCII letters, digits, '-' and '_' are allowed$`),
	}
	pathMessages = []*regexp.Regexp{
		regexp.MustCompile(`^path is empty$`),
		regexp.MustCompile(`^path is (\d+) bytes long, more than 256$`),
		regexp.MustCompile(`^path ` + excerpted + ` has ` + describedByte + ` at byte (\d+): only '/'-separated ASCII letters, digits, '-' and '_' are allowed$`),
		regexp.MustCompile(`^path ` + excerpted + ` has an empty segment: '/' at byte (\d+) starts, ends or doubles it$`),
	}
)

// checkMessage checks that msg, the error for the invalid s, is one of
// the messages, and that the prefix of s it quotes, if any, is short,
// printable and not all of s, and that the numbers it gives are right.
func checkMessage(t *testing.T, msg, s string, messages []*regexp.Regexp) {
	t.Helper()
	var m []string
	for _, re := range messages {
		if m = re.FindStringSubmatch(msg); m != nil {
			break
		}
	}
	require.NotNil(t, m, "unexpected message %q", msg)
	switch len(m) {
	case 1: // empty
		require.Empty(t, s)
	case 2: // too long
		require.Equal(t, strconv.Itoa(len(s)), m[1])
		require.Greater(t, len(s), 256)
	default: // an excerpt
		if m[1] != "" {
			prefix, err := strconv.Unquote(m[1])
			require.NoError(t, err)
			require.LessOrEqual(t, len(prefix), excerptLength)
			require.Less(t, len(prefix), len(s), "never all of it")
			require.True(t, strings.HasPrefix(s, prefix))
		}
		require.Equal(t, strconv.Itoa(len(s)), m[2])
		at, err := strconv.Atoi(m[len(m)-1])
		require.NoError(t, err)
		require.Less(t, at, len(s))
		if len(m) == 5 { // a bad byte
			require.Equal(t, describeByte(s[at]), m[3])
			require.False(t, NameByte(s[at]))
		} else {
			require.Equal(t, byte('/'), s[at])
		}
	}
}
