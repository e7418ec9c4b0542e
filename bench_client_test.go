package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgesdk/edge/internal/kvjson"
)

// BenchValue returns a secret value taking exactly size bytes of JSON
// (size at least 100): a user name, a port and random strings of up to
// 5,000 letters and digits, the shape of a credential or a certificate
// bundle. It is stored field by field (no exact-JSON envelope), and the
// same size always gives the same value. The benchmarks of package
// edge_test use it too.
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

// BenchmarkClientSide measures the SDK's own work on a value, without
// Vault: what a write does before its request (encode: encoding,
// checks, the envelope decision and the request body), the envelope
// check alone (inspect), and what a read does with Vault's answer
// (decode), for values stored field by field and in the exact-JSON
// envelope; and, as the baseline, what a plain client does with
// encoding/json (json-marshal of the request body, json-decode of the
// answer into map[string]any). MB/s that stays the same from 1 KB to
// 1 MB means time linear in the value's size.
func BenchmarkClientSide(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1KB", 1_000}, {"100KB", 100_000}, {"1MB", MaxValueSize}} {
		plain := BenchValue(size.bytes)
		envelope := benchEnvelopeValue(size.bytes)
		plainStored, err := kvValue(plain)
		if err != nil {
			b.Fatal(err)
		}
		envelopeStored, err := kvValue(envelope)
		if err != nil {
			b.Fatal(err)
		}
		if bytes.HasPrefix(plainStored, []byte(`{"`+kvjson.ExactKey)) || !bytes.HasPrefix(envelopeStored, []byte(`{"`+kvjson.ExactKey)) {
			b.Fatal("values not stored as intended")
		}
		plainBody, envelopeBody := kvReadBody(plainStored), kvReadBody(envelopeStored)
		for _, bc := range []struct {
			op    string
			bytes int
			f     func() error
		}{
			{"encode", len(plainStored), func() error {
				stored, err := kvValue(plain)
				_ = kvWriteBody(0, stored)
				return err
			}},
			{"encode-envelope", len(envelopeStored), func() error {
				stored, err := kvValue(envelope)
				_ = kvWriteBody(0, stored)
				return err
			}},
			{"inspect", len(plainStored), func() error {
				return kvjson.Check(plainStored) // UTF-8 and inspect
			}},
			{"decode", len(plainStored), func() error {
				_, err := decodeKVResponse(bytes.NewReader(plainBody))
				return err
			}},
			{"decode-envelope", len(envelopeStored), func() error {
				_, err := decodeKVResponse(bytes.NewReader(envelopeBody))
				return err
			}},
			{"json-marshal", len(plainStored), func() error {
				_, err := json.Marshal(map[string]any{"options": map[string]any{"cas": 0}, "data": map[string]any(plain)})
				return err
			}},
			{"json-decode", len(plainStored), func() error {
				var body struct {
					Data struct {
						Data map[string]any `json:"data"`
					} `json:"data"`
				}
				return json.NewDecoder(bytes.NewReader(plainBody)).Decode(&body)
			}},
		} {
			b.Run("op="+bc.op+"/size="+size.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(bc.bytes))
				for b.Loop() {
					if err := bc.f(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
