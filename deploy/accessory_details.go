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
	// Host is the host the container is on, when the details are not
	// already under a HostDetails (Session.AccessoryDetails sets it).
	Host      string
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

// problem says in a few words why the accessory is failing; "" when it
// is not.
func (a AccessoryDetails) problem() string {
	switch {
	case a.State == engine.StateUnknown:
		return "missing"
	case a.State != engine.StateRunning:
		return fmt.Sprintf("%s (exit %d)", a.State, a.ExitCode)
	case a.LastError != "":
		return "logs errors: " + a.LastError
	case a.Restarts > 0:
		return fmt.Sprintf("restarted %d times", a.Restarts)
	}
	return ""
}

// sidecarSettle is how long, after a deploy booted or rebooted a
// database's replication sidecar, its health check waits for it to take
// its lease ("lease acquired") or to fail (exit, restart, an error
// line): a sidecar that cannot reach its replica fails within it.
const sidecarSettle = 15 * time.Second

// accessoryHealth reads, after a deploy, every accessory on the hosts the
// plan touched: a sidecar that failed to boot, keeps restarting or logs
// errors shows in the summary instead of an "ok". A replication sidecar
// this deploy booted is given up to sidecarSettle to take its lease or
// fail. A host that cannot be read is left out, with a warning.
func (s *Session) accessoryHealth(ctx context.Context, rep *Report) []AccessoryDetails {
	if len(s.app.Accessories) == 0 {
		return nil
	}
	var hosts []string
	fresh := map[string]bool{} // "host name" of replication sidecars booted now
	for _, st := range rep.Plan.Steps() {
		if st.Host != "" && !slices.Contains(hosts, st.Host) {
			hosts = append(hosts, st.Host)
		}
	}
	for _, r := range rep.Steps {
		if (r.Step.Kind == StepBootAccessory || r.Step.Kind == StepRebootAccessory) && r.Err == nil && s.replicates(r.Step.Role) {
			fresh[r.Step.Host+" "+r.Step.Role] = true
		}
	}
	per := make([][]AccessoryDetails, len(hosts))
	s.onHosts(hosts, func(i int, h *hostConn) error {
		deadline := time.Now().Add(sidecarSettle)
		for {
			all, lines, err := s.readAccessories(ctx, h)
			if err != nil {
				s.out.linef("%-15s warning: accessories not read: %v", h.name, s.Redact(err.Error()))
			}
			waiting := false
			for _, ad := range all {
				if fresh[h.name+" "+ad.Name] && !ad.Failing() && !slices.ContainsFunc(lines[ad.Name], leaseTaken) {
					waiting = true
				}
			}
			if !waiting || time.Now().After(deadline) || ctx.Err() != nil {
				for _, ad := range all {
					ad.Host = h.name
					if waiting && fresh[h.name+" "+ad.Name] && ad.problem() == "" && !slices.ContainsFunc(lines[ad.Name], leaseTaken) {
						s.out.linef("%-15s warning: accessory %s has not said it took its lease after %s (accessory:logs %s)", h.name, ad.Name, sidecarSettle, ad.Name)
					}
					per[i] = append(per[i], ad)
				}
				return nil
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
	return slices.Concat(per...)
}

// leaseTaken reports whether a sidecar's log line says it took its lease.
func leaseTaken(line string) bool { return strings.Contains(line, "lease acquired") }

// readAccessories is hostAccessories with each accessory's last lines.
func (s *Session) readAccessories(ctx context.Context, h *hostConn) ([]AccessoryDetails, map[string][]string, error) {
	all, err := s.hostAccessories(ctx, h)
	lines := map[string][]string{}
	for _, ad := range all {
		if ad.State != engine.StateUnknown {
			lines[ad.Name], _ = h.engine.Tail(ctx, ad.Container, accessoryLogLines)
		}
	}
	return all, lines, err
}

// ErrAccessoryFailing means an accessory is missing, stopped, restarting
// or logging errors after a deploy, as AccessoryDetails.Failing says.
var ErrAccessoryFailing = errors.New("accessory failing")

// failingAccessories reports the accessories whose failure matters: a
// database's replication sidecar that does not run or logs errors means
// the database is not replicated, which a deploy must not call done; any
// other failing accessory is a warning line.
func (s *Session) failingAccessories(found []AccessoryDetails) error {
	var errs []error
	for _, ad := range found {
		why := ad.problem()
		if why == "" {
			continue
		}
		if ad.LastError != "" && !strings.Contains(why, ad.LastError) {
			why += "; it last logged: " + ad.LastError
		}
		if s.replicates(ad.Name) {
			errs = append(errs, fmt.Errorf("%w: %s %s on %s: %s: its database is NOT being replicated (accessory:logs %s, accessory:reboot %s)",
				ErrAccessoryFailing, ad.Name, ad.Container, ad.Host, why, ad.Name, ad.Name))
			continue
		}
		s.out.linef("%-15s warning: accessory %s is failing: %s (accessory:logs %s)", ad.Host, ad.Name, why, ad.Name)
	}
	return errors.Join(errs...)
}

// replicates reports whether accessory name is the Litestream sidecar of
// a Database (sidecar replication).
func (s *Session) replicates(name string) bool {
	for _, d := range s.app.Databases {
		if d.Replication == ReplicateSidecar && d.Replica != nil && SidecarAccessoryName(d.role(s.app)) == name {
			return true
		}
	}
	return false
}
