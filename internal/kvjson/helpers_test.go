package kvjson

import (
	"strconv"

	"github.com/edgesdk/edge/internal/benchvalue"
	namerules "github.com/edgesdk/edge/internal/names"
)

// Secret is what package edge's Secret is, for the tests moved here from
// it: a JSON object.
type Secret = map[string]any

// object is a named object type, as edge.Secret is: the type argument M
// of the encoder, which writes a nested object of this type itself.
type object map[string]any

// MaxNameLength is names.MaxNameLength, for the list tests.
const MaxNameLength = namerules.MaxNameLength

// BenchValue returns benchvalue.Of(size): a secret value taking exactly
// size bytes of JSON, stored field by field (see internal/benchvalue).
func BenchValue(size int) Secret { return benchvalue.Of(size) }

// benchEnvelopeValue returns benchvalue.Envelope(size) for this
// package's codec: a value stored in the exact-JSON envelope, at most size
// bytes.
func benchEnvelopeValue(size int) Secret {
	return Secret(benchvalue.Envelope(size, kvValue[map[string]any]))
}

// kvReadBody is benchvalue.ReadBody: Vault's answer to a KV v2 read of a
// secret stored as stored.
func kvReadBody(stored []byte) []byte { return benchvalue.ReadBody(stored) }

// kvWriteBody is package edge's: the body of a KV v2 write.
func kvWriteBody(cas uint64, data []byte) []byte {
	b := make([]byte, 0, len(data)+48)
	b = append(b, `{"options":{"cas":`...)
	b = strconv.AppendUint(b, cas, 10)
	b = append(b, `},"data":`...)
	b = append(b, data...)
	return append(b, '}')
}
