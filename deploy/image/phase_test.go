package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTerminal is a buffer that says it is a terminal, as deploy's
// redacting output does when it writes to one.
type fakeTerminal struct{ bytes.Buffer }

func (*fakeTerminal) IsTerminal() bool { return true }

func TestPhase(t *testing.T) {
	t.Run("off a terminal it prints a start line and an end line with the duration", func(t *testing.T) {
		var out bytes.Buffer
		ph := startPhase(&out, "go build ./cmd/hello for linux/amd64")
		ph.end("compiled", nil)
		assert.Regexp(t, `^go build ./cmd/hello for linux/amd64\ngo build ./cmd/hello for linux/amd64: compiled in \d+\.\d\ds\n$`, out.String())
	})
	t.Run("a failed phase says so and leaves the error to its caller", func(t *testing.T) {
		var out bytes.Buffer
		startPhase(&out, "docker build Dockerfile").end("built", errors.New("step 3 failed"))
		assert.Regexp(t, `(?m)^docker build Dockerfile: FAILED after \d+\.\d\ds$`, out.String())
		assert.NotContains(t, out.String(), "step 3")
	})
	t.Run("the phase's own output goes between its lines", func(t *testing.T) {
		var out bytes.Buffer
		ph := startPhase(&out, "docker build Dockerfile")
		io.WriteString(ph.output(), "Step 1/2 : FROM scratch\n")
		ph.end("built", nil)
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		require.Len(t, lines, 3)
		assert.Equal(t, "Step 1/2 : FROM scratch", lines[1])
	})
	t.Run("on a terminal the spinner gives way to the end line", func(t *testing.T) {
		var out fakeTerminal
		ph := startPhase(&out, "go build . for linux/amd64")
		io.WriteString(ph.output(), "a builder line\n")
		ph.end("compiled", nil)
		assert.Contains(t, out.String(), "a builder line")
		assert.Regexp(t, `go build \. for linux/amd64: compiled in \d+\.\d\ds\n$`, out.String())
	})
	t.Run("nothing is printed to io.Discard, and end is safe twice", func(t *testing.T) {
		ph := startPhase(io.Discard, "go build .")
		ph.end("compiled", nil)
		ph.end("compiled", nil)
	})
}

// A Go build's lines, off a terminal: a start and an end line per phase,
// then a summary; no timings are asserted, only that they are printed.
func TestGoBuildPrintsItsPhases(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/hello\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))
	var out bytes.Buffer
	built, err := Go{Package: ".", Dir: dir, Binary: "/hello"}.Build(context.Background(), []string{"linux/amd64"}, &out)
	require.NoError(t, err)
	defer built.Close()
	assert.Regexp(t, `^go build \. for linux/amd64
go build \. for linux/amd64: compiled in \d+\.\d\ds
image for linux/amd64 \(scratch \+ binary /hello\)
image for linux/amd64 \(scratch \+ binary /hello\): assembled in \d+\.\d\ds
go build \.: 1 image in \d+\.\d\ds \(compiling \d+\.\d\ds, assembling \d+\.\d\ds\)
$`, out.String())
}

func TestGoBuildFailurePrintsFailed(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/broken\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { undefinedCall() }\n"), 0o644))
	var out bytes.Buffer
	_, err := Go{Package: ".", Dir: dir}.Build(context.Background(), []string{"linux/amd64"}, &out)
	require.ErrorContains(t, err, "undefinedCall")
	assert.Regexp(t, `(?m)^go build \. for linux/amd64: FAILED after \d+\.\d\ds$`, out.String())
	assert.NotContains(t, out.String(), "image for", "no image is assembled after a failed compile")
}
