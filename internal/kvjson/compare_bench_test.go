package kvjson

import (
	"bytes"
	"testing"
)

// compareSizes are the value sizes of read and create in BENCHMARKS.md
// (bench_test.go's benchSizes), in bytes of JSON.
var compareSizes = []struct {
	name  string
	bytes int
}{{"100B", 100}, {"10KB", 10_000}, {"500KB", 500_000}}

// BenchmarkCompareDecode decodes Vault's answer to a KV v2 read of a
// BenchValue with each codec (compare_codecs_test.go). Run:
//
//	go test -run '^$' -bench 'Compare' -benchmem -count 5 ./internal/kvjson/
func BenchmarkCompareDecode(b *testing.B) {
	for _, size := range compareSizes {
		stored, err := Store(BenchValue(size.bytes))
		if err != nil {
			b.Fatal(err)
		}
		body := kvReadBody(stored)
		for _, c := range codecs {
			b.Run("size="+size.name+"/codec="+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				r := bytes.NewReader(body)
				for b.Loop() {
					r.Reset(body)
					if _, err := c.decode(r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkCompareStore encodes a BenchValue for a write, with every
// check and the envelope decision, with each codec.
func BenchmarkCompareStore(b *testing.B) {
	for _, size := range compareSizes {
		value := BenchValue(size.bytes)
		for _, c := range codecs[:3] { // json-experiment-strict's Store is json-experiment's
			b.Run("size="+size.name+"/codec="+c.name, func(b *testing.B) {
				b.SetBytes(int64(size.bytes))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.store(value); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
