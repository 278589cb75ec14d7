package targets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/slipwayhq/slipway/replicate"
)

// DefaultDrillLog is the drill log the drill targets append to, in the
// directory Mage runs in; Drills.Log changes it.
const DefaultDrillLog = ".slipway/drills.jsonl"

// configuredReplicas returns the replicas of the app's databases
// (App.Databases) for destination, as this machine reaches them
// (Replica.ForOperator): the replica targets run here. hostReplicas
// gives the hosts' view.
func configuredReplicas(destination *string) ([]replicate.Replica, []replicate.Query, string, error) {
	rs, queries, log, err := hostReplicas(destination)
	for i := range rs {
		rs[i] = rs[i].ForOperator()
	}
	return rs, queries, log, err
}

// hostReplicas returns the replicas of the app's databases for
// destination as its hosts reach them, for work done on a host.
func hostReplicas(destination *string) ([]replicate.Replica, []replicate.Query, string, error) {
	a, err := app(destination)
	if err != nil {
		return nil, nil, "", err
	}
	rs := a.Replicas()
	if len(rs) == 0 {
		return nil, nil, "", errors.New("no replicated database: declare the app's database in App.Databases with a Replica")
	}
	cfg, err := config()
	if err != nil {
		return nil, nil, "", err
	}
	return rs, cfg.Drills.Queries, cfg.Drills.log(), nil
}

// log is the drill log to append to: Log, or DefaultDrillLog.
func (d Drills) log() string {
	if d.Log == "" {
		return DefaultDrillLog
	}
	return d.Log
}

// Replica checks, drills and restores the app's SQLite replicas.
type Replica mg.Namespace

// Verify checks every replicated database against its live copy on its host: the replica must hold the host's writes within -maxlag (default 1m) and have a change within -maxage (default replicate.DefaultMaxAge, 24h): the daily check.
func (Replica) Verify(ctx context.Context, maxage, maxlag *time.Duration, destination *string) error {
	limit, lag := replicate.DefaultMaxAge, replicate.DefaultMaxLag
	if maxage != nil {
		limit = *maxage
	}
	if maxlag != nil {
		lag = *maxlag
	}
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	found, err := s.VerifyDatabases(ctx, limit, lag)
	for _, f := range found {
		fmt.Fprintln(output(), f)
	}
	return exit(err)
}

// Drill restores every replica (newest, or -at=RFC3339) into a temporary place, or on -host in a disposable container, checks it and records RTO/RPO.
func (Replica) Drill(ctx context.Context, at, host, destination *string) error {
	rs, queries, log, err := configuredReplicas(destination)
	if err != nil {
		return exit(err)
	}
	opts := replicate.DrillOptions{Queries: queries, Log: log}
	if at != nil && *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return exit(fmt.Errorf("-at: want a time such as 2026-11-25T10:00:00Z: %w", err))
		}
		opts.At = t
	}
	drill := func(ctx context.Context, r replicate.Replica) (replicate.DrillReport, error) {
		return replicate.Drill(ctx, r, opts)
	}
	if host != nil && *host != "" {
		// The drill runs on the host, which reaches the replica its own way.
		if rs, _, _, err = hostReplicas(destination); err != nil {
			return exit(err)
		}
		s, err := connect(ctx, destination)
		if err != nil {
			return exit(err)
		}
		defer s.Close()
		drill = func(ctx context.Context, r replicate.Replica) (replicate.DrillReport, error) {
			return s.DrillOnHost(ctx, *host, r, opts)
		}
	}
	var reports []replicate.DrillReport
	var errs []error
	for _, r := range rs {
		rep, err := drill(ctx, r)
		reports = append(reports, rep)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r, err))
		}
	}
	if err := replicate.PrintDrills(output(), reports...); err != nil {
		return exit(err)
	}
	fmt.Fprintf(output(), "recorded in %s\n", log)
	return exit(errors.Join(errs...))
}

// Restore writes a replica's newest state (or -at=RFC3339) to the file -out (default ./restored.db).
func (Replica) Restore(ctx context.Context, out, at, destination *string) error {
	rs, _, _, err := configuredReplicas(destination)
	if err != nil {
		return exit(err)
	}
	path := "restored.db"
	if out != nil && *out != "" {
		path = *out
	}
	var when time.Time
	if at != nil && *at != "" {
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return exit(fmt.Errorf("-at: want a time such as 2026-11-25T10:00:00Z: %w", err))
		}
	}
	pos, err := replicate.Restore(ctx, rs[0], path, when)
	if err != nil {
		return exit(err)
	}
	fmt.Fprintln(output(), restoredLine(rs[0], path, pos))
	return nil
}

// restoredLine says what replica:restore wrote, with the position in
// words a person reads rather than the Position struct's fields.
func restoredLine(r replicate.Replica, path string, pos replicate.Position) string {
	return fmt.Sprintf("restored %s to %s: transaction %d, written %s", r, path, pos.TXID, pos.Time.UTC().Format(time.RFC3339))
}
