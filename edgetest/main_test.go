package edgetest_test

import (
	"testing"

	"github.com/edgesdk/edge/edgetest"
)

// TestMain stops the shared Vault when the tests (and examples) are done.
func TestMain(m *testing.M) { edgetest.Main(m) }
