package health

import (
	"context"
	"fmt"
	"time"
)

// Running is a gate that passes once the target container has kept
// running, never restarted, for For: all a container without a health
// check of its own can show (Kamal's readiness_delay). For is counted on
// this machine's clock from the first try that finds the container
// running, so the host's clock does not matter: the gate needs
// For/Interval+1 consecutive passing tries. A container that exits or
// restarts fails it at once.
type Running struct {
	For      time.Duration // how long the container must keep running; 0 passes at the first try that finds it running
	Interval time.Duration // between the starts of two tries; DefaultInterval when zero
	Deadline time.Duration // for the whole wait; For plus DefaultDeadline when zero
}

var _ Gate = Running{}

// Name returns "running".
func (g Running) Name() string { return "running" }

// String returns "keeps running for 7s".
func (g Running) String() string { return fmt.Sprintf("keeps running for %s", g.For) }

// Policy returns the gate's timing with defaults applied; Successes is
// the number of tries, Interval apart, that span For.
func (g Running) Policy() Policy {
	p := Policy{Interval: g.Interval, Deadline: g.Deadline}.WithDefaults()
	if g.Deadline == 0 {
		p.Deadline = g.For + DefaultDeadline
	}
	if g.For > 0 && p.Interval > 0 {
		p.Successes = int((g.For+p.Interval-1)/p.Interval) + 1
	}
	return p
}

// Validate returns every problem with the gate, joined, each naming its
// field under "health.running".
func (g Running) Validate() error { return validate(g) }

// ValidateAt returns every problem with the gate, each a *FieldError under path.
func (g Running) ValidateAt(path string) []error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"for", g.For}, {"interval", g.Interval}, {"deadline", g.Deadline}} {
		if d.v < 0 {
			errs = append(errs, fieldErrorf(path, d.name, "must not be negative, got %s", d.v))
		}
	}
	if len(errs) == 0 && g.Deadline > 0 && g.Deadline <= g.For {
		errs = append(errs, fieldErrorf(path, "deadline", "%s leaves no room to keep running for %s; make it longer, or 0 for For plus %s", g.Deadline, g.For, DefaultDeadline))
	}
	return errs
}

// Try passes when the container is running and the engine has not
// restarted it.
func (g Running) Try(ctx context.Context, t Target) Attempt {
	start := time.Now()
	c, err := t.running(ctx, g.Name())
	a := Attempt{Latency: time.Since(start)}
	switch {
	case err != nil:
		a.Err = err
	case c.RestartCount > 0:
		a.Status = "restarted"
		a.Err = fmt.Errorf("%w: container %s restarted %d times", ErrContainerStopped, t.container, c.RestartCount)
	default:
		a.Status, a.Passed = "running", true
	}
	return a
}
