package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/health"
)

// settleTime is how long a container of a role without a gate must keep
// running before it counts as booted.
const settleTime = time.Second

// Report is what applying a plan did, step by step.
type Report struct {
	Plan     Plan
	Steps    []StepResult
	Duration time.Duration
}

// StepResult is one applied step.
type StepResult struct {
	Step     Step
	Start    time.Time
	Duration time.Duration
	Err      error
}

// Deploy takes the lock, observes every host, plans the release and
// applies the plan, then releases the lock. Secrets are resolved first,
// so a missing one stops the deploy before any host is touched, and
// every host's engine is checked against engine.MinimumVersion. A lock
// that cannot be released at the end (its host stayed unreachable) is
// reported in the error as a *StaleLockError with its holder and age.
// When every host already runs r, Deploy says "nothing to deploy" and
// returns a Report of the empty plan (see ErrNothingToDeploy), no error.
func (s *Session) Deploy(ctx context.Context, r Release) (_ *Report, err error) {
	defer s.redactErr(&err)
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.resolveSecrets(ctx); err != nil {
		return nil, err
	}
	if err := s.checkCertificates(); err != nil {
		return nil, err
	}
	if err := s.checkAndLock(ctx, r.Version); err != nil {
		return nil, err
	}
	defer s.watchCancel(ctx)()
	defer func() { err = s.releaseAfter(ctx, err) }()
	start := time.Now()
	state, err := s.observe(ctx, false, r.Version)
	if err != nil {
		return nil, err
	}
	if r.Secrets, err = s.Digests(ctx); err != nil {
		return nil, err
	}
	plan, err := NewPlan(s.app, r, state)
	if errors.Is(err, ErrNothingToDeploy) {
		s.out.linef("nothing to deploy: every host already runs %s %s", plan.Service, plan.Version)
		s.noteDrifted(plan)
		s.auditNothing(ctx, plan, "nothing-to-deploy", start)
		return &Report{Plan: plan}, nil
	}
	if err != nil {
		return nil, err
	}
	return s.Apply(ctx, plan)
}

// Rollback returns every host to version, a release still retained on
// each of them, through the same health-gated path as a deploy. When
// every host already runs version, it says "nothing to roll back" and
// succeeds, as Deploy does.
func (s *Session) Rollback(ctx context.Context, version string) (_ *Report, err error) {
	defer s.redactErr(&err)
	r := Release{Version: version}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.resolveSecrets(ctx); err != nil {
		return nil, err
	}
	if err := s.checkCertificates(); err != nil {
		return nil, err
	}
	if err := s.checkAndLock(ctx, version); err != nil {
		return nil, err
	}
	defer s.watchCancel(ctx)()
	defer func() { err = s.releaseAfter(ctx, err) }()
	start := time.Now()
	state, err := s.observe(ctx, false, version)
	if err != nil {
		return nil, err
	}
	if err := retainedEverywhere(s.app, state, version); err != nil {
		return nil, err
	}
	if r.Secrets, err = s.Digests(ctx); err != nil {
		return nil, err
	}
	plan, err := NewPlan(s.app, r, state)
	plan.Rollback = true
	if errors.Is(err, ErrNothingToDeploy) {
		s.out.linef("nothing to roll back: every host already runs %s %s", plan.Service, plan.Version)
		s.auditNothing(ctx, plan, "nothing-to-roll-back", start)
		return &Report{Plan: plan}, nil
	}
	if err != nil {
		return nil, err
	}
	return s.Apply(ctx, plan)
}

// retainedEverywhere checks that every host of every role still has the
// version's container, naming the versions each lacking host does have.
func retainedEverywhere(a App, state State, version string) error {
	var missing []string
	for _, role := range a.roleNames() {
		name := ContainerName(a, role, version)
		for _, srv := range a.Roles[role].Servers {
			if _, ok := state.container(srv.Host, name); ok {
				continue
			}
			var have []string
			for _, c := range state.Containers(a, srv.Host, role) {
				have = append(have, c.Version)
			}
			if len(have) == 0 {
				have = []string{"none"}
			}
			missing = append(missing, fmt.Sprintf("%s (%s) retains %s", srv.Host, role, strings.Join(have, ", ")))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("cannot roll back to %s: it is not retained on every host: %s", version, strings.Join(missing, "; "))
	}
	return nil
}

// Apply runs a plan: Prepare on every host, then Migrate, then each batch
// (its hosts at once, each host's steps in order), then Finish. It stops
// at the first failing phase and says where things stand.
//
// Every step has a deadline (see Options.CallTimeout). When a step fails,
// times out or is interrupted (ctx cancelled), Apply cleans up on the
// hosts whose steps failed before it returns: it reads what kamal-proxy
// routes to, then removes the containers this deploy made that nothing
// routes to, stops again the retained ones it started and leaves alone
// those that ran before, so every host keeps serving a release. A host
// whose connection was lost is dialled again for that (with backoff,
// Options.ReconnectWindow), and the audit lines are written last. After
// a cancellation all of it fits in Options.CleanupTimeout, and whatever
// could not be done is said in the error.
func (s *Session) Apply(ctx context.Context, p Plan) (_ *Report, err error) {
	defer s.redactErr(&err)
	start := time.Now()
	if _, err := s.resolveSecrets(ctx); err != nil {
		return nil, err
	}
	if err := s.checkCertificates(); err != nil {
		return nil, err
	}
	for _, h := range p.Hosts() {
		if _, ok := s.hosts[h]; !ok {
			return nil, fmt.Errorf("plan names host %s, which this session is not connected to", h)
		}
	}
	rep := &Report{Plan: p}
	verb := "Deploy"
	if p.Rollback {
		verb = "Roll back"
	}
	s.out.linef("%s %s", verb, p.Summary())
	s.noteDrifted(p)
	audit := &auditLog{}
	summarised := false // the summary table is printed once, at the end
	s.mu.Lock()
	s.boots = map[string]*boot{}
	s.mu.Unlock()
	defer s.watchCancel(ctx)()
	defer func() {
		if err != nil {
			err = s.afterFailure(ctx, p, rep, audit, err)
			if !summarised { // after the cleanup's lines: the table ends the output, before the failures
				s.summary(rep)
			}
		}
		cctx, cancel := s.cleanupCtx(ctx, s.opts.cleanupTimeout()/4)
		defer cancel()
		if err != nil { // a connection the failure may have cost is dialled again
			if lost := s.reachAll(cctx, audit.hosts()); len(lost) > 0 {
				err = errors.Join(err, fmt.Errorf("audit lines not written: %s", strings.Join(lost, "; ")))
			}
		}
		s.writeAudit(cctx, audit)
		rep.Duration = time.Since(start)
	}()

	if h := s.app.Hooks.PreDeploy; h != nil {
		if err := h(ctx, s.hookContext(p.Version, p.Hosts())); err != nil {
			return rep, fmt.Errorf("pre-deploy hook: %w; no host was changed", err)
		}
	}
	prepare, err := s.buildAndDeliver(ctx, p, rep, audit)
	if err != nil {
		return rep, fmt.Errorf("image: %w\nno container was touched; every host still runs what it ran", err)
	}
	if err := s.run(ctx, p, rep, audit, prepare); err != nil {
		return rep, fmt.Errorf("prepare: %w\nno release container was started; every host still runs what it ran", err)
	}
	if p.Migrate != nil {
		if err := s.run(ctx, p, rep, audit, []Step{*p.Migrate}); err != nil {
			return rep, fmt.Errorf("migrate: %w\nno traffic moved; every host still runs what it ran", err)
		}
	}
	for i, b := range p.Batches {
		if p.WaitsBefore(i) { // none next to a batch that already runs the release
			s.out.linef("waiting %s before batch %d", p.Wait, i+1)
			select {
			case <-ctx.Done():
				return rep, ctx.Err()
			case <-time.After(p.Wait):
			}
		}
		if h := s.app.Hooks.PreAppBoot; h != nil {
			if err := h(ctx, s.hookContext(p.Version, b.Hosts)); err != nil {
				return rep, fmt.Errorf("pre-app-boot hook for batch %d: %w", i+1, err)
			}
		}
		err := s.runBatch(ctx, p, rep, audit, b.Steps)
		if err != nil {
			err = s.drainFailed(ctx, p, rep, audit, err) // before the cleanup: the balancer sends only to hosts that passed
			return rep, fmt.Errorf("batch %d of %d (%s): %w\n%s", i+1, len(p.Batches), strings.Join(b.Hosts, ", "), err, s.standing(p, i))
		}
		s.writeAudit(ctx, audit) // one append per host and batch: the log keeps up with the deploy
		if h := s.app.Hooks.PostAppBoot; h != nil {
			if err := h(ctx, s.hookContext(p.Version, b.Hosts)); err != nil {
				return rep, fmt.Errorf("post-app-boot hook for batch %d: %w", i+1, err)
			}
		}
	}
	balance, finish := splitBalancer(p.Finish)
	if err := s.run(ctx, p, rep, audit, balance); err != nil {
		return rep, fmt.Errorf("balancer: %w\nevery web host runs %s; the balancer keeps the targets it had", err, p.Version)
	}
	if err := s.run(ctx, p, rep, audit, finish); err != nil {
		return rep, fmt.Errorf("prune after a successful deploy: %w", err)
	}
	if h := s.app.Hooks.PostDeploy; h != nil {
		if err := h(ctx, s.hookContext(p.Version, p.Hosts())); err != nil {
			return rep, fmt.Errorf("post-deploy hook: %w", err)
		}
	}
	accessories := s.accessoryHealth(ctx, rep)
	s.summary(rep, accessories...)
	summarised = true
	if err := s.failingAccessories(accessories); err != nil {
		return rep, fmt.Errorf("%s %s is live, but: %w", p.Service, p.Version, err)
	}
	s.out.linef("%s %s %s: done in %s", verb, p.Service, p.Version, seconds(time.Since(start)))
	return rep, nil
}

// afterFailure cleans up after a failed Apply (see Apply) on the hosts
// whose steps failed, and adds to err what it could not put back.
func (s *Session) afterFailure(ctx context.Context, p Plan, rep *Report, audit *auditLog, err error) error {
	hosts := failedHosts(rep.Steps)
	if len(hosts) == 0 {
		return err
	}
	cctx, cancel := s.cleanupCtx(ctx, s.opts.cleanupTimeout()/2)
	defer cancel()
	notes := s.settle(cctx, p, audit, hosts)
	if len(notes) == 0 {
		return err
	}
	return fmt.Errorf("%w%s", err, notesText("cleanup left", notes))
}

// writeAudit appends the gathered audit lines to each host's log, all
// hosts at once. A host whose log cannot be written is reported in the
// output; the deploy itself stands.
func (s *Session) writeAudit(ctx context.Context, audit *auditLog) {
	hosts := s.app.HostNames()
	fanOut(s.opts.parallel(), len(hosts), func(i int) error {
		if err := s.flushAudit(ctx, audit, hosts[i]); err != nil {
			s.out.linef("%-15s warning: %v", hosts[i], err)
		}
		return nil
	})
}

// standing says where a failed deploy leaves the hosts.
func (s *Session) standing(p Plan, failed int) string {
	var done []string
	for _, b := range p.Batches[:failed] {
		done = append(done, b.Hosts...)
	}
	msg := "hosts in the failed batch whose step failed keep their previous release"
	if len(done) > 0 {
		msg += fmt.Sprintf("; %s already run %s (roll back to undo)", strings.Join(done, ", "), p.Version)
	}
	if failed+1 < len(p.Batches) {
		msg += "; later batches were not touched"
	}
	return msg
}

// run applies steps: hosts at once, each host's steps in order, stopping
// a host at its first failure. Each step's audit line is gathered in
// audit, which Apply writes out after each batch.
func (s *Session) run(ctx context.Context, p Plan, rep *Report, audit *auditLog, steps []Step) error {
	byHost := map[string][]Step{}
	var order []string
	for _, st := range steps {
		if _, ok := byHost[st.Host]; !ok {
			order = append(order, st.Host)
		}
		byHost[st.Host] = append(byHost[st.Host], st)
	}
	var mu sync.Mutex // guards rep.Steps
	return fanOutHosts(s.opts.parallel(), order, func(i int) error {
		host := order[i]
		for _, st := range byHost[host] {
			start := time.Now()
			err := s.step(ctx, p, st)
			s.redactErr(&err) // Report.Steps hands it out too
			res := StepResult{Step: st, Start: start, Duration: time.Since(start), Err: err}
			s.record(audit, stepLine{host: host, role: st.Role, step: st.Kind.String(), version: p.Version,
				container: st.Container, detail: describe(st), start: start, err: err})
			mu.Lock()
			rep.Steps = append(rep.Steps, res)
			mu.Unlock()
			if err != nil {
				return fmt.Errorf("%s: %w", st.Kind, err)
			}
		}
		return nil
	})
}

// step applies one step within its deadline (see stepBudget), noting
// when a kamal-proxy deploy of it begins and whether it surely ended.
func (s *Session) step(ctx context.Context, p Plan, st Step) error {
	if s.beforeStep != nil {
		s.beforeStep(st)
	}
	if st.Kind == StepProxyDeploy {
		s.noteSwitch(st, time.Now(), false)
	}
	what := st.Kind.String()
	if d := describe(st); d != "" {
		what += " " + d
	}
	var cut bool
	err := s.call(ctx, st.Host, what, s.stepBudget(st), func(ctx context.Context) error {
		err := s.apply(ctx, p, st)
		cut = ctx.Err() != nil
		return err
	})
	if st.Kind == StepProxyDeploy && !cut && (err == nil || s.hosts[st.Host].ssh.Alive()) {
		s.noteSwitch(st, time.Time{}, true) // kamal-proxy answered: its deploy is over
	}
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// describe is a step's detail in the output line.
func describe(st Step) string {
	if d, ok := handoffDetail(st); ok {
		return d
	}
	switch st.Kind {
	case StepEnsureNetwork:
		return st.Container
	case StepBootProxy, StepEnsureImage, StepBuildImage, StepDeliverImage:
		return st.Image
	case StepRebootProxy:
		return st.Image + " (" + strings.Join(st.Reasons, ", ") + ")"
	case StepProxyDeploy:
		return st.Proxy.Name + " -> " + st.Proxy.Target
	case StepBalancerDeploy:
		return st.Proxy.Name + " -> " + strings.Join(st.Proxy.Targets, ",")
	case StepStopOld, StepPrune:
		return strings.Join(st.Old, ", ")
	case StepRebootAccessory:
		return st.Container + " (" + strings.Join(st.Reasons, ", ") + ")"
	}
	return st.Container
}

// apply carries out one step on its host.
func (s *Session) apply(ctx context.Context, p Plan, st Step) error {
	h := s.hosts[st.Host]
	e := h.engine
	switch st.Kind {
	case StepEnsureNetwork:
		return e.NetworkEnsure(ctx, st.Container, map[string]string{"slipway.network": "true"})
	case StepBootProxy:
		return s.bootProxy(ctx, e, st)
	case StepEnsureImage:
		if _, err := e.ImageInspect(ctx, st.Image); err != nil {
			if errors.Is(err, engine.ErrNotFound) {
				return fmt.Errorf("image %s is not on %s: build or load it there first", st.Image, st.Host)
			}
			return err
		}
		return nil
	case StepMigrate:
		return s.migrate(ctx, e, p, st)
	case StepStart:
		return s.start(ctx, e, p, st)
	case StepRebootProxy:
		return s.applyRebootProxy(ctx, h, st)
	case StepProxyDeploy:
		svc := *st.Proxy
		if st.Aside != "" { // a replacement: switched to by its ID (see roleSteps)
			c, err := e.Inspect(ctx, st.Container)
			if err != nil {
				return s.failBoot(ctx, h, st, err)
			}
			svc.Target = byID(c.ID, svc.Target)
		}
		if err := s.writeProxyCert(ctx, e, st.Role, svc); err != nil {
			return err
		}
		if err := proxy.Deploy(ctx, e, proxy.DefaultContainer, svc); err != nil {
			return s.failBoot(ctx, h, st, err)
		}
		return nil
	case StepGate:
		return s.gate(ctx, h, st)
	case StepStopOld:
		for _, name := range st.Old {
			if err := e.Stop(ctx, name, s.app.stopTimeout(st.Role)); err != nil && !errors.Is(err, engine.ErrNotFound) {
				return err
			}
		}
		return nil
	case StepBootAccessory:
		return s.bootAccessory(ctx, e, st)
	case StepRebootAccessory:
		return s.rebootAccessory(ctx, e, st)
	case StepHandoffPause, StepHandoffStop, StepHandoffStart, StepHandoffProxy, StepHandoffGate, StepHandoffResume:
		return s.handoff(ctx, h, p, st)
	case StepBalancerDeploy:
		return s.balance(ctx, e, st)
	case StepPrune:
		for _, name := range st.Old {
			if err := e.Remove(ctx, name, false); err != nil && !errors.Is(err, engine.ErrNotFound) {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown step kind %v", st.Kind)
}

// bootProxy starts the host's kamal-proxy: the stopped one when it is
// the one the App describes, else a new one (a stopped proxy that
// differs is removed first: its routes are in proxy.ConfigVolume, not in
// it).
func (s *Session) bootProxy(ctx context.Context, e *engine.Engine, st Step) error {
	b, _ := proxyBoot(s.app, st.Host)
	c, err := e.Inspect(ctx, proxy.DefaultContainer)
	switch {
	case err == nil && c.Running():
		return nil
	case err == nil && len(proxyDrift(b, &ProxyState{Image: c.Image, Fingerprint: ParseFingerprint(c.Labels[LabelFingerprint])})) == 0:
		if err := e.Start(ctx, proxy.DefaultContainer); err != nil {
			return err
		}
		_, err := waitProxy(ctx, e)
		return err
	case err == nil:
		if err := e.Remove(ctx, proxy.DefaultContainer, true); err != nil {
			return err
		}
	case !errors.Is(err, engine.ErrNotFound):
		return err
	}
	if err := ensureProxyImage(ctx, e, st.Host, b.Spec().Image); err != nil {
		return err
	}
	if err := e.VolumeEnsure(ctx, proxy.ConfigVolume, nil); err != nil {
		return err
	}
	return s.createProxy(ctx, e, b.Spec())
}

// containerSpec is the engine's view of a step's container, secrets
// included: specOf's, with the secrets' values added to its env and the
// step's Fingerprint as its LabelFingerprint.
func (s *Session) containerSpec(p Plan, st Step) engine.ContainerSpec {
	spec := specOf(s.app, p.Version, st)
	secrets := s.secretsOrNil()
	for _, k := range st.Secrets {
		spec.Env = append(spec.Env, k+"="+secrets[k])
	}
	if st.Fingerprint != nil {
		spec.Labels[LabelFingerprint] = st.Fingerprint.Label()
	}
	return spec
}

// specOf is the engine's view of a step's container without any secret
// value. It is pure: the planner hashes it into the step's Fingerprint
// (see fingerprintOf) and the executor creates the container from it, so
// a field added here is both applied and compared.
func specOf(a App, version string, st Step) engine.ContainerSpec {
	r := a.Roles[st.Role]
	env := make([]string, 0, len(st.Env)+2+len(st.Secrets))
	for _, k := range sortedKeys(st.Env) {
		env = append(env, k+"="+st.Env[k])
	}
	// Like Kamal's KAMAL_VERSION: the app can report what it runs.
	env = append(env, envVersion+"="+version, envContainer+"="+st.Container)
	logging := a.logging(st.Role) // a role's, or an accessory's
	return engine.ContainerSpec{
		Name:        st.Container,
		Image:       st.Image,
		Cmd:         st.Cmd,
		Env:         env,
		Labels:      a.labelsFor(st.Role, version),
		Network:     a.network(),
		Volumes:     a.Volumes,
		Restart:     orDefault(r.Options.Restart, "unless-stopped"),
		User:        r.Options.User,
		Memory:      r.Options.Memory,
		CPUs:        r.Options.CPUs,
		ExtraHosts:  r.Options.ExtraHosts,
		Init:        r.Options.Init,
		LogDriver:   logging.Driver,
		LogOptions:  logging.Options,
		StopTimeout: a.stopTimeout(st.Role),
	}
}

// start creates and starts the step's container, or starts a retained
// one, recording what it found so that a failed deploy puts the
// container back as it was (see settle).
func (s *Session) start(ctx context.Context, e *engine.Engine, p Plan, st Step) error {
	if st.Reuse {
		c, err := e.Inspect(ctx, st.Container)
		if err != nil {
			return err
		}
		if c.Running() {
			s.noteBoot(st, bootWasRunning)
			return nil
		}
		s.noteBoot(st, bootRestarted)
		return e.Start(ctx, st.Container)
	}
	s.noteBoot(st, bootMade) // before Create: an interrupted create may still make it
	if st.Aside != "" {
		if err := s.setAside(ctx, s.hosts[st.Host], st); err != nil {
			return err
		}
	}
	id, err := e.Create(ctx, s.containerSpec(p, st))
	if err != nil {
		return err
	}
	s.noteMade(st, id)
	return e.Start(ctx, st.Container)
}

// failBoot explains a container that did not become healthy. Putting it
// back is left to the cleanup after the batch (see settle), which knows
// whether this deploy made it, started it from retained, or found it
// running, and what kamal-proxy routes to. Only a container that really
// failed is diagnosed and reported as a *BootError (ErrGateFailed): an
// interrupted step, one past its deadline or one whose connection was
// lost returns its cause, and the time after Ctrl-C belongs to the
// cleanup.
func (s *Session) failBoot(ctx context.Context, h *hostConn, st Step, cause error) error {
	switch {
	case ctx.Err() != nil: // interrupted, or past the step's deadline: no gate failed
		return cause
	case !h.ssh.Alive():
		return fmt.Errorf("lost the connection to %s: %w", h.name, cause)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(health.DiagnoseTimeout, s.opts.callTimeout()))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		if interrupted(ctx) {
			cancel()
		}
	})
	defer stop()
	d := s.diagnose(dctx, h, st.Container)
	return &BootError{Host: st.Host, Container: st.Container, Err: cause, Diagnostics: d}
}

// ErrGateFailed means a new container did not pass its health gate; the
// previous one kept serving.
var ErrGateFailed = errors.New("health gate failed")

// BootError is a release container that did not become healthy on a
// host, with what explains it: the container's state and last log lines.
type BootError struct {
	Host        string
	Container   string
	Err         error // kamal-proxy's or the gate's own words
	Diagnostics health.Diagnostics
}

// Error reports the container, the cause and the diagnostics, on one screen.
func (e *BootError) Error() string {
	return fmt.Sprintf("%s did not become healthy, the previous container keeps serving: %v\n%s", e.Container, e.Err, e.Diagnostics)
}

// Unwrap returns the cause; errors.Is(err, ErrGateFailed) holds too.
func (e *BootError) Unwrap() []error { return []error{ErrGateFailed, e.Err} }

func (s *Session) gate(ctx context.Context, h *hostConn, st Step) error {
	if st.Gate == nil {
		if err := settle(ctx, h.engine, st.Container); err != nil {
			return s.failBoot(ctx, h, st, err)
		}
		return nil
	}
	target := health.Container(s.healthHost(h, s.app.network()),
		st.Container, 0)
	if _, err := health.Wait(ctx, st.Gate, target); err != nil {
		return s.failBoot(ctx, h, st, err)
	}
	return nil
}

// migrate runs the migration to its end in a one-off container and
// removes it; a non-zero exit fails the deploy with its last lines.
func (s *Session) migrate(ctx context.Context, e *engine.Engine, p Plan, st Step) error {
	ctx, cancel := context.WithTimeout(ctx, orDefault(s.app.Migrate.Timeout, DefaultMigrateTimeout))
	defer cancel()
	spec := s.containerSpec(p, st)
	spec.Labels = map[string]string{LabelMigrate: s.app.Service, LabelVersion: p.Version}
	if s.app.Destination != "" {
		spec.Labels[LabelDestination] = s.app.Destination
	}
	spec.Restart = "no"
	e.Remove(ctx, spec.Name, true) // a leftover from an interrupted deploy
	if _, err := e.Create(ctx, spec); err != nil {
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.callTimeout())
		defer cancel()
		e.Remove(rctx, spec.Name, true)
	}()
	if err := e.Start(ctx, spec.Name); err != nil {
		return err
	}
	c, err := waitExit(ctx, e, spec.Name)
	lines, _ := e.Tail(context.WithoutCancel(ctx), spec.Name, 20)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s did not finish: %w; its last lines:\n%s", quoteArgs(st.Cmd), ctx.Err(), indent(strings.Join(lines, "\n"), "  "))
	case err != nil:
		return err
	case c.ExitCode != 0:
		return fmt.Errorf("%s exited %d:\n%s", quoteArgs(st.Cmd), c.ExitCode, indent(strings.Join(lines, "\n"), "  "))
	}
	return nil
}

// summary prints one row per host and role: the version it now runs;
// and one per host and accessory the deploy touched or health read:
// its own image's tag, and whether it is failing.
func (s *Session) summary(rep *Report, health ...AccessoryDetails) {
	type key struct{ host, role string }
	type row struct {
		ok       bool
		switched bool // its proxy-deploy or gate passed: the host serves the release
		dur      time.Duration
		health   string // for an accessory: "", or why it is failing
	}
	rows := map[key]*row{}
	var keys []key
	add := func(k key) *row {
		rw, ok := rows[k]
		if !ok {
			rw = &row{ok: true}
			rows[k] = rw
			keys = append(keys, k)
		}
		return rw
	}
	for _, r := range rep.Steps {
		if r.Step.Role == "" || r.Step.Host == "" || r.Step.Kind == StepMigrate || r.Step.Kind == StepPrune || r.Step.Kind == StepBalancerDeploy {
			continue // a build on this machine has a line of its own
		}
		rw := add(key{r.Step.Host, r.Step.Role})
		rw.dur += r.Duration
		rw.ok = rw.ok && r.Err == nil
		if (r.Step.Kind == StepProxyDeploy || r.Step.Kind == StepGate) && r.Err == nil {
			rw.switched = true
		}
	}
	for _, ad := range health {
		add(key{ad.Host, ad.Name}).health = ad.problem()
	}
	if len(keys) == 0 {
		return
	}
	order := rep.Plan.Hosts()
	sort.Slice(keys, func(i, j int) bool {
		hi, hj := slices.Index(order, keys[i].host), slices.Index(order, keys[j].host)
		if hi != hj {
			return hi < hj
		}
		return keys[i].role < keys[j].role
	})
	table := [][]string{{"HOST", "ROLE", "VERSION", "RESULT", "TIME"}}
	for _, k := range keys {
		rw := rows[k]
		result, version := "ok", rep.Plan.Version
		acc, isAccessory := s.app.Accessories[k.role]
		if isAccessory {
			version = acc.Image
			if _, tag, ok := splitTag(acc.Image); ok {
				version = tag
			}
		}
		if !rw.ok {
			result = "FAILED"
			if !rw.switched && !isAccessory {
				version = "(previous)"
			}
		}
		if rw.health != "" {
			result = "FAILING"
		}
		row := []string{k.host, k.role, version, result, seconds(rw.dur)}
		if rw.health != "" {
			row = append(row, " "+rw.health) // two spaces after the time, as the step lines' result
		}
		table = append(table, row)
	}
	s.out.table([]int{15, 8, 12, 8}, table...)
}

// startIfPresent starts the named container when it exists and is
// stopped; found is false only when there is no such container, for the
// caller to create it.
func startIfPresent(ctx context.Context, e *engine.Engine, name string) (found bool, err error) {
	c, err := e.Inspect(ctx, name)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		return false, nil
	case err != nil:
		return true, err
	case c.Running():
		return true, nil
	}
	return true, e.Start(ctx, name)
}

// bootAccessory starts an accessory container, creating it when missing.
func (s *Session) bootAccessory(ctx context.Context, e *engine.Engine, st Step) error {
	if found, err := startIfPresent(ctx, e, st.Container); found || err != nil {
		return err
	}
	if err := s.createAccessory(ctx, e, st); err != nil {
		return err
	}
	return e.Start(ctx, st.Container)
}

// createAccessory creates the step's accessory container, its volumes
// and files, labelled with the step's fingerprint; it does not start it.
func (s *Session) createAccessory(ctx context.Context, e *engine.Engine, st Step) error {
	acc := s.app.Accessories[st.Role]
	for _, v := range acc.Volumes {
		name, _, _ := strings.Cut(v, ":")
		if err := e.VolumeEnsure(ctx, name, nil); err != nil {
			return err
		}
	}
	spec := s.containerSpec(Plan{}, st)
	spec.Labels = map[string]string{LabelService: s.app.Service, LabelAccessory: st.Role}
	for k, v := range acc.Labels {
		spec.Labels[k] = v
	}
	if s.app.Destination != "" {
		spec.Labels[LabelDestination] = s.app.Destination
	}
	fp := st.Fingerprint
	if fp == nil { // a hand-made step: what the App declares
		fp = AccessoryFingerprint(s.app, st.Role, nil)
	}
	spec.Labels[LabelFingerprint] = fp.Label()
	spec.Volumes, spec.Ports = acc.Volumes, acc.Ports
	spec.Restart = orDefault(acc.Options.Restart, "unless-stopped")
	spec.User, spec.Memory, spec.CPUs = acc.Options.User, acc.Options.Memory, acc.Options.CPUs
	spec.ExtraHosts, spec.Init = acc.Options.ExtraHosts, acc.Options.Init
	if _, err := e.Create(ctx, spec); err != nil {
		return err
	}
	if len(acc.Files) > 0 {
		var files []engine.File
		for _, p := range sortedKeys(acc.Files) {
			files = append(files, engine.File{Path: p, Mode: 0o644, Content: []byte(acc.Files[p])})
		}
		if err := e.CopyTo(ctx, st.Container, files); err != nil {
			e.Remove(context.WithoutCancel(ctx), st.Container, true)
			return err
		}
	}
	return nil
}
