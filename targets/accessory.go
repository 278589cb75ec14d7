package targets

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/magefile/mage/mg"

	"github.com/slipwayhq/slipway/deploy"
)

// Accessory manages the app's accessories (a Litestream sidecar, a
// cache) by name, on the hosts each runs on.
type Accessory mg.Namespace

// Boot boots accessory NAME where it does not run: its image is delivered or pulled as a deploy does, its container made as declared.
func (Accessory) Boot(ctx context.Context, name string, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	return exit(s.AccessoryBoot(ctx, name))
}

// Reboot replaces accessory NAME's container with one made as declared: the old one stops first (a Litestream sidecar syncs and lets go of its lease), then the new one starts; volumes are kept.
func (Accessory) Reboot(ctx context.Context, name string, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	return exit(s.AccessoryReboot(ctx, name))
}

// Stop stops accessory NAME on its hosts, keeping its container for accessory:start.
func (Accessory) Stop(ctx context.Context, name string, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	return exit(s.AccessoryStop(ctx, name))
}

// Start starts accessory NAME's stopped container on its hosts.
func (Accessory) Start(ctx context.Context, name string, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	return exit(s.AccessoryStart(ctx, name))
}

// Remove stops and removes accessory NAME's container on its hosts; its volumes (a database, a replicator's state) are kept.
func (Accessory) Remove(ctx context.Context, name string, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	return exit(s.AccessoryRemove(ctx, name))
}

// Logs prints accessory NAME's logs from its hosts (-tail=N, default 100, -follow, -host).
func (Accessory) Logs(ctx context.Context, name string, tail *int, follow *bool, host, destination *string) error {
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	opts := deploy.LogOptions{}
	opts.Tail, opts.Follow, opts.Hosts = logFlags(tail, follow, host)
	return exit(s.AccessoryLogs(ctx, name, opts, output()))
}

// Exec runs a command in accessory NAME's running container on each of its hosts; quote its arguments as in a shell, nothing is expanded.
func (Accessory) Exec(ctx context.Context, name, cmd string, destination *string) error {
	args, err := splitCommand(cmd) // before any host is dialled
	if err != nil {
		return exit(err)
	}
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	results, err := s.AccessoryExec(ctx, name, args, output())
	if err != nil {
		return exit(err)
	}
	var failed []error
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Err)
		}
	}
	return exit(errors.Join(failed...))
}

// Details shows accessory NAME on each of its hosts: image, state, restarts and the latest error it logged.
func (Accessory) Details(ctx context.Context, name string, destination *string) error {
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	found, err := s.AccessoryDetails(ctx, name)
	tw := tabwriter.NewWriter(output(), 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tACCESSORY\tIMAGE\tSTATE\tRESTARTS\tCONTAINER")
	for _, ad := range found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", ad.Host, ad.Name, ad.Image, ad.State, ad.Restarts, ad.Container)
	}
	tw.Flush()
	for _, ad := range found {
		if ad.LastError != "" {
			fmt.Fprintf(output(), "%s %s last logged: %s\n", ad.Host, ad.Name, ad.LastError)
		}
	}
	return exit(err)
}
