package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// ErrTimeout is the cause of every *TimeoutError.
var ErrTimeout = errors.New("no answer in time")

// TimeoutError is a remote call or step that did not finish within its
// deadline: the host, its engine or the link to it stopped answering.
type TimeoutError struct {
	Host  string
	Call  string        // what was being done, such as "start hello-web-v2"
	After time.Duration // the deadline it had
	Err   error         // what the call returned when the deadline passed
}

// Error names the host, the call and its deadline.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s on %s: no answer within %s: the host, its engine or the link to it is not answering (%v)",
		e.Call, e.Host, e.After, e.Err)
}

// Unwrap makes errors.Is(err, ErrTimeout) hold, and returns the cause.
func (e *TimeoutError) Unwrap() []error { return []error{ErrTimeout, e.Err} }

// errCallDeadline is the cause of a context that ended at its call's own
// deadline, not because the caller gave up.
var errCallDeadline = errors.New("call deadline exceeded")

// call runs fn with a deadline of budget (none when budget is 0) and
// turns an overrun into a *TimeoutError naming host and what.
func (s *Session) call(ctx context.Context, host, what string, budget time.Duration, fn func(context.Context) error) error {
	if budget <= 0 {
		return fn(ctx)
	}
	cctx, cancel := context.WithTimeoutCause(ctx, budget, errCallDeadline)
	defer cancel()
	err := fn(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(cctx), errCallDeadline) {
		return &TimeoutError{Host: host, Call: what, After: budget, Err: err}
	}
	return err
}

// interrupted reports whether ctx ended because the caller gave up (Ctrl-C,
// a cancelled or expired context), not at a call's own deadline.
func interrupted(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(context.Cause(ctx), errCallDeadline)
}

// stepBudget is a step's deadline: CallTimeout plus what the step waits
// for on purpose. 0 means none (image builds and deliveries).
func (s *Session) stepBudget(st Step) time.Duration {
	call := s.opts.callTimeout()
	switch st.Kind {
	case StepBuildImage, StepDeliverImage:
		return 0
	case StepProxyDeploy, StepBalancerDeploy:
		if st.Proxy != nil {
			return orDefault(st.Proxy.DeployTimeout, DefaultDeployTimeout) + call
		}
	case StepGate:
		if st.Gate != nil {
			return st.Gate.Policy().Deadline + call
		}
		return settleTime + call
	case StepStart:
		if px := s.app.Roles[st.Role].Proxy; st.Aside != "" && px != nil { // the service is pointed at the old container by ID first
			return orDefault(px.DeployTimeout, DefaultDeployTimeout) + orDefault(px.DrainTimeout, DefaultDrainTimeout) + 2*call
		}
	case StepStopOld:
		return time.Duration(len(st.Old))*s.app.stopTimeout(st.Role) + call
	case StepMigrate:
		if s.app.Migrate != nil {
			return orDefault(s.app.Migrate.Timeout, DefaultMigrateTimeout) + call
		}
	case StepBootProxy:
		return proxyBootWait + call
	case StepRebootAccessory: // stop the old one, start and settle the new one
		return s.app.stopTimeout(st.Role) + settleTime + 2*call
	case StepRebootProxy: // the old one's stop, the new one's socket, then its gate
		return proxyStopTimeout + 2*proxyBootWait + 2*call
	case StepHandoffPause, StepHandoffStop, StepHandoffStart, StepHandoffProxy, StepHandoffGate, StepHandoffResume:
		return s.handoffBudget(st, call)
	}
	return call
}

// proxyBootWait is how long a new kamal-proxy gets to open its socket.
const proxyBootWait = 10 * time.Second

// watchCancel notes when ctx ends, so that cleanup after it fits in
// Options.CleanupTimeout counted from that moment. The returned func
// stops watching.
func (s *Session) watchCancel(ctx context.Context) func() {
	s.mu.Lock()
	if s.watching == 0 {
		s.cancelledAt.Store(0)
	}
	s.watching++
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { s.cancelledAt.CompareAndSwap(0, time.Now().UnixNano()) })
	return func() {
		stop()
		s.mu.Lock()
		s.watching--
		s.mu.Unlock()
	}
}

// cleanupCtx is a context for cleanup work after ctx: not cancelled with
// ctx. Once ctx has ended it runs out reserve before the cleanup budget
// does (Options.CleanupTimeout from the cancellation), leaving reserve
// for the work after it; while ctx lives it ends when ctx does, so a
// Ctrl-C during a long cleanup (a reconnect) cuts it short.
func (s *Session) cleanupCtx(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	c := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		at := s.cancelledAt.Load()
		start := time.Unix(0, at)
		if at == 0 {
			start = time.Now()
		}
		return context.WithDeadline(c, start.Add(s.opts.cleanupTimeout()-reserve))
	}
	c, cancel := context.WithCancel(c)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

// bootOrigin is what a start step found, so that a failed deploy can put
// the container back as it was.
type bootOrigin int

const (
	bootMade       bootOrigin = iota + 1 // created by this deploy (or about to be)
	bootRestarted                        // retained and stopped; this deploy started it
	bootWasRunning                       // running before this deploy
)

// boot is one container a start step of the running Apply touched.
type boot struct {
	host, role, container string
	origin                bootOrigin
	// switchAt is when a kamal-proxy deploy to the container began;
	// zero when none did. switchOver is when kamal-proxy is sure to be
	// done with it (its deploy timeout later), and switchEnded is set
	// once the deploy returned, so kamal-proxy is done with it now.
	switchAt    time.Time
	switchOver  time.Time
	switchEnded bool
	// aside is the name the container of the same name that this one
	// replaces is renamed to (Step.Aside), and asideID that container's
	// ID once it has been renamed: a failed boot renames it back (see
	// putBack).
	aside, asideID string
	// id is the engine's ID of the container this deploy made; kamal-proxy
	// may route to it by ID (see Step.Aside).
	id string
}

func bootKey(host, container string) string { return host + "/" + container }

// noteBoot records what a start step found.
func (s *Session) noteBoot(st Step, origin bootOrigin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.boots == nil {
		s.boots = map[string]*boot{}
	}
	if b, ok := s.boots[bootKey(st.Host, st.Container)]; ok {
		if b.origin == bootMade { // a retry of a made container: still ours
			return
		}
	}
	s.boots[bootKey(st.Host, st.Container)] = &boot{host: st.Host, role: st.Role, container: st.Container, origin: origin, aside: st.Aside}
}

// noteSwitch records that a kamal-proxy deploy of st began or ended.
func (s *Session) noteSwitch(st Step, began time.Time, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.boots[bootKey(st.Host, st.Container)]
	if !ok {
		return
	}
	if ended {
		b.switchEnded = true
		return
	}
	timeout := DefaultDeployTimeout
	if st.Proxy != nil {
		timeout = orDefault(st.Proxy.DeployTimeout, DefaultDeployTimeout)
	}
	b.switchAt, b.switchOver, b.switchEnded = began, began.Add(timeout+time.Second), false
}

// bootsOn lists the containers this Apply's start steps touched on host.
func (s *Session) bootsOn(host string) []boot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []boot
	for _, b := range s.boots {
		if b.host == host {
			out = append(out, *b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].container < out[j].container })
	return out
}

// settle puts back, on the hosts whose steps failed, every container this
// Apply started there, unless kamal-proxy routes to it: a container this
// deploy made is removed, a retained one it started is stopped again,
// one that ran before is left running. What kamal-proxy routes to is
// read first, and a container an interrupted kamal-proxy deploy may still
// switch to is removed only once that deploy has surely ended. A host
// whose connection was lost is dialled again first (Options.ReconnectWindow).
// Each action gets an output and an audit line; what could not be put
// back is returned, one line per container, for the deploy's error.
func (s *Session) settle(ctx context.Context, p Plan, audit *auditLog, hosts []string) []string {
	per := make([][]string, len(hosts)) // each host's notes, gathered in host order
	fanOut(s.opts.parallel(), len(hosts), func(i int) error {
		host := hosts[i]
		boots := s.bootsOn(host)
		if len(boots) == 0 {
			return nil
		}
		note := func(msg string) { per[i] = append(per[i], host+": "+msg) }
		h := s.hosts[host]
		s.checkLink(ctx, h)
		if !h.ssh.Alive() {
			start := time.Now()
			err := s.reconnect(ctx, h)
			s.record(audit, stepLine{host: host, step: "reconnect", version: p.Version, start: start, err: err})
			if err != nil {
				for _, b := range boots {
					if b.origin != bootWasRunning {
						note(fmt.Sprintf("%s was left as it is: %v", b.container, err))
					}
				}
				return nil
			}
		}
		for _, b := range boots {
			start := time.Now()
			action, err := s.settleBoot(ctx, h, b)
			if action == "" {
				continue
			}
			s.record(audit, stepLine{host: host, role: b.role, step: "cleanup", version: p.Version,
				container: b.container, detail: action, start: start, err: err})
			if err != nil {
				note(fmt.Sprintf("%s: %v", b.container, err))
			}
		}
		return nil
	})
	notes := slices.Concat(per...)
	sort.Strings(notes)
	return notes
}

// settleBoot puts back one container (see settle) and says what it did;
// "" when there was nothing to do.
func (s *Session) settleBoot(ctx context.Context, h *hostConn, b boot) (string, error) {
	if b.origin == bootWasRunning {
		return "", nil
	}
	if b.aside != "" && b.asideID == "" {
		// The container it replaces was not renamed aside: the name is
		// still the old container's, which must not be removed.
		return s.putBack(ctx, h, b)
	}
	if px := s.app.Roles[b.role].Proxy; px != nil {
		target := fmt.Sprintf("%s:%d", b.container, px.appPort())
		if b.aside != "" && b.id != "" { // a replacement is switched to by its ID
			if routed, err := s.routes(ctx, h, b.role, byID(b.id, target)); err != nil || routed {
				return s.kept(b, routed, err)
			}
		}
		if !b.switchAt.IsZero() && !b.switchEnded {
			if routed, err := s.routes(ctx, h, b.role, target); err != nil || routed {
				return s.kept(b, routed, err)
			}
			// kamal-proxy may still switch to it: wait until its deploy
			// timeout has passed, when the cleanup window allows.
			if dl, ok := ctx.Deadline(); ok && dl.Before(b.switchOver) {
				return "left " + b.container + " running", fmt.Errorf("left running: the kamal-proxy deploy to it was interrupted and may still switch to it until %s; "+
					"the next deploy settles it", b.switchOver.UTC().Format(time.RFC3339))
			}
			select {
			case <-ctx.Done():
				return "left " + b.container + " running", fmt.Errorf("left running: %w", ctx.Err())
			case <-time.After(time.Until(b.switchOver)):
			}
		}
		if routed, err := s.routes(ctx, h, b.role, target); err != nil || routed {
			return s.kept(b, routed, err)
		}
	}
	budget := s.opts.callTimeout()
	if b.origin == bootRestarted {
		stop := s.app.stopTimeout(b.role)
		if dl, ok := ctx.Deadline(); ok {
			stop = min(stop, time.Until(dl)/2)
		}
		err := s.call(ctx, h.name, "stop "+b.container, stop+budget, func(ctx context.Context) error {
			return h.engine.Stop(ctx, b.container, stop)
		})
		if errors.Is(err, engine.ErrNotFound) {
			err = nil
		}
		return "stopped " + b.container + " (retained, as before the deploy)", err
	}
	err := s.call(ctx, h.name, "remove "+b.container, budget, func(ctx context.Context) error {
		return h.engine.Remove(ctx, b.container, true)
	})
	action := "removed " + b.container + " (this deploy made it; kamal-proxy does not route to it)"
	if errors.Is(err, engine.ErrNotFound) {
		action, err = "nothing to remove: "+b.container+" was never created", nil
	}
	if err == nil && b.aside != "" {
		back, berr := s.putBack(ctx, h, b)
		return action + "; " + back, berr
	}
	return action, err
}

func (s *Session) kept(b boot, routed bool, err error) (string, error) {
	if err != nil {
		return "left " + b.container + " as it is", fmt.Errorf("left as it is: cannot tell whether kamal-proxy routes to it: %w", err)
	}
	return "kept " + b.container + ": kamal-proxy routes to it", nil
}

// routes reports whether kamal-proxy on h routes role's service to target.
func (s *Session) routes(ctx context.Context, h *hostConn, role, target string) (bool, error) {
	var routes []proxy.Route
	err := s.call(ctx, h.name, "kamal-proxy list", s.opts.callTimeout(), func(ctx context.Context) error {
		var err error
		routes, err = proxy.List(ctx, h.engine, proxy.DefaultContainer)
		return err
	})
	if err != nil {
		return false, err
	}
	for _, r := range routes {
		if r.Service == ProxyService(s.app, role) {
			return r.Target == target, nil
		}
	}
	return false, nil
}

// probeTimeout bounds the check that a host's connection still answers.
const probeTimeout = 3 * time.Second

// checkLink probes h's connection when a failure may have come from it:
// one that does not answer is closed, so that the cleanup dials the host
// again instead of waiting for the keepalive to notice.
func (s *Session) checkLink(ctx context.Context, h *hostConn) {
	if !h.ssh.Alive() {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, min(probeTimeout, s.opts.callTimeout()))
	defer cancel()
	h.ssh.Probe(pctx)
}

// reconnect dials h again, with backoff, for up to Options.ReconnectWindow
// (or until ctx ends), and puts the new connection in place.
func (s *Session) reconnect(ctx context.Context, h *hostConn) error {
	window := s.opts.reconnectWindow()
	if window < 0 {
		return fmt.Errorf("the connection to %s was lost and Options.ReconnectWindow turns reconnecting off", h.name)
	}
	ctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	srv := s.app.server(h.name)
	start := time.Now()
	wait := 250 * time.Millisecond
	for tries := 1; ; tries++ {
		fresh, err := s.dialHost(ctx, srv)
		if err == nil {
			h.engine.Close()
			h.ssh.Close()
			h.ssh, h.engine = fresh.ssh, fresh.engine
			s.out.linef("%-15s reconnected after %s (%d tries)", h.name, seconds(time.Since(start)), tries)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s stayed unreachable for %s (%d tries): %w", h.name, seconds(time.Since(start)), tries, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// reachAll dials again every host in hosts whose connection was lost,
// all at once, within ctx; the hosts that stay unreachable are returned
// with why.
func (s *Session) reachAll(ctx context.Context, hosts []string) []string {
	per := make([]string, len(hosts)) // why each host stayed unreachable; "" when it did not
	fanOut(s.opts.parallel(), len(hosts), func(i int) error {
		h, ok := s.hosts[hosts[i]]
		if !ok {
			return nil
		}
		s.checkLink(ctx, h)
		if h.ssh.Alive() {
			return nil
		}
		if err := s.reconnect(ctx, h); err != nil {
			per[i] = err.Error()
		}
		return nil
	})
	var notes []string
	for _, n := range per {
		if n != "" {
			notes = append(notes, n)
		}
	}
	sort.Strings(notes)
	return notes
}

// failedHosts lists the hosts with a failed step among results.
func failedHosts(results []StepResult) []string {
	var hosts []string
	for _, r := range results {
		if r.Err != nil && r.Step.Host != "" && !slices.Contains(hosts, r.Step.Host) {
			hosts = append(hosts, r.Step.Host)
		}
	}
	return hosts
}

// notesText formats cleanup notes for an error.
func notesText(head string, notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return "\n" + head + ":\n  " + strings.Join(notes, "\n  ")
}

// hosts lists the hosts with audit lines still to write.
func (l *auditLog) hosts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var hosts []string
	for h, entries := range l.pending {
		if len(entries) > 0 {
			hosts = append(hosts, h)
		}
	}
	sort.Strings(hosts)
	return hosts
}
