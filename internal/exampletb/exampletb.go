// Package exampletb stands in for a test's testing.TB in Example
// functions, which have none, so that they can call helpers such as
// edgetest's that take one.
package exampletb

import (
	"fmt"
	"sync"
	"testing"
)

// TB is a testing.TB for an Example: Fatal and Fatalf panic (which fails
// the example with the message), Cleanup registers functions that Done
// runs, last registered first. Other testing.TB methods are not
// implemented and panic. It is safe for concurrent use.
type TB struct {
	testing.TB // nil: the methods below are all an example needs

	mu       sync.Mutex
	cleanups []func()
}

// New returns a TB; call Done (deferred) at the end of the example.
func New() *TB { return &TB{} }

// Helper does nothing.
func (*TB) Helper() {}

// Fatalf panics with the formatted message.
func (*TB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// Fatal panics with the message.
func (*TB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

// Cleanup registers f for Done.
func (e *TB) Cleanup(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cleanups = append(e.cleanups, f)
}

// Done runs the functions Cleanup registered, last first.
func (e *TB) Done() {
	e.mu.Lock()
	fs := e.cleanups
	e.cleanups = nil
	e.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
