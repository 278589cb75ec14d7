package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// Command is a gate that runs a command inside the target container,
// through the engine, and passes when it exits 0. Its arguments never
// appear in output (they may hold secrets); only the program does. A
// command still running at the try's timeout is abandoned, not killed:
// keep it short.
type Command struct {
	// Cmd is the program and its arguments, such as {"/app", "healthcheck"}.
	Cmd []string
	// User runs the command as user[:group]; the container's user when empty.
	User string

	Interval  time.Duration // between the starts of two tries; DefaultInterval when zero
	Timeout   time.Duration // for one try; DefaultTimeout when zero
	Successes int           // consecutive passing tries needed; DefaultSuccesses when zero
	Deadline  time.Duration // for the whole wait; DefaultDeadline when zero
}

var _ Gate = Command{}

// Name returns "command".
func (g Command) Name() string { return "command" }

// String returns "command /app" with the program only.
func (g Command) String() string {
	if len(g.Cmd) == 0 {
		return "command (none)"
	}
	return "command " + g.Cmd[0]
}

// Policy returns the gate's timing with defaults applied.
func (g Command) Policy() Policy {
	return Policy{Interval: g.Interval, Timeout: g.Timeout, Successes: g.Successes, Deadline: g.Deadline}.WithDefaults()
}

// WithDefaults returns g with every zero field set to its default, as Wait uses it.
func (g Command) WithDefaults() Command {
	p := g.Policy()
	g.Interval, g.Timeout, g.Successes, g.Deadline = p.Interval, p.Timeout, p.Successes, p.Deadline
	return g
}

// Validate returns every problem with the gate, joined, each naming its
// field under "health.command".
func (g Command) Validate() error { return validate(g) }

// ValidateAt returns every problem with the gate, each a *FieldError under path.
func (g Command) ValidateAt(path string) []error {
	var errs []error
	switch {
	case len(g.Cmd) == 0:
		errs = append(errs, fieldErrorf(path, "cmd", "must name a program to run"))
	case strings.TrimSpace(g.Cmd[0]) == "":
		errs = append(errs, fieldErrorf(path, "cmd", "program must not be empty"))
	}
	return append(errs, Policy{Interval: g.Interval, Timeout: g.Timeout, Successes: g.Successes, Deadline: g.Deadline}.validateAt(path)...)
}

// Try runs the command once in the target container.
func (g Command) Try(ctx context.Context, t Target) Attempt {
	if _, err := t.running(ctx, g.Name()); err != nil {
		return Attempt{Err: err}
	}
	if t.host.Execer == nil {
		return Attempt{Err: fmt.Errorf("%w: command gate on %s needs an Execer", ErrUnsupportedTarget, t)}
	}
	if len(g.Cmd) == 0 {
		return Attempt{Err: fmt.Errorf("%w: command gate has no command", ErrUnsupportedTarget)}
	}
	start := time.Now()
	res, err := t.host.Execer.Exec(ctx, t.container, g.Cmd, engine.ExecOptions{User: g.User})
	a := Attempt{Latency: time.Since(start)}
	if err != nil {
		a.Err = orCtx(ctx, err)
		return a
	}
	a.Code = res.ExitCode
	a.Status = fmt.Sprintf("exit %d", res.ExitCode)
	out := append(append([]byte(nil), res.Stdout...), res.Stderr...)
	a.Body = excerpt(t.redact(out))
	if res.ExitCode != 0 {
		a.Err = fmt.Errorf("%s exited with code %d", g.Cmd[0], res.ExitCode)
		return a
	}
	a.Passed = true
	return a
}
