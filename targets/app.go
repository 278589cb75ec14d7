package targets

import (
	"context"
	"fmt"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/slipwayhq/slipway/deploy"
)

// App takes the app's web roles out of service and back, for incidents.
type App mg.Namespace

// Maintenance answers every request with a 503 page (-message) until app:live, on every web host.
func (App) Maintenance(ctx context.Context, message, role, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	msg := ""
	if message != nil {
		msg = *message
	}
	var roles []string
	if role != nil && *role != "" {
		roles = []string{*role}
	}
	if err := s.Maintenance(ctx, msg, 0, roles...); err != nil {
		return exit(err)
	}
	fmt.Fprintln(output(), "in maintenance: run app:live to serve traffic again")
	return nil
}

// Live puts web roles in maintenance back in service on every host.
func (App) Live(ctx context.Context, role, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	var roles []string
	if role != nil && *role != "" {
		roles = []string{*role}
	}
	return exit(s.Live(ctx, roles...))
}

var drillApp struct {
	smoke   []deploy.SmokeCheck
	dropEnv []string
}

// UseAppDrill sets the smoke checks a whole-app drill runs after /up
// passes, and the env names the disposable copy must not get (such as the
// one that turns replication on).
func UseAppDrill(smoke []deploy.SmokeCheck, dropEnv ...string) {
	mu.Lock()
	defer mu.Unlock()
	drillApp.smoke, drillApp.dropEnv = smoke, dropEnv
}

// Recover brings the database back from its replica (newest, or -at=RFC3339) with the app in maintenance meanwhile.
func (App) Recover(ctx context.Context, at, message, host, destination *string) error {
	rs, _, _, err := configuredReplicas(destination)
	if err != nil {
		return exit(err)
	}
	r := deploy.Recovery{Replica: rs[0]}
	if at != nil && *at != "" {
		if r.At, err = time.Parse(time.RFC3339, *at); err != nil {
			return exit(fmt.Errorf("-at: want a time such as 2026-11-25T10:00:00Z: %w", err))
		}
	}
	if message != nil {
		r.Message = *message
	}
	if host != nil {
		r.Host = *host
	}
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	_, err = s.Recover(ctx, r)
	return exit(err)
}

// Drill restores the whole app in a disposable container (no proxy route), passes /up and the smoke checks, and records RTO/RPO.
func (App) Drill(ctx context.Context, host, destination *string) error {
	rs, _, log, err := configuredReplicas(destination)
	if err != nil {
		return exit(err)
	}
	mu.Lock()
	d := deploy.AppDrill{Replica: rs[0], Smoke: drillApp.smoke, DropEnv: drillApp.dropEnv, Log: log}
	mu.Unlock()
	if host != nil {
		d.Host = *host
	}
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	_, err = s.DrillApp(ctx, d)
	return exit(err)
}

// Runbook prints this app's rollback and recovery runbook as Markdown, generated from the live plans.
func Runbook(ctx context.Context, destination *string) error {
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	var rec *deploy.Recovery
	if rs, _, _, err := configuredReplicas(destination); err == nil {
		rec = &deploy.Recovery{Replica: rs[0]}
	}
	return exit(s.Runbook(ctx, output(), rec))
}
