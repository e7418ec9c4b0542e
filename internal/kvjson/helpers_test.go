package kvjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"

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

// The helpers below are copies of package edge's (bench_client_test.go).

// BenchValue returns a secret value taking exactly size bytes of JSON
// (size at least 100): a user name, a port and random strings of up to
// 5,000 letters and digits, the shape of a credential or a certificate
// bundle. It is stored field by field (no exact-JSON envelope), and the
// same size always gives the same value. (A copy of package edge's
// BenchValue.)
func BenchValue(size int) Secret {
	v := Secret{"user": "svc-benchmark", "port": 5432}
	rnd := rand.New(rand.NewPCG(uint64(size), 11))
	n := len(`{"port":5432,"user":"svc-benchmark"}`)
	// A field adds ,"f0000":"<s>": 11 bytes and the string.
	for i := 0; size-n-11 >= 0; i++ {
		s := benchString(rnd, min(size-n-11, 5_000))
		v[fmt.Sprintf("f%04d", i)] = s
		n += 11 + len(s)
	}
	if b, err := json.Marshal(v); err != nil || len(b) != size {
		panic(fmt.Sprintf("BenchValue(%d) takes %d bytes", size, len(b)))
	}
	return v
}

func benchString(rnd *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rnd.IntN(len(letters))]
	}
	return string(b)
}

// benchEnvelopeValue returns a value like BenchValue's with a number
// float64 cannot hold, so that it is stored in the exact-JSON envelope,
// which takes at most size bytes (size at least 1,000).
func benchEnvelopeValue(size int) Secret {
	target := size
	for {
		v := BenchValue(target)
		delete(v, "port")
		v["id"] = json.Number("9223372036854775807")
		stored, err := kvValue(v)
		if err != nil { // over MaxValueSize
			target -= size / 50
			continue
		}
		if over := len(stored) - size; over > 0 {
			target -= over + 16
			continue
		}
		return v
	}
}

// kvReadBody returns the body of Vault's answer to a KV v2 read of a
// secret stored as stored.
func kvReadBody(stored []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"request_id":"0d4ad3c4-5d4e-95a4-5d0a-4d0d14a2f1c8","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":`)
	b.Write(stored)
	b.WriteString(`,"metadata":{"created_time":"2025-01-02T03:04:05.123456789Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}},"wrap_info":null,"warnings":null,"auth":null,"mount_type":"kv"}`)
	b.WriteByte('\n')
	return b.Bytes()
}

// kvWriteBody is package edge's: the body of a KV v2 write.
func kvWriteBody(cas uint64, data []byte) []byte {
	b := make([]byte, 0, len(data)+48)
	b = append(b, `{"options":{"cas":`...)
	b = strconv.AppendUint(b, cas, 10)
	b = append(b, `},"data":`...)
	b = append(b, data...)
	return append(b, '}')
}
