package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/health"
)

// A handoff deploys a role that writes a Database with one writer at a
// time: where a start-first deploy would run the old and the new
// container side by side, each with its own replicator on one file and
// one replica, a handoff pauses the role's kamal-proxy service (requests
// wait instead of failing), stops the old container (its replicator
// syncs and lets go of the replica's lease), starts the new one, points
// the paused service at it once its health check passes (kamal-proxy
// lets health checks through while paused), and resumes. When the new
// container fails, the old one is started again, the service is pointed
// back at it and resumed: no request is dropped either way.

// Bounds of Proxy.MaxPause.
const (
	// DefaultMaxPause is how long a request may wait during a handoff
	// when Proxy.MaxPause is 0: room for the default deploy timeout and
	// the old release's restart should the new one fail.
	DefaultMaxPause = time.Minute
	// MaxPauseLimit is the longest Proxy.MaxPause allowed: a request
	// held longer than this is better refused than kept waiting.
	MaxPauseLimit = 5 * time.Minute
)

// resumeTimeout bounds a handoff's resume, which runs even when the
// deploy's context is cancelled: a service left paused refuses every
// request once its max pause has passed.
const resumeTimeout = 30 * time.Second

// maxPause returns MaxPause or its default.
func (px *Proxy) maxPause() time.Duration { return orDefault(px.MaxPause, DefaultMaxPause) }

// handoffSteps replaces old with start's container on start's host, one
// writer at a time.
func handoffSteps(a App, start Step, old []string) []Step {
	r := a.Roles[start.Role]
	at := func(kind StepKind) Step {
		return Step{Kind: kind, Host: start.Host, Role: start.Role, Container: start.Container, Old: old}
	}
	stop := at(StepHandoffStop)
	stop.Aside = start.Aside
	start.Kind, start.Old = StepHandoffStart, old
	if r.Proxy == nil {
		gate := at(StepHandoffGate)
		gate.Gate = r.Health
		return []Step{stop, start, gate}
	}
	px := proxyDeploy(a, start.Role, start.Container, start.Host)
	pause, deploy, resume := at(StepHandoffPause), at(StepHandoffProxy), at(StepHandoffResume)
	pause.Proxy, pause.MaxPause = px, r.Proxy.maxPause()
	deploy.Proxy, resume.Proxy = px, px
	return []Step{pause, stop, start, deploy, resume}
}

// handoff carries out one step of a handoff. Once the service is paused
// the host is between two releases, so each short step (pause, stop,
// start) runs to its end on a context of its own, bounded by the step's
// own timeout: cut short, an engine call may still finish on the host
// after the undo. A cancelled deploy is noticed when the step returns
// and undone like a failed one; the proxy step's health wait, which may
// last the deploy timeout, is undone at once (see handoffProxy). A step
// that fails undoes the handoff before it returns, so the host serves
// the old release again.
func (s *Session) handoff(ctx context.Context, h *hostConn, p Plan, st Step) error {
	e := h.engine
	bound := func(d time.Duration) (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), d)
	}
	var err error
	switch st.Kind {
	case StepHandoffPause:
		sctx, cancel := bound(orDefault(st.Proxy.DrainTimeout, DefaultDrainTimeout) + resumeTimeout)
		err = proxy.Pause(sctx, e, proxy.DefaultContainer, st.Proxy.Name, st.MaxPause, st.Proxy.DrainTimeout)
		cancel()
	case StepHandoffStop:
		stop := s.app.stopTimeout(st.Role)
		sctx, cancel := bound(time.Duration(len(st.Old))*stop + resumeTimeout)
		if st.Aside != "" { // a replacement: the old container gives up its name first
			s.noteBoot(Step{Host: st.Host, Role: st.Role, Container: st.Container, Aside: st.Aside}, bootMade)
			err = s.setAside(sctx, h, st)
		}
		for _, name := range st.Old {
			if err != nil {
				break
			}
			if err = e.Stop(sctx, name, stop); err != nil && !errors.Is(err, engine.ErrNotFound) {
				break
			}
			err = nil
		}
		cancel()
	case StepHandoffStart:
		sctx, cancel := bound(time.Minute)
		err = s.start(sctx, e, p, st)
		cancel()
	case StepHandoffProxy:
		return s.handoffProxy(ctx, h, st)
	case StepHandoffGate:
		sctx, cancel := bound(5 * time.Minute)
		err = s.handoffGate(sctx, h, st)
		cancel()
		if err != nil {
			return s.undoHandoff(ctx, h, st, s.failNew(ctx, h, st, err))
		}
	case StepHandoffResume:
		return resume(ctx, e, st.Proxy.Name)
	default:
		return fmt.Errorf("%v is not a handoff step", st.Kind)
	}
	if err == nil && interrupted(ctx) {
		if st.Kind == StepHandoffStart || st.Kind == StepHandoffGate {
			s.dropNew(ctx, h, st)
		}
		err = fmt.Errorf("cancelled: %w", ctx.Err())
	}
	if err != nil {
		return s.undoHandoff(ctx, h, st, err)
	}
	return nil
}

// handoffProxy points the paused service at the new container once it is
// healthy. It first waits for the container's health check itself,
// through the host, with the proxy's check and deploy timeout: that wait
// can be cut short at any moment, as a kamal-proxy deploy cannot (one
// still running inside kamal-proxy after an undo could switch to a
// container that is gone, or to another that took its address). Only a
// healthy container is handed to kamal-proxy, whose own check then
// passes at once; that deploy is waited out, even when interrupted,
// before the handoff is undone.
func (s *Session) handoffProxy(ctx context.Context, h *hostConn, st Step) error {
	px := s.app.Roles[st.Role].Proxy
	gate := px.Health
	gate.Deadline = st.Proxy.DeployTimeout
	target := health.Container(s.healthHost(h, s.app.network()), st.Container, px.appPort())
	if _, err := health.Wait(ctx, gate, target); err != nil {
		if interrupted(ctx) {
			s.dropNew(ctx, h, st)
			return s.undoHandoff(ctx, h, st, fmt.Errorf("cancelled: %w", ctx.Err()))
		}
		return s.undoHandoff(ctx, h, st, s.failNew(ctx, h, st, err))
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), st.Proxy.DeployTimeout+resumeTimeout)
	defer cancel()
	if err := s.writeProxyCert(dctx, h.engine, st.Role, *st.Proxy); err != nil {
		return err
	}
	if err := proxy.Deploy(dctx, h.engine, proxy.DefaultContainer, *st.Proxy); err != nil {
		return s.undoHandoff(ctx, h, st, s.failNew(ctx, h, st, err))
	}
	if interrupted(ctx) {
		s.dropNew(ctx, h, st)
		return s.undoHandoff(ctx, h, st, fmt.Errorf("cancelled: %w", ctx.Err()))
	}
	return nil
}

// dropNew takes away the new container of a handoff cut short: stopped
// first, so that its replicator syncs and releases the lease the old
// container is about to take back, then removed; a retained one is only
// stopped, so it stays retained.
func (s *Session) dropNew(ctx context.Context, h *hostConn, st Step) {
	bg := context.WithoutCancel(ctx)
	h.engine.Stop(bg, st.Container, s.app.stopTimeout(st.Role))
	if !st.Reuse {
		h.engine.Remove(bg, st.Container, true)
	}
}

// failNew explains a new container that did not become healthy, while
// it still runs, and then takes it away (see dropNew) before the old one
// starts again: the handoff cannot leave that to the cleanup after the
// batch, as two writers would run in between.
func (s *Session) failNew(ctx context.Context, h *hostConn, st Step, cause error) error {
	err := s.failBoot(ctx, h, st, cause)
	s.dropNew(ctx, h, st)
	return err
}

// handoffGate waits for the new container of a role without a proxy to
// pass the role's gate (or, without one, to keep running for the settle
// time), leaving it in place either way.
func (s *Session) handoffGate(ctx context.Context, h *hostConn, st Step) error {
	if st.Gate == nil {
		return settle(ctx, h.engine, st.Container)
	}
	target := health.Container(s.healthHost(h, s.app.network()), st.Container, 0)
	_, err := health.Wait(ctx, st.Gate, target)
	return err
}

// undoHandoff returns the host to the old release after step st failed
// with cause: the new container is gone by now, so start the old ones
// again, point the service back at the newest once it is healthy, and
// resume, with a context of its own so a cancelled deploy is undone too.
func (s *Session) undoHandoff(ctx context.Context, h *hostConn, st Step, cause error) error {
	px := s.app.Roles[st.Role].Proxy
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.undoTimeout(st.Role))
	defer cancel()
	var undone, problems []string
	if st.Kind != StepHandoffPause {
		for _, name := range st.Old {
			if err := h.engine.Start(bg, name); err != nil {
				problems = append(problems, err.Error())
				continue
			}
			undone = append(undone, name+" started again")
		}
	}
	if px != nil {
		service := ProxyService(s.app, st.Role)
		if st.Kind != StepHandoffPause && len(st.Old) > 0 {
			back := proxyDeploy(s.app, st.Role, st.Old[0], st.Host)
			if err := proxy.Deploy(bg, h.engine, proxy.DefaultContainer, *back); err != nil {
				problems = append(problems, err.Error())
			} else {
				undone = append(undone, service+" points at "+st.Old[0]+" again")
			}
		}
		if err := resume(bg, h.engine, service); err != nil {
			problems = append(problems, err.Error())
		} else {
			undone = append(undone, service+" resumed: the requests it held went on")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w\nthe handoff on %s could not be fully undone (%s): %s", cause, st.Host,
			strings.Join(undone, "; "), strings.Join(problems, "; "))
	}
	if len(undone) == 0 {
		return fmt.Errorf("%w\nthe handoff on %s changed nothing", cause, st.Host)
	}
	return fmt.Errorf("%w\nthe handoff on %s was undone: %s", cause, st.Host, strings.Join(undone, "; "))
}

// resume resumes service, retrying within resumeTimeout whatever ctx says.
func resume(ctx context.Context, e proxy.Execer, service string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resumeTimeout)
	defer cancel()
	for {
		err := proxy.Resume(ctx, e, proxy.DefaultContainer, service)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; the service stays paused and refuses requests once they have waited its max pause: run `kamal-proxy resume %s` in the %s container", err, service, proxy.DefaultContainer)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// handoffBudget is a handoff step's deadline (see stepBudget): what the
// step waits for on purpose and, but for the resume, the undo that may
// follow it, plus call.
func (s *Session) handoffBudget(st Step, call time.Duration) time.Duration {
	if st.Kind == StepHandoffResume {
		return resumeTimeout + call
	}
	budget := s.undoTimeout(st.Role) + call
	stop := s.app.stopTimeout(st.Role)
	switch st.Kind {
	case StepHandoffPause:
		budget += orDefault(st.Proxy.DrainTimeout, DefaultDrainTimeout)
	case StepHandoffStop:
		budget += time.Duration(len(st.Old)) * stop
	case StepHandoffStart:
		budget += time.Minute
	case StepHandoffProxy:
		budget += orDefault(st.Proxy.DeployTimeout, DefaultDeployTimeout) + stop
	case StepHandoffGate:
		wait := settleTime
		if st.Gate != nil {
			wait = st.Gate.Policy().Deadline
		}
		budget += wait + stop
	}
	return budget
}

// undoTimeout bounds undoHandoff: the old containers start, kamal-proxy
// points back at them once healthy, and the service resumes.
func (s *Session) undoTimeout(role string) time.Duration {
	deploy := DefaultDeployTimeout
	if px := s.app.Roles[role].Proxy; px != nil {
		deploy = orDefault(px.DeployTimeout, DefaultDeployTimeout)
	}
	return s.app.stopTimeout(role) + deploy + resumeTimeout
}

// handoffDetail is a handoff step's detail in the output line.
func handoffDetail(st Step) (string, bool) {
	switch st.Kind {
	case StepHandoffPause, StepHandoffResume:
		return st.Proxy.Name, true
	case StepHandoffStop:
		return strings.Join(st.Old, ", "), true
	case StepHandoffProxy:
		return st.Proxy.Name + " -> " + st.Proxy.Target, true
	}
	return "", false
}

// describeHandoff says what a handoff step does, for the plan print.
func (st Step) describeHandoff() string {
	switch st.Kind {
	case StepHandoffPause:
		return fmt.Sprintf("pause %s: requests wait, each up to %s, while the writer changes (drain %s)",
			st.Proxy.Name, st.MaxPause, dur(st.Proxy.DrainTimeout))
	case StepHandoffStop:
		return "stop " + strings.Join(st.Old, ", ") + ": one writer at a time, its replicator syncs and lets go"
	case StepHandoffStart:
		inner := st
		inner.Kind = StepStart
		return inner.describe()
	case StepHandoffProxy:
		inner := st
		inner.Kind = StepProxyDeploy
		return inner.describe() + " (health checks pass while paused)"
	case StepHandoffGate:
		inner := st
		inner.Kind = StepGate
		return inner.describe()
	case StepHandoffResume:
		return "resume " + st.Proxy.Name + ": the held requests go on to " + st.Container
	}
	return st.Kind.String()
}

// handoff checks the proxy fields a handoff reads: requests must be able
// to wait out the new container's gate.
func (v *validator) handoff(a App) {
	for _, role := range sortedKeys(a.Roles) {
		px := a.Roles[role].Proxy
		if px == nil {
			continue
		}
		f := keyPath("roles", role) + ".proxy.maxPause"
		switch {
		case px.MaxPause < 0:
			v.addf(f, "must not be negative; 0 means %s, got %s", DefaultMaxPause, px.MaxPause)
		case px.MaxPause > MaxPauseLimit:
			v.addf(f, "must be at most %s, got %s: a request held that long is better refused", MaxPauseLimit, px.MaxPause)
		case a.handoffRole(role) && px.maxPause() <= orDefault(px.DeployTimeout, DefaultDeployTimeout):
			v.addf(f, "must exceed deployTimeout (%s), got %s: the role writes a database and deploys by handoff, and the requests it holds would be refused before the new container's gate decides",
				orDefault(px.DeployTimeout, DefaultDeployTimeout), px.maxPause())
		}
	}
}
