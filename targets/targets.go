package targets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/replicate"
)

// Exit codes of the targets, kept by an installed or built mage (not
// under `go run`, which always exits 1).
const (
	// ExitFailed is any other failure: a host, the network or S3.
	ExitFailed = 1
	// ExitInvalid is a bad App, Config or -version, or an unknown
	// -destination, found before any host is touched.
	ExitInvalid = 2
	// ExitGateFailed is a release that did not pass its health gate; the
	// previous release kept serving.
	ExitGateFailed = 3
	// ExitLocked is a deploy lock held by someone else.
	ExitLocked = 4
)

// app returns the configured app for destination.
func app(destination *string) (deploy.App, error) {
	cfg, err := config()
	if err != nil {
		return deploy.App{}, err
	}
	if destination == nil || *destination == "" {
		return cfg.App, nil
	}
	return cfg.App.ForDestination(*destination)
}

// output is where the targets print their own results: the session
// options' Output, as the sessions' lines go.
func output() io.Writer {
	if cfg, _ := config(); cfg.Options.Output != nil {
		return cfg.Options.Output
	}
	return os.Stdout
}

// connect opens a session to every host of the app for destination.
func connect(ctx context.Context, destination *string) (*deploy.Session, error) {
	return connectWith(ctx, destination, nil)
}

// connectQuiet is connect for targets that only read and print their
// own result: the session's per-host lines are left out.
func connectQuiet(ctx context.Context, destination *string) (*deploy.Session, error) {
	return connectWith(ctx, destination, func(o *deploy.Options) { o.Output = io.Discard })
}

// connectWith is connect with the configured options changed by edit.
func connectWith(ctx context.Context, destination *string, edit func(*deploy.Options)) (*deploy.Session, error) {
	a, err := app(destination)
	if err != nil {
		return nil, err
	}
	cfg, _ := config()
	opts := cfg.Options
	if edit != nil {
		edit(&opts)
	}
	s, err := deploy.Connect(ctx, a, opts)
	if err == nil {
		current.mu.Lock()
		current.opened = append(current.opened, s)
		current.mu.Unlock()
	}
	return s, err
}

// release is the release for the -version flag, or the git commit of the
// working directory (with -dirty-<hash of the changes> when it has uncommitted changes).
// A -version that could never deploy is refused here, before any host is
// dialled (issue 15: it used to surface as every host's dial error).
func release(ctx context.Context, version *string) (deploy.Release, error) {
	if version != nil && *version != "" {
		r := deploy.Release{Version: *version}
		return r, r.Validate()
	}
	v, err := deploy.GitVersion(ctx, ".")
	if err != nil {
		return deploy.Release{}, fmt.Errorf("%w (or pass -version=...)", err)
	}
	return deploy.Release{Version: v}, nil
}

// shortHostsError is err's message with the failures of several hosts
// said in one line: the session printed them, grouped by reason, as its
// output's last lines ("Failed on N of M hosts:"), and Mage prints the
// message after them, so the list would stand twice at the end of a
// failed target.
func shortHostsError(err error) string {
	msg := err.Error()
	var he *deploy.HostsError
	if !errors.As(err, &he) || len(he.Errs) < 2 || output() == io.Discard {
		return msg
	}
	short := fmt.Sprintf("%d of %d hosts failed (each host's reason is above, under \"Failed on %d of %d hosts\")",
		len(he.Errs), he.Hosts, len(he.Errs), he.Hosts)
	return strings.Replace(msg, he.Error(), short, 1)
}

// exit turns an error into Mage's exit code for it. Mage keeps a code
// only from an unwrapped mg.Fatal, so the error is flattened here, and
// Mage prints its message to stderr, so the message is redacted here with
// the secrets of every session the targets opened: errors a target joins
// or makes itself from a session's results have not passed through the
// session's own redaction.
func exit(err error) error {
	if err == nil {
		return nil
	}
	msg := shortHostsError(err) // before the lock: it reads the config, which takes it
	current.mu.Lock()
	for _, s := range current.opened {
		msg = s.Redact(msg)
	}
	current.mu.Unlock()
	var invalid *deploy.ValidationError
	switch {
	case errors.Is(err, deploy.ErrGateFailed):
		return mg.Fatal(ExitGateFailed, msg)
	case errors.Is(err, deploy.ErrLocked):
		return mg.Fatal(ExitLocked, msg)
	case errors.As(err, &invalid):
		return mg.Fatal(ExitInvalid, msg)
	}
	return mg.Fatal(ExitFailed, msg)
}

// Deploy deploys the current commit (or -version) to every host with zero downtime.
func Deploy(ctx context.Context, version, destination *string) error {
	r, err := release(ctx, version)
	if err != nil {
		return exit(err)
	}
	if err := checkBuckets(ctx, destination); err != nil {
		return exit(err)
	}
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	_, err = s.Deploy(ctx, r)
	return exit(err)
}

// checkBuckets fails when a replica's bucket does not exist, before any
// host is touched. A bucket this machine cannot reach is only noted: the
// hosts may reach S3 where this machine does not.
func checkBuckets(ctx context.Context, destination *string) error {
	a, err := app(destination)
	if err != nil {
		return err
	}
	if err := a.Validate(); err != nil {
		return err
	}
	err = a.CheckReplicaBuckets(ctx)
	switch {
	case errors.Is(err, replicate.ErrNoBucket):
		return err
	case err != nil:
		fmt.Fprintf(output(), "note: the replica buckets were not checked from here: %v\n", err)
	}
	return nil
}

// Plan prints what a deploy of the current commit (or -version) would do, changing nothing; -offline plans against empty hosts without connecting.
func Plan(ctx context.Context, version, destination *string, offline *bool) error {
	r, err := release(ctx, version)
	if err != nil {
		return exit(err)
	}
	if offline != nil && *offline {
		// The plan of a first deploy: every host empty, none dialled.
		a, err := app(destination)
		if err != nil {
			return exit(err)
		}
		p, err := deploy.NewPlan(a, r, deploy.State{})
		if err != nil {
			return exit(err)
		}
		fmt.Fprint(output(), p)
		return nil
	}
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	state, err := s.Observe(ctx)
	if err != nil {
		return exit(err)
	}
	// Read only: with no key yet, or secrets that cannot be resolved from
	// here, the plan says their values were not compared.
	if d, err := s.Digests(ctx); err == nil {
		r.Secrets = d
	} else {
		fmt.Fprintf(output(), "note: secret values were not compared: %v\n", err)
	}
	p, err := deploy.NewPlan(s.App(), r, state)
	if err != nil && !errors.Is(err, deploy.ErrNothingToDeploy) { // the empty plan says so itself
		return exit(err)
	}
	fmt.Fprint(output(), p)
	if state.Lock != nil {
		fmt.Fprintf(output(), "note: the deploy lock is held by %s since %s\n", state.Lock.Performer, state.Lock.Time.Format("2006-01-02 15:04:05Z07:00"))
	}
	return nil
}

// Rollback returns every host to a retained version through the health-gated deploy path.
func Rollback(ctx context.Context, version string, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	_, err = s.Rollback(ctx, version)
	return exit(err)
}

// Lock shows, takes and releases the deploy lock.
type Lock mg.Namespace

// Status shows who holds the deploy lock, if anyone, and for how long.
func (Lock) Status(ctx context.Context, destination *string) error {
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	info, err := s.LockStatus(ctx)
	if err != nil {
		return exit(err)
	}
	if info == nil {
		fmt.Fprintln(output(), "unlocked")
		return nil
	}
	if info.Incomplete {
		fmt.Fprintf(output(), "locked: %s; no deploy holds it: break it with lock:release -force\n", info)
		return nil
	}
	fmt.Fprintf(output(), "locked by %s\n", info)
	return nil
}

// Acquire takes the deploy lock (with -message) so nobody deploys until lock:release.
func (Lock) Acquire(ctx context.Context, message, destination *string) error {
	s, err := connectWith(ctx, destination, func(o *deploy.Options) {
		if message != nil {
			o.Message = *message
		}
	})
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	if err := s.Lock(ctx, ""); err != nil {
		return exit(err)
	}
	fmt.Fprintln(output(), "locked")
	return nil
}

// Release releases the deploy lock you hold; -force breaks anyone's (one left by a deploy that died).
func (Lock) Release(ctx context.Context, force *bool, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	if force != nil && *force {
		broke, err := s.BreakLock(ctx)
		if err != nil {
			return exit(err)
		}
		if broke == nil {
			fmt.Fprintln(output(), "unlocked (it was free)")
			return nil
		}
		fmt.Fprintf(output(), "unlocked: broke the lock held by %s\n", broke)
		return nil
	}
	if err := s.Unlock(ctx); err != nil {
		return exit(err)
	}
	fmt.Fprintln(output(), "unlocked")
	return nil
}

// Audit prints the last -n (default 20) audit lines of every host.
func Audit(ctx context.Context, n *int, destination *string) error {
	s, err := connectQuiet(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	count := 20
	if n != nil {
		count = *n
	}
	logs, err := s.Audit(ctx, count)
	if err != nil {
		return exit(err)
	}
	w := output()
	for _, host := range s.App().HostNames() {
		for _, e := range logs[host] {
			line := fmt.Sprintf("%s  %-15s %-8s %-13s %-10s %-8s %6dms %s", e.Time.Format("2006-01-02 15:04:05.000"),
				host, e.Role, e.Step, e.Version, e.Performer, e.DurationMS, e.Result)
			if e.Error != "" {
				line += ": " + e.Error
			}
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		}
	}
	return nil
}
