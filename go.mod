module github.com/edgesdk/edge

go 1.24.0

require github.com/hashicorp/vault/api v1.23.0
