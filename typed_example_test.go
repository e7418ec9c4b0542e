package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/edgesdk/edge"
)

// DBConfig is a service's database configuration, kept in a struct.
type DBConfig struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`
	MaxConns int64  `json:"max_conns"`
	TLS      bool   `json:"tls"`
}

// A struct goes in as an org secret and comes back out, every number
// exact.
func ExampleSecretOf() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	cfg := DBConfig{
		Host:     "db.internal",
		Port:     5432,
		User:     "billing",
		Password: "s3cr3t",
		MaxConns: 9223372036854775807,
		TLS:      true,
	}
	s, err := edge.SecretOf(cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s) // printing a Secret shows its keys only
	if err := sess.Secrets.CreateOrgSecret(ctx, "billing-db", s); err != nil {
		log.Fatal(err)
	}

	read, err := sess.Secrets.ReadOrgSecret(ctx, "billing-db")
	if err != nil {
		log.Fatal(err)
	}
	var got DBConfig
	if err := read.DecodeStrict(&got); err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Host, got.Port, got.User, got.MaxConns, got.TLS)
	fmt.Println(got == cfg)
	// Output:
	// edge.Secret{host:<redacted>, max_conns:<redacted>, password:<redacted>, port:<redacted>, tls:<redacted>, user:<redacted>}
	// db.internal 5432 billing 9223372036854775807 true
	// true
}

// DecodeStrict refuses a key that matches no field; Decode ignores it.
// Neither error quotes a value.
func ExampleSecret_DecodeStrict() {
	s := edge.Secret{"host": "db.internal", "port": "5432", "passwrd": "s3cr3t"}

	var cfg DBConfig
	err := s.DecodeStrict(&cfg)
	fmt.Println(errors.Is(err, edge.ErrBadEntry))
	fmt.Println(err)

	delete(s, "passwrd")
	err = s.Decode(&cfg)
	fmt.Println(err)
	// Output:
	// true
	// edge: decode: bad entry: key passwrd matches no field of edge_test.DBConfig or of a struct in it
	// edge: decode: bad entry: field port: a JSON string does not decode into Go type int
}
