//go:debug httpmuxgo121=1

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/hashicorp/go-hclog"
	kv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/builtin/credential/approle"
	"github.com/hashicorp/vault/builtin/credential/userpass"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
	testing "github.com/mitchellh/go-testing-interface"
)

func main() {
	t := &testing.RuntimeT{}
	core, _, root := vault.TestCoreUnsealedWithConfig(t, &vault.CoreConfig{
		LogicalBackends:    map[string]logical.Factory{"kv": kv.Factory},
		CredentialBackends: map[string]logical.Factory{"userpass": userpass.Factory, "approle": approle.Factory},
		Logger:             hclog.New(&hclog.LoggerOptions{Level: hclog.Warn}),
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	fmt.Println(ln.Addr(), root)
	_ = context.Background()
	http.Serve(ln, vaulthttp.Handler.Handler(&vault.HandlerProperties{Core: core}))
}
