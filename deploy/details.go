package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// Details is what runs where: every host's release containers of the
// app, its kamal-proxy and the app's routes there, and the deploy lock.
type Details struct {
	Service     string
	Destination string
	// Time is when the hosts were read; ages and uptimes count from it.
	Time  time.Time
	Hosts []HostDetails
	// Lock is the deploy lock's holder; nil when it is free.
	Lock *LockInfo
}

// HostDetails is what one host runs of the app.
type HostDetails struct {
	Host string
	// Engine is the host's Docker Engine release; zero when it could not
	// be read.
	Engine engine.Version
	// EngineErr is set when the engine is older than
	// engine.MinimumVersion (it matches engine.ErrEngineTooOld) or its
	// version could not be read.
	EngineErr error
	// Containers are the app's release containers: roles primary first,
	// then newest first.
	Containers []ContainerDetails
	// Accessories are the app's accessories on the host (a Litestream
	// sidecar among them), missing ones included.
	Accessories []AccessoryDetails
	// Proxy is the host's kamal-proxy; nil when the host has none.
	Proxy *ProxyDetails
}

// ContainerDetails is one release container on a host.
type ContainerDetails struct {
	Name     string
	Role     string
	Version  string
	Image    string
	State    engine.State
	Health   engine.Health
	ExitCode int
	// Restarts counts the engine's restarts of the container.
	Restarts  int
	Created   time.Time
	StartedAt time.Time
	// FinishedAt is when the container last stopped.
	FinishedAt time.Time
	// Serving is set when kamal-proxy routes the role's traffic to it.
	Serving bool
}

// Uptime is how long the container has run at t; 0 when it is not running.
func (c ContainerDetails) Uptime(t time.Time) time.Duration {
	if c.State != engine.StateRunning || c.StartedAt.IsZero() {
		return 0
	}
	return t.Sub(c.StartedAt)
}

// ProxyDetails is a host's kamal-proxy container and the app's routes in it.
type ProxyDetails struct {
	Image string
	State engine.State
	// Routes are the kamal-proxy services of the app's web roles.
	Routes []proxy.Route
}

// Details reads what runs on every host, changing nothing. When a host
// cannot be read, the others' details come with the error.
func (s *Session) Details(ctx context.Context) (_ Details, err error) {
	defer s.redactErr(&err)
	d := Details{Service: s.app.Service, Destination: s.app.Destination, Time: time.Now().UTC()}
	hosts := s.app.HostNames()
	d.Hosts = make([]HostDetails, len(hosts))
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		hd, err := s.hostDetails(ctx, h)
		d.Hosts[i] = hd
		if err != nil {
			return fmt.Errorf("details: %w", err)
		}
		return nil
	})
	lock, lerr := s.LockStatus(ctx)
	d.Lock = lock
	return d, errors.Join(err, lerr)
}

func (s *Session) hostDetails(ctx context.Context, h *hostConn) (hd HostDetails, err error) {
	hd = HostDetails{Host: h.name}
	hd.Engine, hd.EngineErr = h.engine.CheckVersion(ctx)
	cs, err := s.appContainers(ctx, h)
	if err != nil {
		return hd, err
	}
	accessories, aerr := s.hostAccessories(ctx, h)
	hd.Accessories = accessories
	defer func() { err = errors.Join(err, aerr) }()
	for _, c := range cs {
		hd.Containers = append(hd.Containers, ContainerDetails{
			Name: c.Name, Role: c.Labels[LabelRole], Version: c.Labels[LabelVersion], Image: c.Image,
			State: c.State, Health: c.Health, ExitCode: c.ExitCode, Restarts: c.RestartCount,
			Created: c.Created, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt,
		})
	}
	px, err := h.engine.Inspect(ctx, proxy.DefaultContainer)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		return hd, nil
	case err != nil:
		return hd, err
	}
	hd.Proxy = &ProxyDetails{Image: px.Image, State: px.State}
	if !px.Running() {
		return hd, nil
	}
	routes, err := proxy.List(ctx, h.engine, proxy.DefaultContainer)
	if err != nil {
		return hd, err
	}
	for _, role := range s.app.roleNames() {
		if s.app.Roles[role].Proxy == nil {
			continue
		}
		for _, r := range routes {
			if r.Service != ProxyService(s.app, role) {
				continue
			}
			hd.Proxy.Routes = append(hd.Proxy.Routes, r)
			for i, c := range hd.Containers {
				if c.Role == role && strings.HasPrefix(r.Target, c.Name+":") {
					hd.Containers[i].Serving = true
				}
			}
		}
	}
	return hd, nil
}

// String prints the details as a person reads them: the lock, a row per
// host and container, a row per host and accessory (with the latest
// error it logged), and a row per host and route of kamal-proxy.
func (d Details) String() string {
	var b strings.Builder
	name := d.Service
	if d.Destination != "" {
		name += " (" + d.Destination + ")"
	}
	fmt.Fprintf(&b, "%s on %d hosts, read %s\n", name, len(d.Hosts), d.Time.UTC().Format(timeLayout))
	if l := d.Lock; l == nil {
		b.WriteString("Lock: free\n")
	} else if l.Incomplete {
		fmt.Fprintf(&b, "Lock: half-written, no holder recorded, made %s (%s): break it with lock:release -force\n",
			l.Time.UTC().Format(timeLayout), ago(l.Time, d.Time))
	} else {
		fmt.Fprintf(&b, "Lock: held by %s since %s (%s)", l.Performer, l.Time.UTC().Format(timeLayout), ago(l.Time, d.Time))
		if l.Version != "" {
			b.WriteString(", deploying " + l.Version)
		}
		if l.Message != "" {
			fmt.Fprintf(&b, ": %q", l.Message)
		}
		b.WriteString("\n")
	}

	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tROLE\tVERSION\tSTATE\tHEALTH\tSINCE\tCONTAINER")
	for _, h := range d.Hosts {
		if len(h.Containers) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\tnothing deployed\n", h.Host)
		}
		for _, c := range h.Containers {
			health := "-"
			if c.Health != engine.HealthNone {
				health = c.Health.String()
			}
			container := c.Name
			if c.Serving {
				container += " (serving)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Host, c.Role, c.Version, c.State, health, c.since(d.Time), container)
		}
	}
	tw.Flush()

	if slices.ContainsFunc(d.Hosts, func(h HostDetails) bool { return len(h.Accessories) > 0 }) {
		b.WriteString("\n")
		writeAccessories(&b, d)
	}

	b.WriteString("\n")
	fmt.Fprintln(tw, "HOST\tPROXY\tSERVICE\tHOSTS\tTARGET\tROUTE")
	for _, h := range d.Hosts {
		px := h.Proxy
		switch {
		case px == nil:
			fmt.Fprintf(tw, "%s\tnone\n", h.Host)
		case len(px.Routes) == 0:
			fmt.Fprintf(tw, "%s\t%s\tno route of the app\n", h.Host, px.State)
		}
		if px == nil {
			continue
		}
		for _, r := range px.Routes {
			hosts := orDefault(r.Host, "*")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Host, px.State, r.Service, hosts, r.Target, r.State)
		}
	}
	tw.Flush()

	b.WriteString("\n")
	fmt.Fprintln(tw, "HOST\tENGINE\tAPI\tSUPPORTED")
	for _, h := range d.Hosts {
		ok := "yes"
		if h.EngineErr != nil {
			ok = "NO: " + h.EngineErr.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Host, orDefault(h.Engine.Server, "unknown"), orDefault(h.Engine.API, "-"), ok)
	}
	tw.Flush()
	return b.String()
}

// since says how long a container has been in its state at t.
func (c ContainerDetails) since(t time.Time) string {
	switch {
	case c.State == engine.StateRunning:
		return "up " + humanize.RelTime(t.Add(-c.Uptime(t)), t, "", "")
	case c.State == engine.StateCreated || c.FinishedAt.IsZero():
		return "never started"
	default:
		return fmt.Sprintf("exit %d, %s", c.ExitCode, ago(c.FinishedAt, t))
	}
}
