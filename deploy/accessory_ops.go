package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// asideSuffix names an accessory's old container while its reboot
// starts the new one: renamed aside, not removed, so that a new one that
// fails to start leaves the old one to put back.
const asideSuffix = "-rebooting"

// rebootAccessory replaces an accessory's container with one made as the
// step declares. The old one is stopped first, and only then the new one
// started: a Litestream sidecar syncs and lets go of its lease on
// SIGTERM, and the new one waits for the lease, so there is never a
// second replicator on one replica. While neither runs the app's writes
// stay in its SQLite WAL, which the new sidecar ships when it starts.
// When the new container cannot start or does not stay up, it is removed
// and the old one put back as it was.
func (s *Session) rebootAccessory(ctx context.Context, e *engine.Engine, st Step) error {
	aside := st.Container + asideSuffix
	if err := e.Remove(ctx, aside, true); err != nil && !errors.Is(err, engine.ErrNotFound) {
		return fmt.Errorf("remove the leftover %s of an earlier reboot: %w", aside, err)
	}
	old, err := e.Inspect(ctx, st.Container)
	found := err == nil
	if err != nil && !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	if found {
		if err := e.Stop(ctx, st.Container, s.app.stopTimeout(st.Role)); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("stop %s: %w", st.Container, err)
		}
		if err := e.Rename(ctx, st.Container, aside); err != nil {
			e.Start(context.WithoutCancel(ctx), st.Container) // as it was
			return fmt.Errorf("rename %s aside: %w", st.Container, err)
		}
	}
	err = s.createAccessory(ctx, e, st)
	if err == nil {
		err = e.Start(ctx, st.Container)
	}
	if err == nil {
		err = settle(ctx, e, st.Container)
	}
	if err != nil {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.app.stopTimeout(st.Role)+s.opts.callTimeout())
		defer cancel()
		lines, _ := e.Tail(bctx, st.Container, 20)
		e.Stop(bctx, st.Container, s.app.stopTimeout(st.Role)) // gracefully: a sidecar lets go of a lease it took
		e.Remove(bctx, st.Container, true)
		back := "; there was no old container"
		if found {
			back = "; the old container is back"
			if rerr := e.Rename(bctx, aside, st.Container); rerr != nil {
				back = fmt.Sprintf("; the old container is left as %s: %v", aside, rerr)
			} else if old.Running() {
				if serr := e.Start(bctx, st.Container); serr != nil {
					back = fmt.Sprintf("; the old container is back but did not start: %v", serr)
				} else {
					back = "; the old container runs again"
				}
			}
		}
		msg := fmt.Sprintf("the new %s did not run: %v%s", st.Container, err, back)
		if len(lines) > 0 {
			msg += "; its last lines:\n" + indent(s.Redact(strings.Join(lines, "\n")), "  ")
		}
		return errors.New(msg)
	}
	if found {
		if err := e.Remove(ctx, aside, false); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("the new %s runs; remove the old one (%s): %w", st.Container, aside, err)
		}
	}
	return nil
}

// noteDrifted says which accessories the plan leaves running though they
// drifted (Accessory.Drift: DriftReport), and why.
func (s *Session) noteDrifted(p Plan) {
	for _, st := range p.Drifted {
		s.out.linef("%-15s %-8s drifted, not rebooted (Drift: report): %s; accessory:reboot %s applies it",
			st.Host, st.Role, strings.Join(st.Reasons, ", "), st.Role)
	}
}

// settle waits settleTime for a new container to keep running, unrestarted.
func settle(ctx context.Context, e *engine.Engine, name string) error {
	deadline := time.Now().Add(settleTime)
	for {
		c, err := e.Inspect(ctx, name)
		if err != nil {
			return err
		}
		if !c.Running() || c.RestartCount > 0 {
			return fmt.Errorf("container %s (exit %d)", c.State, c.ExitCode)
		}
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ErrUnknownAccessory means an accessory name the App does not declare.
var ErrUnknownAccessory = errors.New("unknown accessory")

// accessory checks that name is one of the app's accessories.
func (s *Session) accessory(name string) error {
	if _, ok := s.app.Accessories[name]; ok {
		return nil
	}
	known := strings.Join(sortedKeys(s.app.Accessories), ", ")
	if known == "" {
		known = "none"
	}
	return fmt.Errorf("%w %q; the app's accessories: %s", ErrUnknownAccessory, name, known)
}

// onAccessory runs fn on each host of accessory name at once, printing a
// line per host with what it did, and joins the errors.
func (s *Session) onAccessory(ctx context.Context, name, what string, fn func(ctx context.Context, h *hostConn) (string, error)) error {
	hosts := s.app.accessoryHosts(name)
	return s.onHosts(hosts, func(i int, h *hostConn) error {
		start := time.Now()
		var detail string
		err := s.call(ctx, h.name, what+" "+name, s.app.stopTimeout(name)+settleTime+2*s.opts.callTimeout(), func(ctx context.Context) error {
			var err error
			detail, err = fn(ctx, h)
			return err
		})
		s.redactErr(&err)
		s.record(nil, stepLine{host: h.name, role: name, step: what, detail: detail, start: start, err: err})
		if err != nil {
			return fmt.Errorf("%s %s: %w", what, name, err)
		}
		return nil
	})
}

// accessoryStep is the boot step of accessory name on host, as a plan
// makes it.
func (s *Session) accessoryStep(host, name string) Step {
	st, _ := accessorySteps(s.app, State{}, nil, host, nil, nil)
	for _, x := range st {
		if x.Kind == StepBootAccessory {
			return x
		}
	}
	return Step{}
}

// ensureAccessoryImage builds and delivers accessory name's image to its
// hosts that lack it (or always, for a built one), as a deploy does.
func (s *Session) ensureAccessoryImage(ctx context.Context, name string) error {
	state, err := s.observe(ctx, false, "")
	if err != nil {
		return err
	}
	p := Plan{Service: s.app.Service, Destination: s.app.Destination}
	acc := s.app.Accessories[name]
	for _, h := range s.app.accessoryHosts(name) {
		p.Prepare = append(p.Prepare, accessoryImage(s.app, state, h, name)...)
	}
	if acc.Build != nil && delivers(p.Prepare, name) {
		p.Prepare = append([]Step{{Kind: StepBuildImage, Role: name, Image: acc.Image,
			ThroughRegistry: acc.Registry != nil || s.app.accessoryPull(name)}}, p.Prepare...)
	}
	if len(p.Prepare) == 0 {
		return nil
	}
	if _, err := s.resolveSecrets(ctx); err != nil {
		return err
	}
	_, err = s.buildAndDeliver(ctx, p, &Report{Plan: p}, nil)
	return err
}

// AccessoryBoot boots accessory name on each of its hosts where it does
// not run: its image is built, delivered or pulled as a deploy does it,
// its container made as declared (or a stopped one started). It holds
// the deploy lock while it works.
func (s *Session) AccessoryBoot(ctx context.Context, name string) (err error) {
	defer s.redactErr(&err)
	if err := s.accessory(name); err != nil {
		return err
	}
	if _, err := s.resolveSecrets(ctx); err != nil {
		return err
	}
	return s.withLock(ctx, "accessory boot "+name, func() error {
		if err := s.ensureAccessoryImage(ctx, name); err != nil {
			return fmt.Errorf("accessory %s image: %w", name, err)
		}
		return s.onAccessory(ctx, name, "boot", func(ctx context.Context, h *hostConn) (string, error) {
			if err := h.engine.NetworkEnsure(ctx, s.app.network(), map[string]string{"slipway.network": "true"}); err != nil {
				return "", err
			}
			st := s.accessoryStep(h.name, name)
			return st.Container + " (" + st.Image + ")", s.bootAccessory(ctx, h.engine, st)
		})
	})
}

// AccessoryReboot replaces accessory name's container on each of its
// hosts with one made as declared, whether or not it drifted: the old
// one is stopped before the new one starts (see the one-replicator rule
// of a Litestream sidecar), and put back when the new one does not run.
// Its volumes are kept. It holds the deploy lock while it works.
func (s *Session) AccessoryReboot(ctx context.Context, name string) (err error) {
	defer s.redactErr(&err)
	if err := s.accessory(name); err != nil {
		return err
	}
	if _, err := s.resolveSecrets(ctx); err != nil {
		return err
	}
	return s.withLock(ctx, "accessory reboot "+name, func() error {
		if err := s.ensureAccessoryImage(ctx, name); err != nil {
			return fmt.Errorf("accessory %s image: %w", name, err)
		}
		return s.onAccessory(ctx, name, "reboot", func(ctx context.Context, h *hostConn) (string, error) {
			if err := h.engine.NetworkEnsure(ctx, s.app.network(), map[string]string{"slipway.network": "true"}); err != nil {
				return "", err
			}
			st := s.accessoryStep(h.name, name)
			st.Kind = StepRebootAccessory
			return st.Container + " (" + st.Image + ")", s.rebootAccessory(ctx, h.engine, st)
		})
	})
}

// AccessoryStop stops accessory name on each of its hosts (a Litestream
// sidecar ships its last changes and lets go of its lease), keeping the
// container for AccessoryStart.
func (s *Session) AccessoryStop(ctx context.Context, name string) (err error) {
	defer s.redactErr(&err)
	if err := s.accessory(name); err != nil {
		return err
	}
	return s.withLock(ctx, "accessory stop "+name, func() error {
		return s.onAccessory(ctx, name, "stop", func(ctx context.Context, h *hostConn) (string, error) {
			ctr := AccessoryName(s.app, name)
			err := h.engine.Stop(ctx, ctr, s.app.stopTimeout(name))
			if errors.Is(err, engine.ErrNotFound) {
				return ctr + " (not booted)", nil
			}
			return ctr, err
		})
	})
}

// AccessoryStart starts accessory name's stopped container on each of
// its hosts; one that was never booted is an error that says to boot it.
func (s *Session) AccessoryStart(ctx context.Context, name string) (err error) {
	defer s.redactErr(&err)
	if err := s.accessory(name); err != nil {
		return err
	}
	return s.withLock(ctx, "accessory start "+name, func() error {
		return s.onAccessory(ctx, name, "start", func(ctx context.Context, h *hostConn) (string, error) {
			ctr := AccessoryName(s.app, name)
			found, err := startIfPresent(ctx, h.engine, ctr)
			if err == nil && !found {
				return ctr, fmt.Errorf("%s is not booted on %s: run accessory:boot %s", ctr, h.name, name)
			}
			return ctr, err
		})
	})
}

// AccessoryRemove stops and removes accessory name's container on each of
// its hosts. Its volumes are kept, and named in the output: they can
// hold a database or a replicator's state, which nothing here deletes.
func (s *Session) AccessoryRemove(ctx context.Context, name string) (err error) {
	defer s.redactErr(&err)
	if err := s.accessory(name); err != nil {
		return err
	}
	err = s.withLock(ctx, "accessory remove "+name, func() error {
		return s.onAccessory(ctx, name, "remove", func(ctx context.Context, h *hostConn) (string, error) {
			ctr := AccessoryName(s.app, name)
			if err := h.engine.Stop(ctx, ctr, s.app.stopTimeout(name)); errors.Is(err, engine.ErrNotFound) {
				return ctr + " (not booted)", nil
			} else if err != nil {
				return ctr, err
			}
			return ctr, h.engine.Remove(ctx, ctr, false)
		})
	})
	if vols := volumeNames(s.app.Accessories[name].Volumes); len(vols) > 0 {
		s.out.linef("kept the volumes %s: they can hold a database or its replication state; remove them by hand (docker volume rm) only once you are sure", strings.Join(vols, ", "))
	}
	return err
}

// volumeNames are the named volumes of "name:/path[:ro]" mounts, not
// the host paths.
func volumeNames(mounts []string) []string {
	var out []string
	for _, m := range mounts {
		name, _, _ := strings.Cut(m, ":")
		if !strings.HasPrefix(name, "/") && !strings.HasPrefix(name, ".") {
			out = append(out, name)
		}
	}
	return out
}

// AccessoryLogs writes accessory name's output from each of its hosts to
// w, as Logs does for roles (opts.Roles is set to the accessory).
func (s *Session) AccessoryLogs(ctx context.Context, name string, opts LogOptions, w io.Writer) (err error) {
	defer s.redactErr(&err)
	if err := s.accessory(name); err != nil {
		return err
	}
	opts.Roles = []string{name}
	return s.Logs(ctx, opts, w)
}

// AccessoryExecResult is the outcome of a command in an accessory's
// container on one host.
type AccessoryExecResult struct {
	Host     string
	ExitCode int
	// Err is set when the command could not run, or exited non-zero.
	Err error
}

// AccessoryExec runs cmd in accessory name's running container on each of
// its hosts, one host after another, writing its output to w with each
// line prefixed by host and accessory, secrets redacted.
func (s *Session) AccessoryExec(ctx context.Context, name string, cmd []string, w io.Writer) (_ []AccessoryExecResult, err error) {
	defer s.redactErr(&err)
	if err := s.accessory(name); err != nil {
		return nil, err
	}
	if len(cmd) == 0 {
		return nil, errors.New("accessory exec: no command")
	}
	if err := s.learnSecrets(ctx); err != nil {
		return nil, fmt.Errorf("accessory exec: %w", err)
	}
	sink := s.newLineSink(w)
	defer sink.Close()
	ctr := AccessoryName(s.app, name)
	var out []AccessoryExecResult
	for _, host := range s.app.accessoryHosts(name) {
		res := AccessoryExecResult{Host: host}
		r, err := s.hosts[host].engine.Exec(ctx, ctr, cmd, engine.ExecOptions{})
		prefix := linePrefix(host, name)
		for _, b := range [][]byte{r.Stdout, r.Stderr} {
			lw := sink.writer(prefix)
			io.Copy(lw, bytes.NewReader(b))
			lw.Close()
		}
		res.ExitCode = r.ExitCode
		switch {
		case err != nil:
			res.Err = fmt.Errorf("%s: exec in %s: %w", host, ctr, err)
		case r.ExitCode != 0:
			res.Err = fmt.Errorf("%s: %s exited %d", host, cmd[0], r.ExitCode)
		}
		s.redactErr(&res.Err)
		out = append(out, res)
	}
	return out, nil
}

// AccessoryDetails reads accessory name on each of its hosts: its
// container's state, image, restarts and the latest error it logged.
func (s *Session) AccessoryDetails(ctx context.Context, name string) (_ []AccessoryDetails, err error) {
	defer s.redactErr(&err)
	if err := s.accessory(name); err != nil {
		return nil, err
	}
	if err := s.learnSecrets(ctx); err != nil {
		return nil, fmt.Errorf("accessory details: %w", err)
	}
	hosts := s.app.accessoryHosts(name)
	per := make([][]AccessoryDetails, len(hosts))
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		all, err := s.hostAccessories(ctx, h)
		for _, ad := range all {
			if ad.Name == name {
				ad.Host = h.name
				per[i] = append(per[i], ad)
			}
		}
		return err
	})
	var out []AccessoryDetails
	for _, p := range per {
		out = append(out, p...)
	}
	return out, err
}
