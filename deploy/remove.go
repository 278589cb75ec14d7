package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// LabelMigrate marks a release's one-off migration container with the
// app's service, as LabelExec marks Exec's.
const LabelMigrate = "slipway.migrate"

// ErrRemoveNotConfirmed is what Remove returns without
// RemoveOptions.Confirm, once it has printed what it would remove:
// nothing was changed.
var ErrRemoveNotConfirmed = errors.New("nothing was removed: pass -confirm to remove")

// RemoveOptions configure Session.Remove. The zero value only prints
// what would be removed.
type RemoveOptions struct {
	// Confirm removes what the printed plan lists. Without it Remove
	// prints the plan, changes nothing and returns ErrRemoveNotConfirmed.
	Confirm bool
}

// HostInventory is what one host holds, as Remove reads it: every
// container of every app, kamal-proxy's routes and the images. Tests
// build one by hand to assert a RemovePlan.
type HostInventory struct {
	// Containers are every container on the host, whichever app (or
	// none) it belongs to: what stays decides which images, network and
	// proxy may go.
	Containers []engine.Container
	// Images are the images the host's engine holds.
	Images []engine.Image
	// Proxy is set when the host has a kamal-proxy container.
	Proxy bool
	// Routes maps each kamal-proxy service onto its target
	// ("container:port"), every app's; nil when kamal-proxy is missing or
	// stopped (its routes cannot be read then, so it is kept while other
	// apps run on the host).
	Routes map[string]string
}

// Removal is what Remove takes off the app's hosts, host by host, and
// what it keeps. It is a value: print it (String), assert it in tests,
// and Remove applies the same.
type Removal struct {
	Service     string
	Destination string
	Hosts       []HostRemoval
	// LockHost is the host whose deploy lock (LockPath) goes last.
	LockHost string
	LockPath string
	// AuditPath is where each host's audit log stays: Remove writes its
	// own lines there and never deletes it.
	AuditPath string
}

// HostRemoval is what goes from one host, in the order Remove takes it.
type HostRemoval struct {
	Host string
	// Routes are the app's kamal-proxy services, removed first so no
	// request reaches a container that is going.
	Routes []string
	// Containers are every container of the app for this destination:
	// each role's, every version, the accessories', and any migration or
	// exec container an interrupted run left behind. Each is stopped with
	// its role's StopTimeout, then removed.
	Containers []string
	// Proxy is set when kamal-proxy itself goes: no other app's route
	// remains on the host. ProxyKept says why it stays otherwise.
	Proxy     bool
	ProxyKept string
	// Images are the references removed: the tags of App.Image's
	// repository and the accessories' images, but for a tag a remaining
	// container was made from and the last tag of an image in use.
	Images []string
	// Network is the app's network, removed when no remaining container
	// is attached to it; "" when it stays, and NetworkKept says why.
	Network     string
	NetworkKept string
	// Volumes are the app's volumes on the host. They are never removed:
	// they hold the databases.
	Volumes []string
}

// RemovePlan is what Remove would take from hosts, by host address, for
// a (its destination only). It does no I/O. The app must be valid.
func RemovePlan(a App, hosts map[string]HostInventory) (Removal, error) {
	a, err := a.expand()
	if err != nil {
		return Removal{}, err
	}
	r := Removal{Service: a.Service, Destination: a.Destination, LockHost: a.PrimaryHost(),
		LockPath: (&Session{app: a}).lockPath(), AuditPath: AuditPath(a)}
	for _, h := range a.HostNames() {
		r.Hosts = append(r.Hosts, hostRemoval(a, h, hosts[h]))
	}
	return r, nil
}

// ours reports whether container c belongs to a's destination: a role's,
// an accessory's, or a migration or exec leftover.
func (a App) ours(c engine.Container) bool {
	if c.Labels[LabelDestination] != a.Destination {
		return false
	}
	return c.Labels[LabelService] == a.Service || c.Labels[LabelMigrate] == a.Service || c.Labels[LabelExec] == a.Service
}

func hostRemoval(a App, host string, inv HostInventory) HostRemoval {
	hr := HostRemoval{Host: host}
	mine := map[string]bool{}
	var rest []engine.Container
	for _, c := range inv.Containers {
		if a.ours(c) {
			mine[c.Name] = true
			hr.Containers = append(hr.Containers, c.Name)
		} else {
			rest = append(rest, c)
		}
	}
	slices.Sort(hr.Containers)

	services := map[string]bool{}
	for _, role := range a.rolesOn(host) {
		if a.Roles[role].Proxy != nil {
			services[ProxyService(a, role)] = true
		}
	}
	for _, role := range a.balancedOn(host) { // the balancer's route of the role
		services[ProxyService(a, role)] = true
	}
	var others []string
	for _, svc := range sortedKeys(inv.Routes) {
		target, _, _ := strings.Cut(inv.Routes[svc], ":")
		if services[svc] || mine[target] {
			hr.Routes = append(hr.Routes, svc)
		} else {
			others = append(others, svc)
		}
	}
	var apps []string // other Slipway apps' containers on the host
	for _, c := range rest {
		if c.Labels[LabelService] != "" {
			apps = append(apps, c.Name)
		}
	}
	switch {
	case !inv.Proxy:
	case inv.Routes == nil && len(apps) > 0:
		// A stopped kamal-proxy lists no routes: keep it for the other apps.
		hr.ProxyKept = "it is stopped, so its routes cannot be read, and other apps run here: " + strings.Join(apps, ", ")
	default:
		if len(others) == 0 {
			hr.Proxy = true
			rest = slices.DeleteFunc(rest, func(c engine.Container) bool { return c.Name == proxy.DefaultContainer })
		} else {
			hr.ProxyKept = "other apps' routes remain: " + strings.Join(others, ", ")
		}
	}

	// A tag goes unless a remaining container was made from it (another
	// destination's, say), or its image is in use and it is the image's
	// last tag, which the engine would refuse to remove. Untagging an
	// image that keeps other tags frees nothing another container needs.
	used, made := map[string]bool{}, map[string]bool{}
	for _, c := range rest {
		used[c.ImageID] = true
		made[familiarName(c.Image)] = true
	}
	repo := familiarName(a.Image)
	var accImages []string
	for _, name := range sortedKeys(a.Accessories) {
		if slices.Contains(a.accessoryHosts(name), host) {
			accImages = append(accImages, familiarName(a.Accessories[name].Image))
		}
	}
	for _, img := range inv.Images {
		for _, ref := range img.Tags {
			r, _, _ := splitTag(familiarName(ref))
			ours := r == repo || slices.Contains(accImages, familiarName(ref))
			if !ours || made[familiarName(ref)] || used[img.ID] && len(img.Tags) == 1 {
				continue
			}
			hr.Images = append(hr.Images, ref)
		}
	}
	slices.Sort(hr.Images)

	network := a.network()
	var attached []string
	for _, c := range rest {
		if _, ok := c.IPs[network]; ok {
			attached = append(attached, c.Name)
		}
	}
	if len(attached) == 0 {
		hr.Network = network
	} else {
		slices.Sort(attached)
		hr.NetworkKept = "other containers are attached: " + strings.Join(attached, ", ")
	}

	vols := slices.Clone(a.Volumes)
	for _, name := range sortedKeys(a.Accessories) {
		if slices.Contains(a.accessoryHosts(name), host) {
			vols = append(vols, a.Accessories[name].Volumes...)
		}
	}
	for _, v := range vols {
		name, _, _ := strings.Cut(v, ":")
		if !slices.Contains(hr.Volumes, name) {
			hr.Volumes = append(hr.Volumes, name)
		}
	}
	slices.Sort(hr.Volumes)
	return hr
}

// String prints the removal as a person reads it before confirming:
// every host's routes, containers, proxy, images and network, what is
// kept and why, and the lock and audit log.
func (r Removal) String() string {
	var b strings.Builder
	target := r.Service
	if r.Destination != "" {
		target += " (destination " + r.Destination + "; other destinations are left alone)"
	}
	fmt.Fprintf(&b, "Remove %s from %s:\n", target, plural(len(r.Hosts), "host", "hosts"))
	for _, h := range r.Hosts {
		fmt.Fprintf(&b, "%s:\n", h.Host)
		line := func(format string, args ...any) { fmt.Fprintf(&b, "  "+format+"\n", args...) }
		if len(h.Routes) > 0 {
			line("remove kamal-proxy routes %s", strings.Join(h.Routes, ", "))
		}
		if len(h.Containers) > 0 {
			line("stop and remove containers %s", strings.Join(h.Containers, ", "))
		} else {
			line("no container of %s", r.Service)
		}
		switch {
		case h.Proxy:
			line("remove kamal-proxy (no other app's route remains)")
		case h.ProxyKept != "":
			line("keep kamal-proxy: %s", h.ProxyKept)
		}
		if len(h.Images) > 0 {
			line("remove images %s", strings.Join(h.Images, ", "))
		}
		if h.Network != "" {
			line("remove network %s (nothing else is attached)", h.Network)
		} else {
			line("keep network: %s", h.NetworkKept)
		}
		if len(h.Volumes) > 0 {
			line("keep volumes %s: they hold data; remove one by hand on the host with `docker volume rm %s`", strings.Join(h.Volumes, ", "), h.Volumes[0])
		}
	}
	if r.LockHost != "" {
		fmt.Fprintf(&b, "Last: remove the deploy lock %s on %s; the audit log stays on each host at ~/%s\n", r.LockPath, r.LockHost, r.AuditPath)
	}
	return b.String()
}

// Remove takes the app off its hosts: for the session's destination
// only, on every host, its kamal-proxy routes, every container (each
// role's, every version, accessories, migration and exec leftovers),
// the tags of App.Image's repository and the accessories' images (but
// those another container was made from, see HostRemoval.Images), its network when nothing else is attached,
// kamal-proxy itself when no other app's route remains, and last the
// deploy lock. Volumes are never removed: they hold the databases.
//
// It prints the plan first (see RemovePlan). Without opts.Confirm it
// changes nothing and returns the plan with ErrRemoveNotConfirmed. With
// it, Remove takes the deploy lock (no deploy runs meanwhile), reads the
// hosts again, removes, and writes an audit line per removal and a last
// "remove" line to each host's audit log, which stays. A host that fails
// does not stop the others; the lock is then released, not removed with
// the rest, and the error names what was left.
func (s *Session) Remove(ctx context.Context, opts RemoveOptions) (_ Removal, err error) {
	defer s.redactErr(&err)
	if !opts.Confirm {
		plan, err := s.removePlan(ctx)
		if err != nil {
			return plan, err
		}
		s.out.linef("%s", strings.TrimRight(plan.String(), "\n"))
		return plan, ErrRemoveNotConfirmed
	}
	start := time.Now()
	if err := s.Lock(ctx, ""); err != nil {
		return Removal{}, err
	}
	plan, err := s.removePlan(ctx)
	if err != nil {
		return plan, s.releaseAfter(ctx, err)
	}
	s.out.linef("%s", strings.TrimRight(plan.String(), "\n"))
	audit := &auditLog{}
	byHost := map[string]HostRemoval{}
	for _, h := range plan.Hosts {
		byHost[h.Host] = h
	}
	hosts := s.app.HostNames()
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		return s.removeHost(ctx, h, byHost[h.name], audit)
	})
	if err != nil {
		s.writeAudit(ctx, audit)
		return plan, s.releaseAfter(ctx, fmt.Errorf("remove %s: %w\nthe lock was released; run remove again to finish", s.app.Service, err))
	}
	lockStart := time.Now()
	err = s.Unlock(ctx) // removes the lock file: the last thing of the app on its hosts
	s.record(audit, stepLine{host: plan.LockHost, step: "remove-lock", detail: plan.LockPath, start: lockStart, err: err})
	for _, h := range hosts {
		s.record(audit, stepLine{host: h, step: "remove", detail: "done; volumes and this audit log stay", start: start, err: err})
	}
	s.writeAudit(ctx, audit)
	if err != nil {
		return plan, err
	}
	s.out.linef("Remove %s: done in %s", s.app.Service, seconds(time.Since(start)))
	return plan, nil
}

// removePlan reads every host's inventory and plans the removal.
func (s *Session) removePlan(ctx context.Context) (Removal, error) {
	hosts := s.app.HostNames()
	per := make([]HostInventory, len(hosts))
	err := s.onHosts(hosts, func(i int, h *hostConn) error {
		return s.call(ctx, h.name, "inventory", s.opts.callTimeout(), func(ctx context.Context) error {
			var err error
			per[i], err = inventory(ctx, h.engine)
			if err != nil {
				return fmt.Errorf("read: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return Removal{}, err
	}
	inv := make(map[string]HostInventory, len(hosts))
	for i, h := range hosts {
		inv[h] = per[i]
	}
	return RemovePlan(s.app, inv)
}

// inventory reads what RemovePlan needs from one host.
func inventory(ctx context.Context, e *engine.Engine) (HostInventory, error) {
	var inv HostInventory
	var err error
	if inv.Containers, err = e.List(ctx, engine.ListOptions{All: true}); err != nil {
		return inv, err
	}
	if inv.Images, err = e.ImageList(ctx, nil); err != nil {
		return inv, err
	}
	px, err := e.Inspect(ctx, proxy.DefaultContainer)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		return inv, nil
	case err != nil:
		return inv, err
	}
	inv.Proxy = true
	if !px.Running() {
		return inv, nil // a stopped proxy routes nothing
	}
	routes, err := proxy.List(ctx, e, proxy.DefaultContainer)
	if err != nil {
		return inv, err
	}
	inv.Routes = map[string]string{}
	for _, r := range routes {
		inv.Routes[r.Service] = r.Target
	}
	return inv, nil
}

// removeHost removes what hr lists from one host, in its order, with an
// output and audit line for each removal. It goes on past a failure, so
// that as much as can go goes, and returns every error.
func (s *Session) removeHost(ctx context.Context, h *hostConn, hr HostRemoval, audit *auditLog) error {
	e := h.engine
	var errs []error
	do := func(step, what string, budget time.Duration, fn func(ctx context.Context) error) {
		start := time.Now()
		err := s.call(ctx, h.name, step+" "+what, budget, fn)
		l := stepLine{host: h.name, step: step, detail: what, start: start, err: err}
		switch step {
		case "remove-container", "remove-proxy":
			l.container = what
		case "remove-image":
			l.image = what
		}
		s.record(audit, l)
		if err != nil {
			errs = append(errs, err)
		}
	}
	call := s.opts.callTimeout()
	for _, svc := range hr.Routes {
		do("remove-route", svc, call, func(ctx context.Context) error {
			return proxy.Remove(ctx, e, proxy.DefaultContainer, svc)
		})
	}
	for _, name := range hr.Containers {
		stop := DefaultStopTimeout
		if c, err := e.Inspect(ctx, name); err == nil {
			stop = s.app.stopTimeout(orDefault(c.Labels[LabelRole], c.Labels[LabelAccessory]))
		}
		do("remove-container", name, stop+call, func(ctx context.Context) error {
			if err := e.Stop(ctx, name, stop); err != nil && !errors.Is(err, engine.ErrNotFound) {
				return err
			}
			if err := e.Remove(ctx, name, true); err != nil && !errors.Is(err, engine.ErrNotFound) {
				return err
			}
			return nil
		})
	}
	if hr.Proxy {
		do("remove-proxy", proxy.DefaultContainer, DefaultStopTimeout+call, func(ctx context.Context) error {
			if err := e.Remove(ctx, proxy.DefaultContainer, true); err != nil && !errors.Is(err, engine.ErrNotFound) {
				return err
			}
			return nil
		})
	}
	for _, ref := range hr.Images {
		do("remove-image", ref, call, func(ctx context.Context) error {
			if err := e.ImageRemove(ctx, ref, false); err != nil && !errors.Is(err, engine.ErrNotFound) {
				return err
			}
			return nil
		})
	}
	if hr.Network != "" {
		do("remove-network", hr.Network, call, func(ctx context.Context) error { return e.NetworkRemove(ctx, hr.Network) })
	}
	return errors.Join(errs...)
}
