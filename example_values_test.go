package edge_test

import (
	"encoding/json"
	"fmt"

	"github.com/edgesdk/edge"
)

func ExampleValidName() {
	for _, name := range []string{"team-db", "API_KEY_2", "", "a/b", "..", "café", "has space"} {
		fmt.Printf("%q %v\n", name, edge.ValidName(name))
	}
	// Output:
	// "team-db" true
	// "API_KEY_2" true
	// "" false
	// "a/b" false
	// ".." false
	// "café" false
	// "has space" false
}

func ExampleValidPath() {
	for _, p := range []string{"secret", "kv/teams", "apps/Edge", "", "/secret", "kv//x", "kv/../x"} {
		fmt.Printf("%q %v\n", p, edge.ValidPath(p))
	}
	// Output:
	// "secret" true
	// "kv/teams" true
	// "apps/Edge" true
	// "" false
	// "/secret" false
	// "kv//x" false
	// "kv/../x" false
}

func ExampleCheckPath() {
	fmt.Println(edge.CheckPath("kv/teams"))
	fmt.Println(edge.CheckPath("kv/../x"))
	// Output:
	// <nil>
	// path "kv/"... (7 bytes) has '.' at byte 3: only '/'-separated ASCII letters, digits, '-' and '_' are allowed
}

// Decode fills a struct from a Secret, numbers exact.
func ExampleSecret_Decode() {
	s := edge.Secret{"host": "db.internal", "port": json.Number("5432"), "max_conns": json.Number("9223372036854775807")}

	var cfg struct {
		Host     string `json:"host"`
		Port     int    `json:"port"`
		MaxConns int64  `json:"max_conns"`
	}
	if err := s.Decode(&cfg); err != nil {
		fmt.Println(err)
	}
	fmt.Println(cfg.Host, cfg.Port, cfg.MaxConns)
	// Output:
	// db.internal 5432 9223372036854775807
}

// Every fmt verb prints a Secret's keys, never its values.
func ExampleSecret_Format() {
	s := edge.Secret{"user": "app", "password": "s3cret"}
	fmt.Printf("%v\n%+v\n%s\n", s, s, []edge.Secret{s})
	// Output:
	// edge.Secret{password:<redacted>, user:<redacted>}
	// edge.Secret{password:<redacted>, user:<redacted>}
	// [edge.Secret{password:<redacted>, user:<redacted>}]
}

func ExampleSecret_GoString() {
	s := edge.Secret{"user": "app", "password": "s3cret"}
	fmt.Printf("%#v\n", s)
	fmt.Println(s.GoString())
	// Output:
	// edge.Secret{password:<redacted>, user:<redacted>}
	// edge.Secret{password:<redacted>, user:<redacted>}
}

func ExampleSecret_LogValue() {
	s := edge.Secret{"user": "app", "password": "s3cret"}
	logger := stdoutLogger()
	logger.Info("loaded", "secret", s)
	// Output:
	// level=INFO msg=loaded secret="edge.Secret{password:<redacted>, user:<redacted>}"
}
