package lab

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStepLines(t *testing.T) {
	t.Run("a step prints a line as it starts and one with its duration as it ends", func(t *testing.T) {
		var out bytes.Buffer
		opts := Options{Log: &out}
		st := opts.begin("build the test app")
		st.end("built", nil)
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		require.Len(t, lines, 2)
		assert.Equal(t, "lab: build the test app ...", lines[0])
		assert.Regexp(t, `^lab: build the test app: built in [0-9.]+(ns|µs|ms|s)$`, lines[1])
	})
	t.Run("a failed step says so, and leaves the error to its caller", func(t *testing.T) {
		var out bytes.Buffer
		opts := Options{Log: &out}
		opts.begin("apt-get update -qq").end("done", errors.New("exit status 100"))
		assert.Regexp(t, `(?m)^lab: apt-get update -qq: FAILED after [0-9.]+(ns|µs|ms|s)$`, out.String())
		assert.NotContains(t, out.String(), "exit status")
	})
	t.Run("no Log prints nothing", func(t *testing.T) {
		Options{}.begin("build the test app").end("built", nil)
	})
	t.Run("steps running at once print whole lines", func(t *testing.T) {
		var out bytes.Buffer
		opts := Options{Log: &out}
		done := make(chan struct{})
		for range 8 {
			go func() {
				defer func() { done <- struct{}{} }()
				opts.begin("h1 10.250.1.2: start").end("up", nil)
			}()
		}
		for range 8 {
			<-done
		}
		for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			assert.Regexp(t, `^lab: h1 10.250.1.2: start( \.\.\.|: up in \S+)$`, l)
		}
	})
}

func TestUpSummary(t *testing.T) {
	assert.Equal(t, "images built in 1.5s beside the hosts", upSummary(false, 0, 1500*time.Millisecond))
	assert.Equal(t, "packages installed in 1m2s, images built in 58s beside the hosts",
		upSummary(true, 62*time.Second, 58*time.Second))
}
