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

// Recover brings the database back from its replica (newest, or -at=RFC3339) with the app down only for the swap; -database picks one of several.
func (App) Recover(ctx context.Context, at, message, host, database, destination *string) error {
	// A zero Replica: the recovery reads the destination's App.Databases.
	var r deploy.Recovery
	var err error
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
	if database != nil {
		r.Database = *database
	}
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	_, err = s.Recover(ctx, r)
	return exit(err)
}

// Drill restores the whole app in a disposable container (no proxy route, no replica credentials), passes its health check and the smoke checks, and records RTO and the data at risk.
func (App) Drill(ctx context.Context, host, destination *string) error {
	cfg, err := config()
	if err != nil {
		return exit(err)
	}
	d := deploy.AppDrillOptions{Smoke: cfg.Drills.Smoke, DropEnv: cfg.Drills.DropEnv, Log: cfg.Drills.log()} // the replica from App.Databases
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
	// nil: the runbook recovers the App's replicated database, if any.
	return exit(s.Runbook(ctx, output(), nil))
}
