//go:build race

package main

// With -race the binary is built with the race detector too; a race it
// finds makes it exit 66, which no test expects. By default the race
// runtime sleeps a second before exiting: not here.
func init() {
	buildFlags = append(buildFlags, "-race")
	childEnv = append(childEnv, "GORACE=atexit_sleep_ms=0 halt_on_error=1")
}
