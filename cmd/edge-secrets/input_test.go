package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
)

// TestParseValue keeps values exactly as written and refuses what is not
// one JSON object, with messages that quote none of the input.
func TestParseValue(t *testing.T) {
	s, err := parseValue([]byte(" {\"n\": 9223372036854775807, \"f\": 1.0, \"x\": {\"y\": [1e21]}}\n"), "standard input")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"n": json.Number("9223372036854775807"), "f": json.Number("1.0"), "x": map[string]any{"y": []any{json.Number("1e21")}}}, s)

	s, err = parseValue([]byte(`{}`), "standard input")
	require.NoError(t, err)
	assert.Empty(t, s)

	const secretText = "SECRETTEXT"
	refused := map[string]string{
		"":                                   "is empty",
		"\n \t":                              "is empty",
		`{"a":` + secretText:                 "not valid JSON",
		`{"a":"` + secretText:                "not valid JSON (it ends early, at byte 16)",
		`[` + secretText + `]`:               "not valid JSON",
		`["` + secretText + `"]`:             "JSON array, not a JSON object",
		`"` + secretText + `"`:               "JSON string",
		`12`:                                 "JSON number",
		`-1`:                                 "JSON number",
		`false`:                              "JSON boolean",
		`null`:                               "JSON null",
		`{"a":1,"a":"` + secretText + `"}`:   "cannot be stored as written",
		`{"a":"` + secretText + `\udc00"}`:   "cannot be stored as written",
		"{\"a\":\"" + secretText + "\xc3\"}": "not valid UTF-8 (byte 16)",
	}
	for in, want := range refused {
		_, err := parseValue([]byte(in), "standard input")
		require.Error(t, err, "%q", in)
		assert.Contains(t, err.Error(), want, "%q", in)
		assert.NotContains(t, err.Error(), secretText)
		assert.Equal(t, ExitBadEntry, exitCode(err), "%q", in)
	}
}

// TestParseToken takes the token alone or wrap's JSON output.
func TestParseToken(t *testing.T) {
	const token = "hvs.CAESIToken"
	for _, in := range []string{token, " " + token + "\n", `{"token":"` + token + `","accessor":"a"}`, "{\n \"token\": \" " + token + "\"\n}\n"} {
		got, err := parseToken([]byte(in), "standard input")
		require.NoError(t, err, "%q", in)
		assert.Equal(t, token, got)
	}
	for in, want := range map[string]string{
		"":                             "is empty",
		"\n":                           "is empty",
		token + " " + token:            "more than one word",
		token + "\n" + token:           "more than one word",
		`{"accessor":"a"}`:             `not wrap's output with a "token" string`,
		`{"token":` + token:            "not wrap's output",
		`{"token":"a b"}`:              "more than one word",
		"\xff" + token:                 "byte 0 is not printable ASCII",
		token[:4] + "\x01" + token[4:]: "byte 4 is not printable ASCII",
		token + "\x00":                 "byte 14 is not printable ASCII",
		token + "\x7f":                 "byte 14 is not printable ASCII",
		token + "é":                    "byte 14 is not printable ASCII",
	} {
		_, err := parseToken([]byte(in), "standard input")
		require.Error(t, err, "%q", in)
		assert.Contains(t, err.Error(), want, "%q", in)
		assert.NotContains(t, err.Error(), token)
		assert.Equal(t, ExitInvalidToken, exitCode(err), "%q", in)
	}
}

// TestParseInterspersed takes flags before and after the name, and
// everything after "--" as arguments.
func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args []string
		org  bool
		want []string
	}{
		{[]string{"db"}, false, []string{"db"}},
		{[]string{"--org", "db"}, true, []string{"db"}},
		{[]string{"db", "--org"}, true, []string{"db"}},
		{[]string{"db", "-o", "x"}, true, []string{"db", "x"}},
		{[]string{"--", "-db"}, false, []string{"-db"}},
		{[]string{"-o", "--", "-db", "--org"}, true, []string{"-db", "--org"}},
		{[]string{"db", "--", "--org"}, false, []string{"db", "--org"}},
	}
	for _, tt := range tests {
		c := &call{}
		fs := lookup("read").flagSet(c)
		got, err := parseInterspersed(fs, tt.args)
		require.NoError(t, err, "%q", tt.args)
		assert.Equal(t, tt.want, got, "%q", tt.args)
		assert.Equal(t, tt.org, c.org, "%q", tt.args)
	}
	_, err := parseInterspersed(lookup("read").flagSet(&call{}), []string{"db", "--bogus"})
	assert.Equal(t, ExitUsage, exitCode(err))
	assert.NotContains(t, err.Error(), "bogus", "an unknown flag is not quoted")
}
