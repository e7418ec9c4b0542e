package edge_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
)

// leakCanary is in every value of leakCanarySecret: no printed form may hold it.
const leakCanary = "LEAKCANARY"

var leakCanarySecret = edge.Secret{
	"password": leakCanary + "-password",
	"user":     leakCanary + "-user",
	"nested":   map[string]any{"deep": []any{leakCanary + "-deep", json.Number("12345")}},
	"raw":      json.RawMessage(`"` + leakCanary + `-raw"`),
}

// holder has a Secret in an exported field, as fmt reaches it.
type holder struct {
	Name   string
	Value  edge.Secret
	Ptr    *edge.Secret
	Nested struct{ Inner edge.Secret }
}

func TestSecretNeverPrintsValues(t *testing.T) {
	t.Parallel()
	s := leakCanarySecret
	h := holder{Name: "h", Value: s, Ptr: &s}
	h.Nested.Inner = s
	args := map[string]any{
		"secret":            s,
		"pointer":           &s,
		"slice":             []edge.Secret{s, s},
		"array":             [1]edge.Secret{s},
		"map value":         map[string]edge.Secret{"k": s},
		"in []any":          []any{1, s},
		"in map[string]any": map[string]any{"s": s},
		"exported field":    h,
		"pointer to struct": &h,
		"nested struct":     struct{ H holder }{h},
	}
	// Not %p: fmt prints a struct or an array given a verb that does not
	// apply to it without calling any method (see Secret.Format).
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v", "%T", "%t", "%z"}
	for name, arg := range args {
		for _, verb := range verbs {
			t.Run(name+" "+verb, func(t *testing.T) {
				out := fmt.Sprintf(verb, arg)
				assert.NotContains(t, out, leakCanary)
				assert.NotContains(t, out, "12345")
			})
		}
	}
	for _, f := range []func(...any) string{fmt.Sprint, fmt.Sprintln} {
		assert.NotContains(t, f(s, &s, h), leakCanary)
	}
	assert.NotContains(t, s.GoString(), leakCanary)
}

func TestSecretFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value edge.Secret
		want  string
	}{
		{"keys sorted", edge.Secret{"user": "u", "password": "p"}, "edge.Secret{password:<redacted>, user:<redacted>}"},
		{"empty", edge.Secret{}, "edge.Secret{}"},
		{"nil", nil, "edge.Secret(nil)"},
		{"nested values", edge.Secret{"a": edge.Secret{"b": 1}, "c": []any{1}}, "edge.Secret{a:<redacted>, c:<redacted>}"},
		{"dotted key", edge.Secret{"db.host": "h"}, "edge.Secret{db.host:<redacted>}"},
		{"keys quoted when not plain", edge.Secret{"a b": 1, "": 2, "x\ny:1": 3, "é": 4, `"}`: 5}, `edge.Secret{"":<redacted>, "\"}":<redacted>, "a b":<redacted>, "x\ny:1":<redacted>, "\u00e9":<redacted>}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
				assert.Equal(t, tt.want, fmt.Sprintf(verb, tt.value), verb)
			}
			assert.Equal(t, tt.want, fmt.Sprint(tt.value))
			assert.Equal(t, tt.want, tt.value.GoString())
			assert.Equal(t, tt.want, tt.value.LogValue().String())
			assert.Equal(t, tt.want, fmt.Sprintf("%v", &tt.value), "a pointer prints the same")
		})
	}
	assert.Equal(t, "[edge.Secret{a:<redacted>}]", fmt.Sprint([]edge.Secret{{"a": 1}}))
	assert.Equal(t, "map[k:edge.Secret{a:<redacted>}]", fmt.Sprint(map[string]edge.Secret{"k": {"a": 1}}))
	assert.Equal(t, "{h edge.Secret{a:<redacted>}}", fmt.Sprint(struct {
		N string
		S edge.Secret
	}{"h", edge.Secret{"a": 1}}))
}

func TestSecretInSlog(t *testing.T) {
	t.Parallel()
	s := leakCanarySecret
	for _, handler := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	} {
		t.Run(handler.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(handler.new(&buf))
			log.Info("value", "secret", s, "pointer", &s)
			log.Info("attr", slog.Any("secret", s), slog.Group("g", slog.Any("secret", s)))
			log.With("secret", s).Info("with")
			log.Info("fmt", "text", fmt.Sprint(s))
			out := buf.String()
			assert.NotContains(t, out, leakCanary)
			assert.Contains(t, out, "nested:<redacted>, password:<redacted>, raw:<redacted>, user:<redacted>")
		})
	}
	t.Run("text handler, struct field", func(t *testing.T) {
		// TextHandler prints other values with fmt, which calls
		// Format on an exported field.
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("struct", "holder", holder{Value: s})
		assert.NotContains(t, buf.String(), leakCanary)
	})
}

// TestSecretJSONUnchanged: writes encode a Secret with encoding/json, so
// its JSON encoding is its values, as for the plain map.
func TestSecretJSONUnchanged(t *testing.T) {
	t.Parallel()
	got, err := json.Marshal(leakCanarySecret)
	require.NoError(t, err)
	want, err := json.Marshal(map[string]any(leakCanarySecret))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	assert.Contains(t, string(got), leakCanary)
}

func TestSecretReveal(t *testing.T) {
	t.Parallel()
	s := edge.Secret{"password": "hunter2"}
	assert.Equal(t, "map[password:hunter2]", fmt.Sprint(s.Reveal()))
	s.Reveal()["user"] = "u"
	assert.Equal(t, "u", s["user"], "Reveal is the secret itself, not a copy")
	assert.Nil(t, edge.Secret(nil).Reveal())
}

func ExampleSecret_Reveal() {
	s := edge.Secret{"user": "svc", "password": "hunter2"}
	fmt.Println(s)
	fmt.Printf("%#v\n", s)
	fmt.Println(s.Reveal())
	fmt.Println(s["password"])
	// Output:
	// edge.Secret{password:<redacted>, user:<redacted>}
	// edge.Secret{password:<redacted>, user:<redacted>}
	// map[password:hunter2 user:svc]
	// hunter2
}
