package edge

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The codec's own tests are in internal/kvjson; these test what package
// edge adds: the mapping of its errors onto ErrUndecodable, the request
// body and the error format.

func TestDecodeKVResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		want       Secret
		undecoable bool // else an error of no kind
	}{
		{"value", `{"data":{"data":{"a":"b"},"metadata":{}}}` + "\n", Secret{"a": "b"}, false},
		{"envelope", string(kvReadBody([]byte(`{"_edge_json":"{\"n\":1e21}"}`))), Secret{"n": json.Number("1e21")}, false},
		{"no data", `{"data":null}`, nil, true},
		{"no data.data", `{"data":{"metadata":{}}}`, nil, true},
		{"null data.data", `{"data":{"data":null}}`, nil, true},
		{"data.data a string", `{"data":{"data":"x"}}`, nil, true},
		{"data.data an array", `{"data":{"data":[]}}`, nil, true},
		{"foreign envelope", `{"data":{"data":{"_edge_json":"hello"}}}`, nil, true},
		{"not JSON", `<html>`, nil, false},
		{"empty", ``, nil, false},
		{"data a string", `{"data":"x"}`, nil, false},
		{"trailing data", `{"data":{"data":{}}} {}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeKVResponse(strings.NewReader(tt.body))
			if tt.want != nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			assert.Nil(t, got)
			assert.Equal(t, tt.undecoable, errors.Is(err, ErrUndecodable), "%v", err)
		})
	}
}

func TestDecodeErrorsHideTheValue(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"data":{"data":{"_edge_json":"hunter2"}}}`,
		`{"data":{"data":"hunter2"}}`,
		`{"data":{"data":{"a":"hunter2"}} hunter2`,
		`hunter2`,
	} {
		_, err := decodeKVResponse(strings.NewReader(body))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "hunter2")
	}
}

func TestKVWriteBody(t *testing.T) {
	t.Parallel()
	for _, cas := range []uint64{0, 7, 1<<64 - 1} {
		data := `{"a":1,"n":12345678901234567890,"s":"<\u2028>"}`
		b := kvWriteBody(cas, []byte(data))
		var got struct {
			Options struct{ CAS uint64 } `json:"options"`
			Data    json.RawMessage      `json:"data"`
		}
		require.NoError(t, json.Unmarshal(b, &got))
		assert.Equal(t, cas, got.Options.CAS)
		assert.Equal(t, data, string(got.Data), "the data's bytes are sent as they are")
	}
}

func TestErrorFormatAndMatching(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	err := error(&Error{Op: "read", Scope: "user", Name: "db", Kind: ErrNotFound, Err: cause})
	assert.Equal(t, `edge: read user secret "db": secret not found: boom`, err.Error())
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, err, cause)
	assert.NotErrorIs(t, err, ErrAlreadyExists)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "db", e.Name)

	list := &Error{Op: "list", Scope: "org", Kind: ErrPermissionDenied}
	assert.Equal(t, "edge: list org secrets: permission denied", list.Error())
	assert.ErrorIs(t, list, ErrPermissionDenied)
}
