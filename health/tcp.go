package health

import (
	"context"
	"fmt"
	"time"
)

// TCP is a gate that passes when a TCP connection to the target opens. It
// proves a process listens, not that it is ready; prefer HTTP for web apps.
type TCP struct {
	// Port, when set, is connected to instead of the target's port (a
	// container target's app port, or a URL's).
	Port int

	Interval  time.Duration // between the starts of two tries; DefaultInterval when zero
	Timeout   time.Duration // for one try; DefaultTimeout when zero
	Successes int           // consecutive passing tries needed; DefaultSuccesses when zero
	Deadline  time.Duration // for the whole wait; DefaultDeadline when zero
}

var _ Gate = TCP{}

// Name returns "tcp".
func (g TCP) Name() string { return "tcp" }

// String returns "tcp connect", or "tcp connect :5432" with a Port.
func (g TCP) String() string {
	if g.Port != 0 {
		return fmt.Sprintf("tcp connect :%d", g.Port)
	}
	return "tcp connect"
}

// Policy returns the gate's timing with defaults applied.
func (g TCP) Policy() Policy {
	return Policy{Interval: g.Interval, Timeout: g.Timeout, Successes: g.Successes, Deadline: g.Deadline}.WithDefaults()
}

// WithDefaults returns g with every zero field set to its default, as Wait uses it.
func (g TCP) WithDefaults() TCP {
	p := g.Policy()
	g.Interval, g.Timeout, g.Successes, g.Deadline = p.Interval, p.Timeout, p.Successes, p.Deadline
	return g
}

// Validate returns every problem with the gate, joined, each naming its
// field under "health.tcp".
func (g TCP) Validate() error { return validate(g) }

// ValidateAt returns every problem with the gate, each a *FieldError under path.
func (g TCP) ValidateAt(path string) []error {
	var errs []error
	if g.Port < 0 || g.Port > 65535 {
		errs = append(errs, fieldErrorf(path, "port", "must be a port number (1-65535), got %d", g.Port))
	}
	return append(errs, Policy{Interval: g.Interval, Timeout: g.Timeout, Successes: g.Successes, Deadline: g.Deadline}.validateAt(path)...)
}

// Try opens one connection to the target and closes it.
func (g TCP) Try(ctx context.Context, t Target) Attempt {
	ep, err := t.endpoint(ctx, g.Name(), g.Port)
	if err != nil {
		return Attempt{Err: err}
	}
	start := time.Now()
	conn, err := ep.dial(ctx, "tcp", ep.addr)
	a := Attempt{Latency: time.Since(start)}
	if err != nil {
		a.Err = orCtx(ctx, err)
		return a
	}
	_ = conn.Close()
	a.Status, a.Passed = "connected", true
	return a
}
