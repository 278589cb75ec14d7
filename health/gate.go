package health

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Defaults for the timing fields every gate has; a zero field means its default.
const (
	// DefaultInterval is how often a gate tries, measured from the start of one try to the next.
	DefaultInterval = 1 * time.Second
	// DefaultTimeout bounds one try.
	DefaultTimeout = 5 * time.Second
	// DefaultDeadline bounds the whole wait for a gate to pass.
	DefaultDeadline = 30 * time.Second
	// DefaultSuccesses is how many consecutive passing tries make a gate pass.
	DefaultSuccesses = 1
)

// Gate is one check a release must pass before it takes traffic (or before
// the release it replaces may stop). Gates are plain values: HTTP, TCP,
// Command, Docker and Running. Wait runs a gate against a Target.
type Gate interface {
	// Name is the gate's kind: "http", "tcp", "command", "docker" or "running".
	// Validate uses it in field paths ("health.http.interval").
	Name() string

	// String describes the gate in a few words for output, such as "http GET /up (200-399)".
	String() string

	// Policy returns the gate's timing with the defaults applied.
	Policy() Policy

	// Try makes one try against target and reports what it saw. ctx
	// carries the per-try timeout; Try fills in neither Number nor At.
	Try(ctx context.Context, target Target) Attempt

	// ValidateAt returns every problem with the gate, each a *FieldError
	// whose Field starts with path, such as "roles.web.proxy.health".
	// An empty path names the fields alone ("interval").
	ValidateAt(path string) []error
}

// Policy is the timing every gate shares. The zero value of each field means its default.
type Policy struct {
	Interval  time.Duration // between the starts of two tries; DefaultInterval when zero
	Timeout   time.Duration // for one try; DefaultTimeout when zero
	Successes int           // consecutive passing tries needed; DefaultSuccesses when zero
	Deadline  time.Duration // for the whole wait; DefaultDeadline when zero
}

// WithDefaults returns p with each zero field set to its default.
func (p Policy) WithDefaults() Policy {
	if p.Interval == 0 {
		p.Interval = DefaultInterval
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if p.Successes == 0 {
		p.Successes = DefaultSuccesses
	}
	if p.Deadline == 0 {
		p.Deadline = DefaultDeadline
	}
	return p
}

// validateAt checks the timing fields as the user wrote them.
func (p Policy) validateAt(path string) []error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", p.Interval}, {"timeout", p.Timeout}, {"deadline", p.Deadline}} {
		if d.v < 0 {
			errs = append(errs, fieldErrorf(path, d.name, "must not be negative, got %s", d.v))
		}
	}
	if p.Successes < 0 {
		errs = append(errs, fieldErrorf(path, "successes", "must not be negative, got %d", p.Successes))
	}
	if len(errs) > 0 {
		return errs
	}
	// A deadline too short for the successes it asks for can never pass.
	r := p.WithDefaults()
	if n := time.Duration(r.Successes - 1); n > 0 && (n > r.Deadline/r.Interval || n*r.Interval >= r.Deadline) {
		errs = append(errs, fieldErrorf(path, "deadline",
			"%s leaves no room for %d consecutive successes %s apart", r.Deadline, r.Successes, r.Interval))
	}
	return errs
}

// FieldError is one problem with one field of a gate.
type FieldError struct {
	Field   string // the field's path, such as "health.http.interval"
	Problem string // what is wrong and what was given
}

// Error returns "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

func fieldErrorf(path, name, format string, args ...any) error {
	return &FieldError{Field: join(path, name), Problem: fmt.Sprintf(format, args...)}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// validate is what each gate's Validate method does: all problems under "health.<name>", joined.
func validate(g Gate) error {
	return errors.Join(g.ValidateAt("health." + g.Name())...)
}
