package edge

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/edgesdk/edge/internal/benchvalue"
	"github.com/edgesdk/edge/internal/kvjson"
)

// BenchValue returns benchvalue.Of(size): a secret value taking exactly
// size bytes of JSON, stored field by field (see internal/benchvalue).
func BenchValue(size int) Secret { return Secret(benchvalue.Of(size)) }

// benchEnvelopeValue returns benchvalue.Envelope(size) for this
// package's codec: a value stored in the exact-JSON envelope, at most size
// bytes.
func benchEnvelopeValue(size int) Secret {
	return Secret(benchvalue.Envelope(size, func(m map[string]any) ([]byte, error) { return kvValue(Secret(m)) }))
}

// kvReadBody is benchvalue.ReadBody: Vault's answer to a KV v2 read of a
// secret stored as stored.
func kvReadBody(stored []byte) []byte { return benchvalue.ReadBody(stored) }

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
