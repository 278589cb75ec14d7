package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// DiagnosticLogLines is how many of a container's last log lines Diagnose
// gathers; Diagnostics.Logs holds at most this many, which code that
// reads them (a report, an alert) can rely on.
const DiagnosticLogLines = 50

// DiagnoseTimeout bounds Diagnose, so explaining a failure cannot hang a
// deploy. It is exported for a caller that bounds its own wait for
// Diagnose (deploy takes the shorter of it and its call timeout).
const DiagnoseTimeout = 10 * time.Second

// Diagnostics is what a person needs to see why a container failed its
// gate: its state and the end of its log.
type Diagnostics struct {
	Container  string           // the container's name
	State      engine.Container // what the engine reported; zero when InspectErr is set
	InspectErr error            // why the state could not be read
	Logs       []string         // the last DiagnosticLogLines lines of output, oldest first
	LogsErr    error            // why the log could not be read
}

// Diagnose gathers the named container's state and last
// DiagnosticLogLines log lines. It never fails: what it cannot read is
// recorded in the result's InspectErr or LogsErr. It takes at most
// DiagnoseTimeout; pass a context that outlives the failed Wait (such as
// context.WithoutCancel) to explain a canceled one.
func Diagnose(ctx context.Context, in Inspector, tail LogTailer, container string) Diagnostics {
	ctx, cancel := context.WithTimeout(ctx, DiagnoseTimeout)
	defer cancel()
	d := Diagnostics{Container: container}
	if in == nil {
		d.InspectErr = errors.New("no Inspector given")
	} else if c, err := in.Inspect(ctx, container); err != nil {
		d.InspectErr = err
	} else {
		d.State = c
	}
	if tail == nil {
		d.LogsErr = errors.New("no LogTailer given")
	} else if lines, err := tail.Tail(ctx, container, DiagnosticLogLines); err != nil {
		d.LogsErr = err
	} else {
		if len(lines) > DiagnosticLogLines {
			lines = lines[len(lines)-DiagnosticLogLines:]
		}
		d.Logs = lines
	}
	return d
}

// Redact returns d with secret values hidden in every log line, the
// engine's error and the read errors, each whole. Redact before the
// report is printed: String and GateError clip lines to ScreenWidth, and
// a secret the clip cuts in two is no longer there to be found.
func (d Diagnostics) Redact(r Redactor) Diagnostics {
	if r == nil {
		return d
	}
	if d.Logs != nil {
		logs := make([]string, len(d.Logs))
		for i, l := range d.Logs {
			logs[i] = r.Redact(l)
		}
		d.Logs = logs
	}
	d.State.Error = r.Redact(d.State.Error)
	d.InspectErr = redactedError(d.InspectErr, r)
	d.LogsErr = redactedError(d.LogsErr, r)
	return d
}

// redactedError returns err with its message redacted, still unwrapping to err.
func redactedError(err error, r Redactor) error {
	if err == nil {
		return nil
	}
	return &redacted{err: err, msg: r.Redact(err.Error())}
}

type redacted struct {
	err error
	msg string
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// String reports the state in one line, then as many of the last log
// lines as fit in one screen (40 lines), each clipped to ScreenWidth.
func (d Diagnostics) String() string {
	var s screen
	d.write(&s)
	return s.String()
}

// StateLine describes the container's state in one line, such as
// "container app-web-v2: exited with code 137, OOM-killed, ran 1.2s, 3 restarts".
func (d Diagnostics) StateLine() string {
	head := "container " + d.Container + ": "
	if d.InspectErr != nil {
		return head + "state unknown: " + errText(d.InspectErr)
	}
	c := d.State
	parts := []string{c.State.String()}
	switch {
	case !c.Running():
		parts[0] += fmt.Sprintf(" with code %d", c.ExitCode)
	case c.RestartCount > 0 && c.ExitCode != 0:
		parts = append(parts, fmt.Sprintf("last exit code %d", c.ExitCode))
	}
	if c.OOMKilled {
		parts = append(parts, "OOM-killed")
	}
	if !c.Running() && !c.StartedAt.IsZero() && c.FinishedAt.After(c.StartedAt) {
		parts = append(parts, "ran "+round(c.FinishedAt.Sub(c.StartedAt)).String())
	}
	parts = append(parts, plural(c.RestartCount, "restart"))
	if c.Health != engine.HealthNone {
		parts = append(parts, "health "+c.Health.String())
	}
	if c.Error != "" {
		parts = append(parts, "engine error: "+c.Error)
	}
	return head + strings.Join(parts, ", ")
}

func (d Diagnostics) write(s *screen) {
	s.line(d.StateLine())
	switch {
	case d.LogsErr != nil:
		s.line("log unavailable: " + errText(d.LogsErr))
	case len(d.Logs) == 0:
		s.line("log: empty")
	default:
		n := min(len(d.Logs), s.left()-1)
		if n <= 0 {
			return
		}
		if n == len(d.Logs) {
			s.line(fmt.Sprintf("last %s of the log:", plural(n, "line")))
		} else {
			s.line(fmt.Sprintf("last %d of %d log lines:", n, len(d.Logs)))
		}
		for _, l := range d.Logs[len(d.Logs)-n:] {
			s.line("  | " + l)
		}
	}
}

// GateError is a gate that failed during a deploy, with what explains it.
// Its Error is a report that fits one screen: how the gate ended, its last
// attempts, the container's state and as many of its last log lines as fit.
type GateError struct {
	Result      Result      // what Wait found
	Diagnostics Diagnostics // what Diagnose found
}

// Error returns the report, at most 40 lines of at most ScreenWidth characters.
func (e *GateError) Error() string {
	var s screen
	e.Result.write(&s)
	e.Diagnostics.write(&s)
	return s.String()
}

// Unwrap returns the Result's error, so errors.Is(err, ErrDeadline) and the like work.
func (e *GateError) Unwrap() error { return e.Result.Err }
