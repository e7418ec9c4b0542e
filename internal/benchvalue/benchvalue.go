// Package benchvalue makes the secret values the benchmarks and tests of
// package edge and internal/kvjson measure with, so that both use the
// same values at the same sizes.
package benchvalue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// Of returns a secret value taking exactly size bytes of JSON (size at
// least 100): a user name, a port and random strings of up to 5,000
// letters and digits, the shape of a credential or a certificate bundle.
// It is stored field by field (no exact-JSON envelope), and the same size
// always gives the same value. It panics if size is below 100.
func Of(size int) map[string]any {
	v := map[string]any{"user": "svc-benchmark", "port": 5432}
	rnd := rand.New(rand.NewPCG(uint64(size), 11))
	n := len(`{"port":5432,"user":"svc-benchmark"}`)
	// A field adds ,"f0000":"<s>": 11 bytes and the string.
	for i := 0; size-n-11 >= 0; i++ {
		s := randomString(rnd, min(size-n-11, 5_000))
		v[fmt.Sprintf("f%04d", i)] = s
		n += 11 + len(s)
	}
	if b, err := json.Marshal(v); err != nil || len(b) != size {
		panic(fmt.Sprintf("benchvalue.Of(%d) takes %d bytes", size, len(b)))
	}
	return v
}

func randomString(rnd *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rnd.IntN(len(letters))]
	}
	return string(b)
}

// Envelope returns a value like Of's with a number float64 cannot hold,
// so that it is stored in the exact-JSON envelope, which takes at most
// size bytes (size at least 1,000). store is the codec's encoding of a
// value for a write, which fails for a value over the size limit.
func Envelope(size int, store func(map[string]any) ([]byte, error)) map[string]any {
	target := size
	for {
		v := Of(target)
		delete(v, "port")
		v["id"] = json.Number("9223372036854775807")
		stored, err := store(v)
		if err != nil { // over the size limit
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

// ReadBody returns the body of Vault's answer to a KV v2 read of a
// secret stored as stored.
func ReadBody(stored []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"request_id":"0d4ad3c4-5d4e-95a4-5d0a-4d0d14a2f1c8","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":`)
	b.Write(stored)
	b.WriteString(`,"metadata":{"created_time":"2025-01-02T03:04:05.123456789Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}},"wrap_info":null,"warnings":null,"auth":null,"mount_type":"kv"}`)
	b.WriteByte('\n')
	return b.Bytes()
}
