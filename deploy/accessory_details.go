package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// accessoryLogLines is how many of an accessory's last log lines
// Details reads for its latest error.
const accessoryLogLines = 50

// AccessoryDetails is one accessory container on a host, such as the
// Litestream sidecar: its state and the latest error it logged.
type AccessoryDetails struct {
	Name      string // the accessory's key in App.Accessories
	Container string
	Image     string
	// State is the container's state; StateUnknown when it is missing.
	State    engine.State
	ExitCode int
	// Restarts counts the engine's restarts of the container.
	Restarts   int
	StartedAt  time.Time
	FinishedAt time.Time
	// LastError is the newest of its last log lines that logs an error
	// (level=ERROR, as Litestream and Slipway's sidecar write them),
	// redacted; "" when there is none.
	LastError string
}

// Failing reports whether the accessory needs a look: missing, not
// running, restarted by the engine, or logging errors.
func (a AccessoryDetails) Failing() bool {
	return a.State != engine.StateRunning || a.Restarts > 0 || a.LastError != ""
}

// hostAccessories reads the accessories the app declares on h, missing
// ones included, so a sidecar that never booted or keeps failing shows.
func (s *Session) hostAccessories(ctx context.Context, h *hostConn) ([]AccessoryDetails, error) {
	var out []AccessoryDetails
	var errs []error
	for _, name := range sortedKeys(s.app.Accessories) {
		if !slices.Contains(s.app.accessoryHosts(name), h.name) {
			continue
		}
		ad := AccessoryDetails{Name: name, Container: AccessoryName(s.app, name), Image: s.app.Accessories[name].Image}
		c, err := h.engine.Inspect(ctx, ad.Container)
		switch {
		case errors.Is(err, engine.ErrNotFound):
			out = append(out, ad)
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("accessory %s: %w", name, err))
			continue
		}
		ad.Image, ad.State, ad.ExitCode, ad.Restarts = c.Image, c.State, c.ExitCode, c.RestartCount
		ad.StartedAt, ad.FinishedAt = c.StartedAt, c.FinishedAt
		lines, err := h.engine.Tail(ctx, ad.Container, accessoryLogLines)
		if err != nil {
			errs = append(errs, fmt.Errorf("logs of accessory %s: %w", name, err))
		}
		ad.LastError = s.lastError(lines)
		out = append(out, ad)
	}
	return out, errors.Join(errs...)
}

// lastError is the newest error line of an accessory's logs, redacted:
// a replicator's error can quote its endpoint's credentials.
func (s *Session) lastError(lines []string) string { return s.Redact(lastErrorLine(lines)) }

// lastErrorLine returns the newest line that logs at level ERROR.
func lastErrorLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "level=ERROR") {
			return strings.TrimSpace(lines[i])
		}
	}
	return ""
}

// since says how long the accessory has been in its state at t.
func (a AccessoryDetails) since(t time.Time) string {
	c := ContainerDetails{State: a.State, ExitCode: a.ExitCode, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt}
	if a.State == engine.StateUnknown {
		return "missing"
	}
	return c.since(t)
}

// writeAccessories prints a row per host and accessory, and the latest
// error of each one that logs any.
func writeAccessories(b *strings.Builder, d Details) {
	tw := tabwriter.NewWriter(b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tACCESSORY\tIMAGE\tSTATE\tRESTARTS\tCONTAINER")
	for _, h := range d.Hosts {
		for _, a := range h.Accessories {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", h.Host, a.Name, a.Image, a.since(d.Time), a.Restarts, a.Container)
		}
	}
	tw.Flush()
	for _, h := range d.Hosts {
		for _, a := range h.Accessories {
			if a.LastError != "" {
				fmt.Fprintf(b, "%s %s last logged: %s\n", h.Host, a.Name, a.LastError)
			}
		}
	}
}
