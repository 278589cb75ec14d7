package targets

import (
	"context"
	"fmt"

	"github.com/magefile/mage/mg"

	"github.com/slipwayhq/slipway/deploy"
)

// Proxy reboots kamal-proxy and shows its logs and details on the app's proxy hosts.
type Proxy mg.Namespace

// Reboot replaces kamal-proxy host by host (-host=H for one) with the container the App describes, keeping its routes; each host refuses new connections for about a second.
func (Proxy) Reboot(ctx context.Context, host, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	var opts deploy.ProxyRebootOptions
	if host != nil && *host != "" {
		opts.Hosts = []string{*host}
	}
	done, err := s.RebootProxy(ctx, opts)
	for _, r := range done {
		routes := fmt.Sprintf("%d routes", len(r.Routes))
		if len(r.Routes) == 1 {
			routes = "1 route"
		}
		fmt.Fprintf(output(), "%-15s rebooted: no new connection for %.2fs, %s kept\n", r.Host, r.Dark.Seconds(), routes)
	}
	return exit(err)
}

// Logs prints kamal-proxy's log from every proxy host, prefixed by host (-tail=N, -follow, -host).
func (Proxy) Logs(ctx context.Context, tail *int, follow *bool, host, destination *string) error {
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	opts := deploy.ProxyLogOptions{}
	opts.Tail, opts.Follow, opts.Hosts = logFlags(tail, follow, host)
	return exit(s.ProxyLogs(ctx, opts, output()))
}

// Details shows kamal-proxy on every proxy host: its image, state, whether it matches the App (what the next deploy would reboot) and every route.
func (Proxy) Details(ctx context.Context, destination *string) error {
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	d, err := s.ProxyDetails(ctx)
	if err != nil {
		return exit(err)
	}
	fmt.Fprint(output(), d)
	return nil
}
