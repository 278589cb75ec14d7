package engine

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// State is the lifecycle state of a container as the engine reports it.
type State int

// The container states, in the order the engine moves through them.
const (
	StateUnknown State = iota
	StateCreated
	StateRunning
	StatePaused
	StateRestarting
	StateRemoving
	StateExited
	StateDead
)

var stateNames = [...]string{"unknown", "created", "running", "paused", "restarting", "removing", "exited", "dead"}

// String returns the engine's own name for the state ("running", "exited", ...).
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// ParseState maps the engine's state name to a State; unknown names give StateUnknown.
func ParseState(name string) State {
	for i, n := range stateNames {
		if n == name {
			return State(i)
		}
	}
	return StateUnknown
}

// Health is the result of an image's HEALTHCHECK as the engine reports it.
type Health int

// The health states. HealthNone means the container has no HEALTHCHECK.
const (
	HealthNone Health = iota
	HealthStarting
	HealthHealthy
	HealthUnhealthy
)

var healthNames = [...]string{"none", "starting", "healthy", "unhealthy"}

// String returns the engine's own name for the health state.
func (h Health) String() string {
	if h < 0 || int(h) >= len(healthNames) {
		return fmt.Sprintf("Health(%d)", int(h))
	}
	return healthNames[h]
}

// ParseHealth maps the engine's health name to a Health; "" and unknown names give HealthNone.
func ParseHealth(name string) Health {
	for i, n := range healthNames {
		if n == name {
			return Health(i)
		}
	}
	return HealthNone
}

// Container is what Slipway reads about one container: enough to plan a
// deploy, gate a release and explain a failure.
type Container struct {
	ID      string
	Name    string // without the engine's leading "/"
	Image   string // the reference it was created from
	ImageID string
	Labels  map[string]string

	State        State
	Health       Health
	ExitCode     int
	OOMKilled    bool
	RestartCount int
	Error        string // the engine's error for the last start, if any

	Created    time.Time
	StartedAt  time.Time
	FinishedAt time.Time

	// IPs maps each network the container is attached to onto its address there.
	IPs map[string]string
	// LogPath is the file on the host the json-file log driver writes
	// the container's output to; "" for other drivers, and from List.
	LogPath string
}

// Running reports whether the container's main process is up.
func (c Container) Running() bool { return c.State == StateRunning }

// IP returns the container's address on the named network, or on any
// network when network is "" (the first in name order).
func (c Container) IP(network string) string {
	if network != "" {
		return c.IPs[network]
	}
	best := ""
	for n, ip := range c.IPs {
		if ip != "" && (best == "" || n < best) {
			best = n
		}
	}
	return c.IPs[best]
}

// ExecResult is the outcome of a command run inside a container.
type ExecResult struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// ListOptions select the containers List returns.
type ListOptions struct {
	Labels map[string]string // labels a container must all carry, with these values
	All    bool              // include containers that are not running
}

// Create creates a container from spec without starting it and returns its ID.
func (e *Engine) Create(ctx context.Context, spec ContainerSpec) (string, error) {
	cfg, host, netCfg, err := spec.config()
	if err != nil {
		return "", fmt.Errorf("create container %s on %s: %w", spec.Name, e.host, err)
	}
	resp, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ContainerCreateResult, error) {
		return e.api.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host, NetworkingConfig: netCfg, Name: spec.Name})
	})
	if err != nil {
		return "", fmt.Errorf("create container %s on %s: %w", spec.Name, e.host, err)
	}
	return resp.ID, nil
}

// Start starts a created or stopped container.
func (e *Engine) Start(ctx context.Context, name string) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ContainerStartResult, error) {
		return e.api.ContainerStart(ctx, name, client.ContainerStartOptions{})
	})
	if err != nil {
		return fmt.Errorf("start container %s on %s: %w", name, e.host, err)
	}
	return nil
}

// Stop sends the container its stop signal and kills it if it is still up
// after timeout; 0 uses the container's own StopTimeout and a negative
// timeout waits for as long as it takes. Stopping a stopped container is
// fine. With a timeout, the engine must answer within it plus
// Options.CallTimeout; without one, Stop waits as a stream does (see
// Options.IdleTimeout).
func (e *Engine) Stop(ctx context.Context, name string, timeout time.Duration) error {
	var opts client.ContainerStopOptions
	switch {
	case timeout > 0:
		secs := seconds(timeout)
		opts.Timeout = &secs
	case timeout < 0:
		forever := -1
		opts.Timeout = &forever
	}
	var err error
	if timeout > 0 {
		limit := time.Duration(seconds(timeout))*time.Second + e.callTimeout
		_, err = call(ctx, e, limit, func(ctx context.Context) (client.ContainerStopResult, error) {
			return e.api.ContainerStop(ctx, name, opts)
		})
	} else {
		w := e.watch(ctx)
		_, err = e.api.ContainerStop(w.ctx, name, opts)
		if err != nil {
			err = w.explain(err)
		}
		w.stop()
	}
	if err != nil {
		return fmt.Errorf("stop container %s on %s: %w", name, e.host, err)
	}
	return nil
}

// Remove deletes a container; force kills it first if it is running.
func (e *Engine) Remove(ctx context.Context, name string, force bool) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ContainerRemoveResult, error) {
		return e.api.ContainerRemove(ctx, name, client.ContainerRemoveOptions{Force: force})
	})
	if err != nil {
		return fmt.Errorf("remove container %s on %s: %w", name, e.host, err)
	}
	return nil
}

// Rename gives a container a new name.
func (e *Engine) Rename(ctx context.Context, name, newName string) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ContainerRenameResult, error) {
		return e.api.ContainerRename(ctx, name, client.ContainerRenameOptions{NewName: newName})
	})
	if err != nil {
		return fmt.Errorf("rename container %s to %s on %s: %w", name, newName, e.host, err)
	}
	return nil
}

// Inspect reads a container's state; the error matches ErrNotFound when there is none.
func (e *Engine) Inspect(ctx context.Context, name string) (Container, error) {
	resp, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ContainerInspectResult, error) {
		return e.api.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	})
	if err != nil {
		return Container{}, fmt.Errorf("inspect container %s on %s: %w", name, e.host, err)
	}
	return fromInspect(resp.Container), nil
}

// List returns the containers that carry all of opts.Labels, newest first.
// The engine's list leaves Health, ExitCode, OOMKilled, RestartCount, Error,
// StartedAt and FinishedAt unset; Inspect one container for those.
func (e *Engine) List(ctx context.Context, opts ListOptions) ([]Container, error) {
	list, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.ContainerListResult, error) {
		return e.api.ContainerList(ctx, client.ContainerListOptions{All: opts.All, Filters: labelFilter(opts.Labels)})
	})
	if err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", e.host, err)
	}
	cs := make([]Container, len(list.Items))
	for i, s := range list.Items {
		cs[i] = fromSummary(s)
	}
	return cs, nil
}

func labelFilter(labels map[string]string) client.Filters {
	f := client.Filters{}
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	return f
}

func fromInspect(r container.InspectResponse) Container {
	c := Container{
		ID:           r.ID,
		Name:         strings.TrimPrefix(r.Name, "/"),
		ImageID:      r.Image,
		RestartCount: r.RestartCount,
		Created:      parseTime(r.Created),
		LogPath:      r.LogPath,
		IPs:          map[string]string{},
	}
	if s := r.State; s != nil {
		c.State = ParseState(string(s.Status))
		c.ExitCode = s.ExitCode
		c.OOMKilled = s.OOMKilled
		c.Error = s.Error
		c.StartedAt = parseTime(s.StartedAt)
		c.FinishedAt = parseTime(s.FinishedAt)
		if s.Health != nil {
			c.Health = ParseHealth(string(s.Health.Status))
		}
	}
	if r.Config != nil {
		c.Image = r.Config.Image
		c.Labels = r.Config.Labels
	}
	if r.NetworkSettings != nil {
		for name, ep := range r.NetworkSettings.Networks {
			if ep != nil {
				c.IPs[name] = addr(ep.IPAddress)
			}
		}
	}
	return c
}

// addr writes an address as the engine's JSON does, "" for none.
func addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func fromSummary(s container.Summary) Container {
	c := Container{
		ID:      s.ID,
		Image:   s.Image,
		ImageID: s.ImageID,
		Labels:  s.Labels,
		State:   ParseState(string(s.State)),
		Created: time.Unix(s.Created, 0),
		IPs:     map[string]string{},
	}
	// Names also lists the names the container has through links
	// ("/other/alias"); its own is the one without a second slash.
	for _, n := range s.Names {
		if n = strings.TrimPrefix(n, "/"); !strings.Contains(n, "/") {
			c.Name = n
			break
		}
	}
	if s.NetworkSettings != nil {
		for name, ep := range s.NetworkSettings.Networks {
			if ep != nil {
				c.IPs[name] = addr(ep.IPAddress)
			}
		}
	}
	return c
}

// parseTime reads the engine's timestamps, which are zero-valued
// ("0001-01-01T00:00:00Z") or empty for events that never happened.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() {
		return time.Time{}
	}
	return t
}
