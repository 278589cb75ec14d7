package deploy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/deploy/proxy"
)

// DefaultMaintenanceMessage is what users read while a web role is in
// maintenance, when no message is given.
const DefaultMaintenanceMessage = "We are doing maintenance and will be back shortly."

// Maintenance takes the app's web roles (or the named ones) out of
// service on every host: kamal-proxy answers their requests with a 503
// page carrying message instead of passing them on, so users see a clear
// page, not connection errors. In-flight requests finish first, within
// drain (0 means kamal-proxy's default). It holds the deploy lock while
// it works (the session's own, when it holds it already), so it is
// refused with a *LockedError naming the holder while a deploy or a
// recovery runs.
func (s *Session) Maintenance(ctx context.Context, message string, drain time.Duration, roles ...string) (err error) {
	defer s.redactErr(&err)
	if message == "" {
		message = DefaultMaintenanceMessage
	}
	return s.withLock(ctx, "", func() error {
		return s.onWebRoles(ctx, "maintenance", roles, orDefault(drain, DefaultDrainTimeout), func(ctx context.Context, h *hostConn, service string) error {
			return proxy.Stop(ctx, h.engine, proxy.DefaultContainer, service, message, drain)
		})
	})
}

// Live puts web roles in maintenance back in service on every host. Like
// Maintenance it holds the deploy lock, so `app:live` during a recovery
// is refused, naming who holds the lock, instead of reopening traffic
// to a database being restored.
func (s *Session) Live(ctx context.Context, roles ...string) (err error) {
	defer s.redactErr(&err)
	return s.withLock(ctx, "", func() error {
		return s.onWebRoles(ctx, "live", roles, 0, func(ctx context.Context, h *hostConn, service string) error {
			return proxy.Resume(ctx, h.engine, proxy.DefaultContainer, service)
		})
	})
}

// onWebRoles runs fn for each web role's kamal-proxy service on each of
// its hosts, all at once (Options.Parallel), with an output and an audit
// line each; the errors come in role and host order.
// Each call gets CallTimeout plus wait (what it waits for on purpose).
func (s *Session) onWebRoles(ctx context.Context, step string, only []string, wait time.Duration, fn func(context.Context, *hostConn, string) error) error {
	var steps []Step
	for _, role := range s.app.roleNames() {
		r := s.app.Roles[role]
		if r.Proxy == nil || (len(only) > 0 && !slices.Contains(only, role)) {
			continue
		}
		for _, srv := range r.Servers {
			steps = append(steps, Step{Host: srv.Host, Role: role, Container: ProxyService(s.app, role)})
		}
	}
	if len(steps) == 0 {
		return fmt.Errorf("%s: no web role to act on (roles with a Proxy: none matched %v)", step, only)
	}
	audit := &auditLog{}
	defer func() {
		cctx, cancel := s.cleanupCtx(ctx, 0)
		defer cancel()
		s.writeAudit(cctx, audit)
	}()
	return fanOut(s.opts.parallel(), len(steps), func(i int) error {
		st := steps[i]
		start := time.Now()
		err := s.call(ctx, st.Host, step+" "+st.Container, s.opts.callTimeout()+wait, func(ctx context.Context) error {
			return fn(ctx, s.hosts[st.Host], st.Container)
		})
		s.record(audit, stepLine{host: st.Host, role: st.Role, step: step, container: st.Container, detail: st.Container, start: start, err: err})
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", st.Host, step, st.Container, err)
		}
		return nil
	})
}
