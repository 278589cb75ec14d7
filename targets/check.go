package targets

import (
	"context"
	"fmt"

	"github.com/slipwayhq/slipway/deploy"
)

// Check checks the config offline (version, destination, secrets by name, a plan) and with -online each host (Docker, kamal-proxy, lock, disk, delivery); one line per check.
func Check(ctx context.Context, version, destination *string, online *bool) error {
	cfg, err := config()
	if err != nil {
		return exit(err)
	}
	opts := deploy.CheckOptions{Online: online != nil && *online, Options: cfg.Options}
	if destination != nil {
		opts.Destination = *destination
	}
	if version != nil && *version != "" {
		opts.Version = *version
	} else if v, err := deploy.GitVersion(ctx, "."); err == nil {
		opts.Version = v
	} else {
		// The version check then fails with the rest; say why it is empty.
		fmt.Fprintf(output(), "note: %v (or pass -version=...)\n", err)
	}
	rep, err := deploy.Check(ctx, cfg.App, opts)
	fmt.Fprint(output(), rep)
	if err == nil {
		return nil
	}
	// The failed lines again, as Mage's message: the exit code is
	// ExitInvalid when the configuration failed, else ExitFailed.
	return exit(err)
}
