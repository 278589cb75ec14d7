package health

import (
	"context"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// Docker is a gate that passes when the engine reports the target
// container healthy by its image's HEALTHCHECK. A container without a
// HEALTHCHECK fails it at once (ErrNoHealthcheck). The engine runs the
// first check only after the HEALTHCHECK's own interval (30s unless the
// image sets one), so set Deadline above that interval plus its start period.
type Docker struct {
	Interval  time.Duration // between the starts of two tries; DefaultInterval when zero
	Timeout   time.Duration // for one try; DefaultTimeout when zero
	Successes int           // consecutive passing tries needed; DefaultSuccesses when zero
	Deadline  time.Duration // for the whole wait; DefaultDeadline when zero
}

var _ Gate = Docker{}

// Name returns "docker".
func (g Docker) Name() string { return "docker" }

// String returns "docker health status".
func (g Docker) String() string { return "docker health status" }

// Policy returns the gate's timing with defaults applied.
func (g Docker) Policy() Policy {
	return Policy(g).WithDefaults()
}

// WithDefaults returns g with every zero field set to its default, as Wait uses it.
func (g Docker) WithDefaults() Docker {
	return Docker(g.Policy())
}

// Validate returns every problem with the gate, joined, each naming its
// field under "health.docker".
func (g Docker) Validate() error { return validate(g) }

// ValidateAt returns every problem with the gate, each a *FieldError under path.
func (g Docker) ValidateAt(path string) []error {
	return Policy(g).validateAt(path)
}

// Try reads the container's health status once.
func (g Docker) Try(ctx context.Context, t Target) Attempt {
	start := time.Now()
	c, err := t.running(ctx, g.Name())
	a := Attempt{Latency: time.Since(start)}
	if err != nil {
		a.Err = err
		return a
	}
	a.Status = "health " + c.Health.String()
	switch c.Health {
	case engine.HealthHealthy:
		a.Passed = true
	case engine.HealthNone:
		a.Err = fmt.Errorf("%w: container %s", ErrNoHealthcheck, t.container)
	default:
		a.Err = fmt.Errorf("container %s is %s", t.container, c.Health)
	}
	return a
}
