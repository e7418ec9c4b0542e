package vaulttest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestProgress(t *testing.T) {
	var out bytes.Buffer
	p := &progress{begin: time.Now(), w: &out}
	_, _ = p.Write([]byte("github.com/a/b\ngithub.com/a/c\n# github.com/a/d\nerror text here\ngithub.com/a/"))
	p.stop("not shown: never announced")
	assert.Empty(t, out.String(), "nothing until announced")
	assert.Equal(t, 2, p.compiled, "package lines only")

	p.start("building")
	_, _ = p.Write([]byte("e\n"))
	p.mu.Lock()
	p.total = 10
	p.show(false)
	p.mu.Unlock()
	p.stop("built")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Equal(t, "vaulttest: building...", lines[0])
	assert.Contains(t, lines[1], "vaulttest: 3 of at most 10 packages compiled, ")
	assert.Equal(t, "vaulttest: built", lines[len(lines)-1])

	out.Reset()
	tty := &progress{begin: time.Now(), w: &out, tty: true}
	tty.start("building")
	_, _ = tty.Write([]byte("x\n"))
	tty.stop("built")
	assert.Contains(t, out.String(), "\rvaulttest: 1 package(s) compiled")
	assert.True(t, strings.HasSuffix(out.String(), "\x1b[K\nvaulttest: built\n"), "%q", out.String())
}
