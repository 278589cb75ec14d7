package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// The operations beside deploy and rollback: what is retained (Versions),
// clearing it (Prune), what runs where (Details), the app's output (Logs)
// and commands in its containers (Exec). They read the same labels the
// planner reads, and every one of them reaches all hosts at once.

// ErrNotRunning means a role runs no container on a host, so there is no
// current release to exec in or to take the image of.
var ErrNotRunning = errors.New("no running container")

// LabelExec marks the one-off containers of Exec with the app's service.
// They carry no LabelService, so they are never taken for a release.
const LabelExec = "slipway.exec"

// timeLayout is how the operations print a time: to the second, in UTC.
const timeLayout = "2006-01-02 15:04:05 UTC"

// VersionInfo is one of an app's release containers on one host: the
// version the host runs, or one it retains to roll back to.
type VersionInfo struct {
	Host      string
	Role      string
	Version   string
	Container string
	// Image is the image reference the container was created from.
	Image   string
	State   engine.State
	Created time.Time
}

// Running reports whether the container is up.
func (v VersionInfo) Running() bool { return v.State == engine.StateRunning }

// Versions lists every release container of the app (this destination's)
// on every host, running or stopped: hosts in the app's order, then roles
// primary first, then newest first.
func (s *Session) Versions(ctx context.Context) (_ []VersionInfo, err error) {
	defer s.redactErr(&err)
	hosts := s.app.HostNames()
	per := make([][]VersionInfo, len(hosts))
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		cs, err := s.appContainers(ctx, h)
		if err != nil {
			return fmt.Errorf("versions on %s: %w", h.name, err)
		}
		for _, c := range cs {
			per[i] = append(per[i], versionInfo(h.name, c))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.Concat(per...), nil
}

func versionInfo(host string, c engine.Container) VersionInfo {
	return VersionInfo{Host: host, Role: c.Labels[LabelRole], Version: c.Labels[LabelVersion],
		Container: c.Name, Image: c.Image, State: c.State, Created: c.Created}
}

// RetainedVersions returns the versions whose container is on every host
// of every role of a — the versions Rollback accepts, the running one
// included — newest first.
func RetainedVersions(a App, versions []VersionInfo) []string {
	type place struct{ host, role string }
	found := map[string]map[place]bool{}
	newest := map[string]time.Time{}
	for _, v := range versions {
		if found[v.Version] == nil {
			found[v.Version] = map[place]bool{}
		}
		found[v.Version][place{v.Host, v.Role}] = true
		if v.Created.After(newest[v.Version]) {
			newest[v.Version] = v.Created
		}
	}
	var out []string
	for version, at := range found {
		everywhere := true
		for _, role := range a.roleNames() {
			for _, srv := range a.Roles[role].Servers {
				everywhere = everywhere && at[place{srv.Host, role}]
			}
		}
		if everywhere {
			out = append(out, version)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !newest[out[i]].Equal(newest[out[j]]) {
			return newest[out[i]].After(newest[out[j]])
		}
		return out[i] < out[j]
	})
	return out
}

// PrintVersions writes versions as a table, one row per host, role and
// version, then the versions retained on every host of a.
func PrintVersions(w io.Writer, a App, versions []VersionInfo) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tROLE\tVERSION\tSTATE\tCREATED")
	for _, v := range versions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Host, v.Role, v.Version, v.State, v.Created.UTC().Format(timeLayout))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	retained := RetainedVersions(a, versions)
	if len(retained) == 0 {
		retained = []string{"none"}
	}
	_, err := fmt.Fprintf(w, "Retained on every host: %s\n", strings.Join(retained, ", "))
	return err
}

// PruneReport says what Prune removed.
type PruneReport struct {
	// Containers are the release containers removed, and any one-off
	// container an interrupted Exec left behind.
	Containers []VersionInfo
	// Images are the image references removed.
	Images   []PrunedImage
	Duration time.Duration
}

// PrunedImage is one image reference Prune removed from a host.
type PrunedImage struct {
	Host string
	Ref  string // repository:tag
	ID   string
}

// Prune takes the deploy lock, then on every host removes the app's
// stopped release containers beyond App.Retain per role (the newest are
// kept; a running container never goes) and the tags of the app's
// repository (App.Image) whose image no container on the host uses any
// more. Each removal gets an output line and an audit line on its host. A
// failing host does not stop the others; the report holds what was done.
func (s *Session) Prune(ctx context.Context) (_ PruneReport, err error) {
	defer s.redactErr(&err)
	start := time.Now()
	var rep PruneReport
	if err := s.Lock(ctx, ""); err != nil {
		return rep, err
	}
	defer func() { err = s.releaseAfter(ctx, err) }() // a lock left held is reported

	hosts := s.app.HostNames()
	containers := make([][]VersionInfo, len(hosts))
	images := make([][]PrunedImage, len(hosts))
	audit := &auditLog{}
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		err := s.pruneHost(ctx, h, audit, &containers[i], &images[i])
		return errors.Join(err, s.flushAudit(ctx, audit, h.name))
	})
	rep.Containers = slices.Concat(containers...)
	rep.Images = slices.Concat(images...)
	rep.Duration = time.Since(start)
	result := "done"
	if err != nil {
		result = "FAILED"
	}
	s.out.linef("Prune %s: removed %d containers and %d images on %d hosts: %s in %s",
		s.app.Service, len(rep.Containers), len(rep.Images), len(hosts), result, seconds(rep.Duration))
	return rep, err
}

func (s *Session) pruneHost(ctx context.Context, h *hostConn, audit *auditLog, removed *[]VersionInfo, images *[]PrunedImage) error {
	cs, err := s.appContainers(ctx, h)
	if err != nil {
		return fmt.Errorf("prune on %s: %w", h.name, err)
	}
	leftovers, err := h.engine.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{LabelExec: s.app.Service}})
	if err != nil {
		return fmt.Errorf("prune on %s: %w", h.name, err)
	}
	var doomed []engine.Container
	kept := map[string]int{}
	for _, c := range cs { // newest first
		role := c.Labels[LabelRole]
		if !stopped(c.State) {
			continue
		}
		if kept[role] < s.app.retain() {
			kept[role]++
			continue
		}
		doomed = append(doomed, c)
	}
	for _, c := range leftovers {
		if stopped(c.State) && c.Labels[LabelDestination] == s.app.Destination {
			doomed = append(doomed, c)
		}
	}

	var errs []error
	for _, c := range doomed {
		start := time.Now()
		err := h.engine.Remove(ctx, c.Name, false)
		if errors.Is(err, engine.ErrNotFound) {
			err = nil
		}
		v := versionInfo(h.name, c)
		s.record(audit, h.name, v.Role, StepPrune.String(), v.Version, c.Name, c.Name, start, err)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		*removed = append(*removed, v)
	}
	if err := s.pruneImages(ctx, h, audit, images); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// pruneImages removes the tags of the app's repository whose image no
// container on the host uses, whichever app the container belongs to.
func (s *Session) pruneImages(ctx context.Context, h *hostConn, audit *auditLog, removed *[]PrunedImage) error {
	all, err := h.engine.List(ctx, engine.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("prune images on %s: %w", h.name, err)
	}
	used := map[string]bool{}
	for _, c := range all {
		used[c.ImageID] = true
	}
	list, err := h.engine.ImageList(ctx, nil)
	if err != nil {
		return fmt.Errorf("prune images on %s: %w", h.name, err)
	}
	repo := familiarName(s.app.Image)
	var errs []error
	for _, img := range list {
		if used[img.ID] {
			continue
		}
		for _, ref := range img.Tags {
			r, tag, ok := splitTag(familiarName(ref))
			if !ok || r != repo {
				continue
			}
			start := time.Now()
			err := h.engine.ImageRemove(ctx, ref, false)
			if errors.Is(err, engine.ErrNotFound) {
				err = nil
			}
			s.record(audit, h.name, "", "prune-image", tag, "", ref, start, err)
			audit.setImage(h.name, ref)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			*removed = append(*removed, PrunedImage{Host: h.name, Ref: ref, ID: img.ID})
		}
	}
	return errors.Join(errs...)
}

// record prints one finished step of an operation and adds its audit line.
func (s *Session) record(audit *auditLog, host, role, step, version, container, detail string, start time.Time, err error) {
	s.out.step(host, role, step, detail, start, err)
	e := AuditEntry{Time: start.UTC(), Performer: s.performer, Service: s.app.Service, Destination: s.app.Destination,
		Host: host, Role: role, Step: step, Version: version, Container: container,
		DurationMS: time.Since(start).Milliseconds(), Result: "ok"}
	if err != nil {
		e.Result, e.Error = "failed", firstLine(err.Error())
	}
	audit.add(e)
}

// stopped reports whether a container is down for good: created and never
// started, exited or dead. A restarting or paused container is in use.
func stopped(st engine.State) bool {
	return st == engine.StateCreated || st == engine.StateExited || st == engine.StateDead
}

// familiarName is a reference as the engine lists it: Docker Hub's
// registry and "library/" left out.
func familiarName(ref string) string {
	for _, p := range []string{"docker.io/", "index.docker.io/"} {
		ref = strings.TrimPrefix(ref, p)
	}
	return strings.TrimPrefix(ref, "library/")
}

// splitTag cuts "repo:tag"; a colon before the last slash is a registry port.
func splitTag(ref string) (repo, tag string, ok bool) {
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || i < strings.LastIndexByte(ref, '/') {
		return ref, "", false
	}
	return ref[:i], ref[i+1:], true
}

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
			return fmt.Errorf("details of %s: %w", h.name, err)
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
		fmt.Fprintf(&b, "Lock: half-written, no holder recorded, made %s (%s ago): break it with lock:release -force\n",
			l.Time.UTC().Format(timeLayout), age(d.Time.Sub(l.Time)))
	} else {
		fmt.Fprintf(&b, "Lock: held by %s since %s (%s ago)", l.Performer, l.Time.UTC().Format(timeLayout), age(d.Time.Sub(l.Time)))
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
		return "up " + age(c.Uptime(t))
	case c.State == engine.StateCreated || c.FinishedAt.IsZero():
		return "never started"
	default:
		return fmt.Sprintf("exit %d, %s ago", c.ExitCode, age(t.Sub(c.FinishedAt)))
	}
}

// age is a duration as a person reads an age: its two largest units,
// such as "42s", "3m12s", "26h5m" or "3d4h".
func age(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	day := 24 * time.Hour
	switch {
	case d < time.Hour:
		return d.String()
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	default:
		return fmt.Sprintf("%dd%dh", d/day, d%day/time.Hour)
	}
}

// LogOptions choose the output Logs writes. The zero value writes the
// whole output of every current container of the app.
type LogOptions struct {
	// Tail is how many of the last lines of each container to write; 0 means all.
	Tail int
	// Follow keeps writing new lines until ctx ends.
	Follow bool
	// Since leaves out lines logged before it; zero means from the start.
	Since time.Time
	// Roles and Hosts narrow the containers to these roles and hosts;
	// none means all of them.
	Roles []string
	Hosts []string
}

// Logs writes the output of the app's current containers — on each host,
// each role's newest running container, or its newest one when none runs —
// from all hosts at once to w. Every line is prefixed with its host and
// role and written whole, so lines from different hosts never mix. A
// follow ends without error when ctx ends. Logs resolves the app's
// secrets first, as a deploy does, and redacts their values; when one
// cannot be resolved it writes nothing and the error names it.
func (s *Session) Logs(ctx context.Context, opts LogOptions, w io.Writer) (err error) {
	defer s.redactErr(&err)
	hosts, roles, err := s.choose(opts.Hosts, opts.Roles)
	if err != nil {
		return err
	}
	if err := s.learnSecrets(ctx); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	type source struct{ host, role, container string }
	found := make([][]source, len(hosts))
	var missing []string
	var mu sync.Mutex
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		cs, err := s.appContainers(ctx, h)
		if err != nil {
			return fmt.Errorf("logs on %s: %w", h.name, err)
		}
		for _, role := range roles[h.name] {
			if c, ok := current(cs, role); ok {
				found[i] = append(found[i], source{h.name, role, c.Name})
			} else {
				mu.Lock()
				missing = append(missing, h.name+" ("+role+")")
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sources := slices.Concat(found...)
	if len(sources) == 0 {
		return fmt.Errorf("logs: %s has no container on %s: deploy first", s.app.Service, strings.Join(missing, ", "))
	}
	for _, m := range missing {
		s.out.linef("%-15s logs: no container, deploy first", m)
	}

	sink := s.newLineSink(w)
	defer sink.Close()
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := linePrefix(src.host, src.role)
			stdout, stderr := sink.writer(prefix), sink.writer(prefix)
			errs[i] = s.hosts[src.host].engine.Logs(ctx, src.container,
				engine.LogOptions{Tail: opts.Tail, Follow: opts.Follow, Since: opts.Since}, stdout, stderr)
			errs[i] = errors.Join(errs[i], stdout.Close(), stderr.Close())
		}()
	}
	wg.Wait()
	if opts.Follow && ctx.Err() != nil {
		return nil
	}
	return errors.Join(errs...)
}

// ExecOptions say what Exec runs, and where.
type ExecOptions struct {
	// Cmd is the command. In the running container it is run as given;
	// a one-off container runs it with the image's entrypoint, like a
	// role's Cmd.
	Cmd []string
	// Role whose containers run the command; "" means the primary role.
	Role string
	// Host runs the command on one host of the role; "" means every host
	// of the role with Reuse, and the role's first host for a one-off.
	Host string
	// Reuse runs the command inside the role's running container instead
	// of a one-off container of its image.
	Reuse bool
}

// ExecResult is how a command went on one host.
type ExecResult struct {
	Host string
	Role string
	// Container is the running container the command ran in, or the
	// one-off container it ran in (since removed).
	Container string
	Version   string
	ExitCode  int
	// Stdout and Stderr are the command's output as it wrote it, secrets
	// included: only the output written to Exec's writer is redacted.
	Stdout, Stderr []byte
	Duration       time.Duration
	// Err says why the command could not run, or is an *ExitError when
	// it exited non-zero.
	Err error
}

// ExitError is a command that ran and exited non-zero on a host.
type ExitError struct {
	Host string
	// Program is the command's first word; the arguments are left out,
	// since they may hold secrets.
	Program string
	Code    int
}

// Error names the program, its exit code and the host.
func (e *ExitError) Error() string {
	return fmt.Sprintf("%s exited %d on %s", e.Program, e.Code, e.Host)
}

// Exec runs a command on the hosts of a role at once, as of the release
// the role runs there, and writes its output to w, each line prefixed with
// its host and role, secret values redacted. With Reuse it runs inside the
// running container; otherwise in a one-off container of that container's
// image, with the role's env (secrets resolved as a deploy resolves them),
// the app's network and volumes, removed once the command ends. The
// results are in host order; the error joins every host's failure,
// non-zero exits included.
func (s *Session) Exec(ctx context.Context, opts ExecOptions, w io.Writer) (_ []ExecResult, err error) {
	defer s.redactErr(&err)
	if len(opts.Cmd) == 0 {
		return nil, errors.New("exec: no command given")
	}
	role := orDefault(opts.Role, s.app.primaryRole())
	r, ok := s.app.Roles[role]
	if !ok {
		return nil, fmt.Errorf("exec: unknown role %q; the app's roles: %s", role, strings.Join(s.app.roleNames(), ", "))
	}
	var hosts []string
	for _, srv := range r.Servers {
		hosts = append(hosts, srv.Host)
	}
	switch {
	case opts.Host != "":
		if !slices.Contains(hosts, opts.Host) {
			return nil, fmt.Errorf("exec: role %s does not run on %s; its hosts: %s", role, opts.Host, strings.Join(hosts, ", "))
		}
		hosts = []string{opts.Host}
	case !opts.Reuse:
		hosts = hosts[:1]
	}
	// The command sees the secrets either way, so its output is redacted either way.
	if _, err := s.resolveSecrets(ctx); err != nil {
		return nil, err
	}

	sink := s.newLineSink(w)
	defer sink.Close()
	results := make([]ExecResult, len(hosts))
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		start := time.Now()
		res := ExecResult{Host: h.name, Role: role}
		cur, err := s.running(ctx, h, role)
		if err == nil {
			res.Container, res.Version = cur.Name, cur.Labels[LabelVersion]
			if opts.Reuse {
				err = s.execIn(ctx, h, cur, opts.Cmd, sink, &res)
			} else {
				err = s.execOneOff(ctx, h, cur, role, opts.Cmd, sink, &res)
			}
		}
		if err == nil && res.ExitCode != 0 {
			err = &ExitError{Host: h.name, Program: opts.Cmd[0], Code: res.ExitCode}
		}
		res.Duration, res.Err = time.Since(start), err
		s.out.step(h.name, role, "exec", res.Container, start, err)
		results[i] = res
		return err
	})
	return results, err
}

// running returns the role's newest running container on host.
func (s *Session) running(ctx context.Context, h *hostConn, role string) (engine.Container, error) {
	cs, err := s.appContainers(ctx, h)
	if err != nil {
		return engine.Container{}, err
	}
	c, ok := current(cs, role)
	if !ok || !c.Running() {
		return engine.Container{}, fmt.Errorf("%w of role %s on %s: deploy first", ErrNotRunning, role, h.name)
	}
	return c, nil
}

func (s *Session) execIn(ctx context.Context, h *hostConn, c engine.Container, cmd []string, sink *lineSink, res *ExecResult) error {
	out, err := h.engine.Exec(ctx, c.Name, cmd, engine.ExecOptions{})
	if err != nil {
		return err
	}
	res.ExitCode, res.Stdout, res.Stderr = out.ExitCode, out.Stdout, out.Stderr
	prefix := linePrefix(h.name, res.Role)
	for _, b := range [][]byte{out.Stdout, out.Stderr} {
		lw := sink.writer(prefix)
		if _, err := lw.Write(b); err != nil {
			return err
		}
		if err := lw.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) execOneOff(ctx context.Context, h *hostConn, c engine.Container, role string, cmd []string, sink *lineSink, res *ExecResult) error {
	e := h.engine
	version := c.Labels[LabelVersion]
	name := fmt.Sprintf("%s-exec-%08x", ContainerName(s.app, role, version), rand.Uint32())
	env, secrets := s.app.envFor(role)
	// The image by ID: the code the running container runs, even if its tag has moved since.
	image := orDefault(c.ImageID, c.Image)
	spec := s.containerSpec(Plan{Version: version},
		Step{Role: role, Container: name, Image: image, Cmd: cmd, Env: env, Secrets: secrets})
	spec.Labels = map[string]string{LabelExec: s.app.Service, LabelRole: role, LabelVersion: version}
	if s.app.Destination != "" {
		spec.Labels[LabelDestination] = s.app.Destination
	}
	spec.Restart = "no"
	res.Container = name
	if _, err := e.Create(ctx, spec); err != nil {
		return err
	}
	defer e.Remove(context.WithoutCancel(ctx), name, true)
	if err := e.Start(ctx, name); err != nil {
		return err
	}

	var stdout, stderr bytes.Buffer
	prefix := linePrefix(h.name, role)
	outW, errW := sink.writer(prefix), sink.writer(prefix)
	err := e.Logs(ctx, name, engine.LogOptions{Follow: true}, io.MultiWriter(&stdout, outW), io.MultiWriter(&stderr, errW))
	err = errors.Join(err, outW.Close(), errW.Close())
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	// The output ends as the command does; the engine may take a moment to record its exit.
	for {
		st, err := e.Inspect(ctx, name)
		if err != nil {
			return err
		}
		if !st.Running() && st.State != engine.StateCreated {
			res.ExitCode = st.ExitCode
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// appContainers reads the app's release containers on one host (this
// destination's only), inspected for their exact times and health: roles
// primary first, then newest first.
func (s *Session) appContainers(ctx context.Context, h *hostConn) ([]engine.Container, error) {
	list, err := h.engine.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{LabelService: s.app.Service}})
	if err != nil {
		return nil, err
	}
	var out []engine.Container
	for _, c := range list {
		if c.Labels[LabelDestination] != s.app.Destination || c.Labels[LabelRole] == "" {
			continue
		}
		full, err := h.engine.Inspect(ctx, c.ID)
		if errors.Is(err, engine.ErrNotFound) {
			continue // removed since the list
		}
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	order := s.app.roleNames()
	rank := func(role string) int {
		if i := slices.Index(order, role); i >= 0 {
			return i
		}
		return len(order)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := out[i].Labels[LabelRole], out[j].Labels[LabelRole]
		if ri != rj {
			if rank(ri) != rank(rj) {
				return rank(ri) < rank(rj)
			}
			return ri < rj
		}
		return out[i].Created.After(out[j].Created)
	})
	return out, nil
}

// current picks a role's current container from appContainers' list: the
// newest running one, or the newest one when none runs.
func current(cs []engine.Container, role string) (engine.Container, bool) {
	var newest *engine.Container
	for i, c := range cs {
		if c.Labels[LabelRole] != role {
			continue
		}
		if c.Running() {
			return c, true
		}
		if newest == nil {
			newest = &cs[i]
		}
	}
	if newest == nil {
		return engine.Container{}, false
	}
	return *newest, true
}

// choose narrows the app's hosts and their roles to the ones named; none
// named means all. It names what it does not know.
func (s *Session) choose(hosts, roles []string) ([]string, map[string][]string, error) {
	all := s.app.HostNames()
	for _, h := range hosts {
		if !slices.Contains(all, h) {
			return nil, nil, fmt.Errorf("unknown host %s; the app's hosts: %s", h, strings.Join(all, ", "))
		}
	}
	for _, r := range roles {
		if _, ok := s.app.Roles[r]; !ok {
			return nil, nil, fmt.Errorf("unknown role %q; the app's roles: %s", r, strings.Join(s.app.roleNames(), ", "))
		}
	}
	var chosen []string
	byHost := map[string][]string{}
	for _, h := range all {
		if len(hosts) > 0 && !slices.Contains(hosts, h) {
			continue
		}
		for _, r := range s.app.rolesOn(h) {
			if len(roles) == 0 || slices.Contains(roles, r) {
				byHost[h] = append(byHost[h], r)
			}
		}
		if len(byHost[h]) > 0 {
			chosen = append(chosen, h)
		}
	}
	if len(chosen) == 0 {
		return nil, nil, fmt.Errorf("roles %s do not run on hosts %s", strings.Join(roles, ", "), strings.Join(hosts, ", "))
	}
	return chosen, byHost, nil
}

// onHosts runs fn for each host at once and joins their errors in host order.
func (s *Session) onHosts(hosts []string, fn func(i int, h *hostConn) error) error {
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, name := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i, s.hosts[name])
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// linePrefix starts every line of a container's output that Logs and
// Exec write.
func linePrefix(host, role string) string {
	return fmt.Sprintf("%-15s %-8s | ", host, role)
}

// maxLine is how long a line without an end may grow before it is
// passed on as a line of its own.
const maxLine = 64 << 10

// lineSink passes whole lines from many writers to one, so that lines
// from hosts writing at once never mix. Secret values the session has
// resolved are redacted.
type lineSink struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
}

func (s *Session) newLineSink(w io.Writer) *lineSink {
	if sec := s.out.secrets(); len(sec) > 0 {
		rw := sec.Writer(w)
		return &lineSink{w: rw, closer: rw}
	}
	return &lineSink{w: w}
}

// Close passes on anything the redaction held back.
func (l *lineSink) Close() error {
	if l.closer == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closer.Close()
}

// writer returns a writer of one stream whose lines reach the sink whole,
// each after prefix. Close it to pass on an unfinished last line.
func (l *lineSink) writer(prefix string) *lineWriter {
	return &lineWriter{sink: l, prefix: prefix}
}

type lineWriter struct {
	sink   *lineSink
	prefix string
	buf    []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	n := bytes.LastIndexByte(lw.buf, '\n') + 1
	if n == 0 && len(lw.buf) >= maxLine {
		n = len(lw.buf)
	}
	if n == 0 {
		return len(p), nil
	}
	err := lw.emit(lw.buf[:n])
	lw.buf = lw.buf[:copy(lw.buf, lw.buf[n:])]
	return len(p), err
}

// Close passes on the last line when it has no end.
func (lw *lineWriter) Close() error {
	if len(lw.buf) == 0 {
		return nil
	}
	err := lw.emit(lw.buf)
	lw.buf = nil
	return err
}

func (lw *lineWriter) emit(b []byte) error {
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		out.WriteString(lw.prefix)
		out.Write(line)
		if line[len(line)-1] != '\n' {
			out.WriteByte('\n')
		}
	}
	lw.sink.mu.Lock()
	defer lw.sink.mu.Unlock()
	_, err := lw.sink.w.Write(out.Bytes())
	return err
}
