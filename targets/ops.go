package targets

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/slipwayhq/slipway/deploy"
)

// Versions lists the versions retained on every host, newest first, and which one runs.
func Versions(ctx context.Context, destination *string) error {
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	vs, err := s.Versions(ctx)
	if err != nil {
		return exit(err)
	}
	return exit(deploy.PrintVersions(output(), s.App(), vs))
}

// Details shows what runs where: containers, versions, health, kamal-proxy routes and the lock.
func Details(ctx context.Context, destination *string) error {
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	d, err := s.Details(ctx)
	if err != nil {
		return exit(err)
	}
	fmt.Fprint(output(), d)
	return nil
}

// Logs prints the app's logs from every host, prefixed by host (-tail=N, -follow, -role, -host).
func Logs(ctx context.Context, tail *int, follow *bool, role, host, destination *string) error {
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	opts := deploy.LogOptions{}
	opts.Tail, opts.Follow, opts.Hosts = logFlags(tail, follow, host)
	if role != nil && *role != "" {
		opts.Roles = []string{*role}
	}
	return exit(s.Logs(ctx, opts, output()))
}

// Exec runs a command in a one-off container of the current release, or in the running one with -reuse; -i opens it with a terminal (a shell, a REPL) and exits with its exit code; quote its arguments as in a shell, nothing is expanded.
func Exec(ctx context.Context, cmd string, i, reuse *bool, role, host, destination *string) error {
	args, err := splitCommand(cmd) // before any host is dialled
	if err != nil {
		return exit(err)
	}
	interactive := i != nil && *i
	s, err := connectWith(ctx, destination, func(o *deploy.Options) {
		if interactive && o.Output == nil {
			o.Output = os.Stderr // the terminal's output is the command's own
		}
	})
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	opts := deploy.ExecOptions{Cmd: args}
	if reuse != nil {
		opts.Reuse = *reuse
	}
	if role != nil {
		opts.Role = *role
	}
	if host != nil {
		opts.Host = *host
	}
	if interactive {
		return exitWithCode(s.ExecInteractive(ctx, opts, os.Stdin, os.Stdout))
	}
	results, err := s.Exec(ctx, opts, output())
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

// exitWithCode is exit for an interactive command: the command's own
// non-zero exit code becomes the target's, as with ssh or docker exec.
func exitWithCode(_ deploy.ExecResult, err error) error {
	var ee *deploy.ExitError
	if errors.As(err, &ee) && ee.Code > 0 && ee.Code < 256 {
		return mg.Fatal(ee.Code, exit(err).Error())
	}
	return exit(err)
}

// Prune removes stopped containers beyond the retention count and images no container uses.
func Prune(ctx context.Context, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	rep, err := s.Prune(ctx)
	if err != nil {
		return exit(err)
	}
	fmt.Fprintf(output(), "pruned %d containers and %d images in %s\n", len(rep.Containers), len(rep.Images), rep.Duration.Round(1e6))
	return nil
}

// logFlags reads the -tail, -follow and -host flags every logs target
// takes: 100 lines unless -tail says otherwise, every host unless -host
// names one.
func logFlags(tail *int, follow *bool, host *string) (lines int, follows bool, hosts []string) {
	lines = 100
	if tail != nil {
		lines = *tail
	}
	if host != nil && *host != "" {
		hosts = []string{*host}
	}
	return lines, follow != nil && *follow, hosts
}
