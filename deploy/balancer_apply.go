package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// balance applies a StepBalancerDeploy: one kamal-proxy deploy of the
// whole list, which moves traffic only once every target passes the
// health check and leaves the old list serving otherwise.
func (s *Session) balance(ctx context.Context, e *engine.Engine, st Step) error {
	if err := proxy.Deploy(ctx, e, proxy.DefaultContainer, *st.Proxy); err != nil {
		return fmt.Errorf("balancer keeps %s: %w", orNone(st.Old), err)
	}
	return nil
}

func orNone(targets []string) string {
	if len(targets) == 0 {
		return "no route"
	}
	return strings.Join(targets, ",")
}

// drainFailed takes the web hosts whose steps failed out of their
// balancers, after a batch failed and before the deploy returns: on each
// balancer server whose route targets one of them, a gated deploy of the
// list without it, so that the balancer sends only to hosts that passed.
// A failed host keeps serving its previous release locally; the next
// deploy that succeeds on it puts it back (see balancerSteps). A route
// whose every target failed is left as it is: kamal-proxy needs a
// target, and the previous releases still serve. It returns err with
// what could not be drained.
func (s *Session) drainFailed(ctx context.Context, p Plan, rep *Report, audit *auditLog, err error) error {
	failed := failedHosts(rep.Steps)
	var steps []Step
	var notes []string
	for _, role := range s.app.balancedRoles() {
		var gone []string
		for _, h := range failed {
			if slices.Contains(s.app.rolesOn(h), role) {
				gone = append(gone, BalancerTargets(s.app, role)[slices.IndexFunc(s.app.Roles[role].Servers, func(srv Server) bool { return srv.Host == h })])
			}
		}
		if len(gone) == 0 {
			continue
		}
		svc := ProxyService(s.app, role)
		for _, srv := range s.app.Roles[role].Proxy.Balancer.Servers {
			have, lerr := s.balancerTargets(ctx, srv.Host, svc)
			if lerr != nil {
				notes = append(notes, fmt.Sprintf("%s: could not read the balancer's targets to drain %s: %v", srv.Host, strings.Join(gone, ", "), lerr))
				continue
			}
			keep := slices.DeleteFunc(slices.Clone(have), func(t string) bool { return slices.Contains(gone, t) })
			switch {
			case len(keep) == len(have):
			case len(keep) == 0:
				notes = append(notes, fmt.Sprintf("%s: every target of %s failed; the balancer keeps them (each still serves its previous release)", srv.Host, svc))
			default:
				steps = append(steps, Step{Kind: StepBalancerDeploy, Host: srv.Host, Role: role, Container: svc,
					Proxy: balancerService(s.app, role, keep), Old: have})
			}
		}
	}
	if len(steps) > 0 {
		for _, st := range steps {
			s.out.linef("%-15s draining %s", st.Host, st.describeBalancer())
		}
		if derr := s.run(ctx, p, rep, audit, steps); derr != nil {
			notes = append(notes, "drain: "+derr.Error())
		}
	}
	if len(notes) == 0 {
		if len(steps) > 0 {
			return fmt.Errorf("%w\nthe failed hosts were drained from the balancer; the next deploy that succeeds on them puts them back", err)
		}
		return err
	}
	return errors.Join(err, errors.New(notesText("balancer", notes)))
}

// balancerTargets reads the targets of service on the balancer host.
func (s *Session) balancerTargets(ctx context.Context, host, service string) ([]string, error) {
	var targets []string
	err := s.call(ctx, host, "read balancer targets", s.opts.callTimeout(), func(ctx context.Context) error {
		routes, err := proxy.List(ctx, s.hosts[host].engine, proxy.DefaultContainer)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if r.Service == service {
				targets = splitTargets(r.Target)
			}
		}
		return nil
	})
	return targets, err
}
