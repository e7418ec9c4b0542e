package edge_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
)

// TestWrappingTokenWithControlByte (issue 19, defect 7, the SDK's side):
// a wrapping token holding a control byte or a byte outside printable
// ASCII is ErrInvalidToken before any request, in every receiving
// function, and the error does not quote it. It was vault/api's "token
// contains non-printable characters" with no kind (the CLI exited 1).
func TestWrappingTokenWithControlByte(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	f := newFakeVault(t, false, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.NotFound(w, r)
	})
	c := f.client(t)
	ctx := context.Background()
	receivers := map[string]func(string) error{
		"Unwrap":        func(tok string) error { _, err := edge.Unwrap(ctx, c, tok); return err },
		"UnwrapSecret":  func(tok string) error { _, err := edge.UnwrapSecret(ctx, c, tok); return err },
		"LookupWrapped": func(tok string) error { _, err := edge.LookupWrapped(ctx, c, tok); return err },
		"VerifyWrapped": func(tok string) error {
			_, err := edge.VerifyWrapped(ctx, c, tok, edge.OrgSecretOrigin("acme", "db"))
			return err
		},
	}
	for name, receive := range receivers {
		for _, b := range []byte{0x00, 0x01, 0x1b, 0x7f, 0x80, ' '} {
			tok := "hvs.CAESIJ" + string([]byte{b}) + "secretpart"
			err := receive(tok)
			require.ErrorIs(t, err, edge.ErrInvalidToken, "%s, byte %#x", name, b)
			assert.NotContains(t, err.Error(), "secretpart", name)
		}
	}
	assert.Zero(t, requests.Load(), "no request was sent")
}
