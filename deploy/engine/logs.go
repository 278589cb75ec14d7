package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// LogOptions select the part of a container's log Logs writes.
type LogOptions struct {
	Tail       int       // only the last Tail lines; 0 means all
	Follow     bool      // keep writing new lines until ctx ends or the container stops
	Since      time.Time // only lines logged from then on; zero means from the start
	Timestamps bool      // prefix each line with the engine's RFC 3339 timestamp
}

// Logs writes a container's output to stdout and stderr, each to its own
// writer (nil discards it). A follow that ctx ends returns nil. Logs reads
// containers created without a TTY, as Create makes them. A follow of a
// quiet container lasts while the engine answers (see Options.IdleTimeout).
func (e *Engine) Logs(ctx context.Context, name string, opts LogOptions, stdout, stderr io.Writer) error {
	w := e.watch(ctx)
	defer w.stop()
	rc, err := e.api.ContainerLogs(w.ctx, name, opts.request())
	if err != nil {
		return fmt.Errorf("logs of container %s on %s: %w", name, e.host, w.explain(err))
	}
	defer rc.Close()
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if _, err := stdcopy.StdCopy(stdout, stderr, w.reader(rc)); err != nil {
		if opts.Follow && ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("logs of container %s on %s: %w", name, e.host, w.explain(err))
	}
	return nil
}

// Tail returns the last n lines of a container's output, stdout and stderr
// interleaved as the engine gives them.
func (e *Engine) Tail(ctx context.Context, name string, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := e.Logs(ctx, name, LogOptions{Tail: n}, &buf, &buf); err != nil {
		return nil, err
	}
	return lines(buf.String()), nil
}

func (o LogOptions) request() client.ContainerLogsOptions {
	r := client.ContainerLogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Follow:     o.Follow,
		Timestamps: o.Timestamps,
		Tail:       "all",
	}
	if o.Tail > 0 {
		r.Tail = strconv.Itoa(o.Tail)
	}
	if !o.Since.IsZero() {
		r.Since = o.Since.UTC().Format(time.RFC3339Nano)
	}
	return r
}

// lines splits output into lines without their newlines.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
