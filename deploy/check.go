package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/secret"
)

// MinFreeDisk is the free space below which Check warns about a host's
// Docker data directory: a release's image and its containers' logs
// need room, and a full disk fails a deploy halfway.
const MinFreeDisk = 2 << 30

// CheckOptions say what Check checks. The zero value checks the base
// App offline, with an empty version (which fails the version check).
type CheckOptions struct {
	// Destination picks one of App.Destinations; "" checks the base App.
	Destination string
	// Version is the release the plan is built for, as a deploy would
	// be given it (GitVersion gives the usual one).
	Version string
	// Online also connects to every host and checks each one (see
	// Check). Without it, no host is dialled.
	Online bool
	// Options are the connection options of the online checks (connect
	// and call timeouts, parallelism); Output and Performer only reach
	// the App's PreConnect hook, which runs before any host is dialled.
	Options Options
}

// CheckStatus is a check's verdict.
type CheckStatus int

// The verdicts of a check, from best to worst.
const (
	// CheckOK means the check passed.
	CheckOK CheckStatus = iota
	// CheckWarn means a deploy can go ahead but someone should look: a
	// held lock, little free disk.
	CheckWarn
	// CheckFailed means a deploy would fail.
	CheckFailed
	// CheckSkipped means the check could not run because an earlier one
	// failed (no plan without a valid App, no engine without SSH).
	CheckSkipped
)

// String returns "ok", "warn", "FAIL" or "skip": FAIL in capitals, to
// stand out on a screen of checks.
func (s CheckStatus) String() string {
	switch s {
	case CheckOK:
		return "ok"
	case CheckWarn:
		return "warn"
	case CheckFailed:
		return "FAIL"
	case CheckSkipped:
		return "skip"
	}
	return "CheckStatus(" + strconv.Itoa(int(s)) + ")"
}

// CheckResult is one line of a CheckReport.
type CheckResult struct {
	// Host is the host checked; "" for the checks of the configuration.
	Host string
	// Name is what was checked: "version", "destination",
	// "app" (its validation), "secrets", "plan"; on a host "ssh", "docker", "kamal-proxy",
	// "lock", "disk", "delivery".
	Name string
	// Status is the verdict.
	Status CheckStatus
	// Detail says what was found (a version, a free size) or what is
	// wrong and what to do. It names secrets, never their values.
	Detail string
	// Err is the error behind a failed check, for errors.Is and
	// errors.As; nil otherwise.
	Err error
}

// String returns the result as one line: "host  name  status  detail".
func (c CheckResult) String() string {
	where := c.Host
	if where == "" {
		where = "config"
	}
	return strings.TrimRight(fmt.Sprintf("%-15s %-12s %-4s %s", where, c.Name, c.Status, c.Detail), " ")
}

// CheckReport is every check Check ran, the configuration's first and
// then each host's, in the app's order of hosts.
type CheckReport struct {
	Checks []CheckResult
}

// String returns one line per check.
func (r CheckReport) String() string {
	var b strings.Builder
	for _, c := range r.Checks {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Failed returns the checks that failed.
func (r CheckReport) Failed() []CheckResult {
	return slices.DeleteFunc(slices.Clone(r.Checks), func(c CheckResult) bool { return c.Status != CheckFailed })
}

// Invalid reports whether a check of the configuration failed: a bad
// version, an unknown destination, a validation problem or a missing
// secret, all found without a host.
func (r CheckReport) Invalid() bool {
	return slices.ContainsFunc(r.Checks, func(c CheckResult) bool { return c.Host == "" && c.Status == CheckFailed })
}

func (r *CheckReport) add(c CheckResult) { r.Checks = append(r.Checks, c) }

// CheckError is Check's error: the checks that failed. When a check of
// the configuration failed it unwraps to a *ValidationError with a
// Problem for each (so a bad config is told from a bad host by
// errors.As), and to every failed check's own error (a
// *secret.MissingListError, a host's dial error).
type CheckError struct {
	Failed  []CheckResult
	invalid *ValidationError
	hosts   int // how many hosts were checked; 0 when none or not known
}

// Error returns one line per failed check of the configuration, then
// the hosts' failed checks: one line when a single check failed, and
// otherwise the hosts grouped by reason, as a *HostsError reads, so
// thirty unreachable hosts read as one line.
func (e *CheckError) Error() string {
	var lines []string
	var onHosts []CheckResult
	for _, c := range e.Failed {
		if c.Host == "" {
			lines = append(lines, c.String())
		} else {
			onHosts = append(onHosts, c)
		}
	}
	switch {
	case len(onHosts) == 1:
		lines = append(lines, onHosts[0].String())
	case len(onHosts) > 1:
		lines = append(lines, checksByHost(onHosts, e.hosts).Error())
	}
	return strings.Join(lines, "\n")
}

// checksByHost is the failed checks of hosts as a *HostsError of hosts
// hosts (at least those failing): one *HostError per host, its failed
// checks a line each ("ssh: connect to …").
func checksByHost(failed []CheckResult, hosts int) *HostsError {
	he := &HostsError{}
	byHost := map[string]*[]string{}
	for _, c := range failed {
		lines, ok := byHost[c.Host]
		if !ok {
			lines = new([]string)
			byHost[c.Host] = lines
			he.Errs = append(he.Errs, &HostError{Host: c.Host})
		}
		*lines = append(*lines, c.Name+": "+c.Detail)
	}
	for _, x := range he.Errs {
		x.Err = errors.New(strings.Join(*byHost[x.Host], "\n"))
	}
	he.Hosts = max(hosts, len(he.Errs))
	return he
}

// Unwrap returns the *ValidationError of the configuration's failed
// checks, if any, and each failed check's Err.
func (e *CheckError) Unwrap() []error {
	var errs []error
	if e.invalid != nil {
		errs = append(errs, e.invalid)
	}
	for _, c := range e.Failed {
		if c.Err != nil {
			errs = append(errs, c.Err)
		}
	}
	return errs
}

// Check checks that the App can be deployed to opts.Destination as
// release opts.Version, and reports every problem at once, one result
// per check, without a Session. Offline (always) it checks the version,
// the destination, the App's validation, every secret the deploy would
// resolve (App.Secrets, the registry password, replicas' credentials:
// by name, never printing a value) and the plan against an empty State.
// A failed check does not stop the next: an unknown destination still
// has its secrets resolved, for the base App. Only the plan is skipped,
// when the version, the destination or the App failed (a missing secret
// does not stop it: a plan names secrets, it never holds them).
//
// With opts.Online, and a configuration that passed, it also dials every
// host (at most Options.Parallel at once) and checks on each: SSH, the
// Docker Engine against engine.MinimumVersion, kamal-proxy's image on
// hosts with a proxied role, the deploy lock on the primary host, free
// disk for Docker's data, and how the release's image gets there (a
// TCP connection from the host to the registry, or a registry-free
// delivery over this SSH connection). It changes nothing on any host.
//
// The error is nil when no check failed, else a *CheckError; a warning
// is not an error.
func Check(ctx context.Context, a App, opts CheckOptions) (CheckReport, error) {
	var rep CheckReport
	var problems []Problem
	fail := func(name, detail string, err error, ps ...Problem) {
		rep.add(CheckResult{Name: name, Status: CheckFailed, Detail: detail, Err: err})
		if len(ps) == 0 {
			ps = []Problem{{Field: name, Message: detail}}
		}
		problems = append(problems, ps...)
	}
	ok := func(name, detail string) { rep.add(CheckResult{Name: name, Status: CheckOK, Detail: detail}) }
	skip := func(name, why string) { rep.add(CheckResult{Name: name, Status: CheckSkipped, Detail: why}) }

	r := Release{Version: opts.Version}
	if err := r.Validate(); err != nil {
		fail("version", checkLine(err), err, problemsOf(err)...)
	} else {
		ok("version", r.Version)
	}

	app, err := a.ForDestination(opts.Destination)
	switch {
	case err != nil:
		fail("destination", err.Error(), err)
		app = a.Clone() // the rest is checked for the base App: every problem at once
	case opts.Destination == "":
		ok("destination", "the base App (no -destination)")
	default:
		ok("destination", opts.Destination)
	}

	expanded, err := app.expand()
	if err != nil {
		fail("app", checkLine(err), err, problemsOf(err)...)
		expanded = app
	} else {
		ok("app", fmt.Sprintf("%s: %s on %s", app.Service, plural(len(app.Roles), "role", "roles"), plural(len(app.HostNames()), "host", "hosts")))
	}

	planable := len(problems) == 0 // a plan needs no secret values
	names, values, err := checkSecrets(ctx, expanded)
	if err != nil {
		fail("secrets", checkLine(err), err)
	} else if len(names) == 0 {
		ok("secrets", "none needed")
	} else {
		ok("secrets", fmt.Sprintf("%s resolved: %s", plural(len(names), "secret", "secrets"), strings.Join(names, ", ")))
	}

	if !planable {
		skip("plan", "needs a valid version, destination and App")
	} else if p, err := NewPlan(app, r, State{}); err != nil {
		fail("plan", checkLine(err), err)
	} else {
		ok("plan", fmt.Sprintf("%s on %s in %s, against an empty state", plural(len(p.Steps()), "step", "steps"), plural(len(p.Hosts()), "host", "hosts"), plural(len(p.Batches), "batch", "batches")))
	}

	if opts.Online {
		if len(problems) > 0 {
			skip("hosts", "not dialled: fix the configuration first")
		} else {
			rep.Checks = append(rep.Checks, checkHosts(ctx, expanded, r, opts.Options)...)
		}
	}

	// The values were resolved to be checked, not shown: a host's words
	// could quote one. (The configuration's lines are made of names, and
	// secret.Resolve redacts its sources' errors itself.)
	for i, c := range rep.Checks {
		if c.Host == "" {
			continue
		}
		rep.Checks[i].Detail = values.Redact(c.Detail)
		if c.Err != nil {
			rep.Checks[i].Err = values.RedactError(c.Err)
		}
	}
	failed := rep.Failed()
	if len(failed) == 0 {
		return rep, nil
	}
	e := &CheckError{Failed: failed}
	if opts.Online && len(problems) == 0 {
		e.hosts = len(expanded.HostNames())
	}
	if len(problems) > 0 {
		e.invalid = &ValidationError{Problems: problems}
	}
	return rep, e
}

// checkSecrets resolves every secret a deploy of a (expanded) resolves,
// each from its own source, and returns their names; the values are
// kept only to redact the report. The error names every missing secret (a
// *secret.MissingListError for each source with missing ones).
func checkSecrets(ctx context.Context, a App) ([]string, secret.Values, error) {
	names := secretNames(a)
	if a.Registry != nil && a.Registry.PasswordSecret != "" && !slices.Contains(names, a.Registry.PasswordSecret) {
		names = append(names, a.Registry.PasswordSecret)
	}
	var errs []error
	values, err := secret.Resolve(ctx, a.Secrets, names)
	if err != nil {
		errs = append(errs, err)
	}
	if values == nil {
		values = secret.Values{}
	}
	// A replica's credentials may come from a source of its own.
	for _, rp := range a.Replicas() {
		var src secret.Source = a.Secrets
		if rp.S3 != nil && rp.S3.Secrets != nil {
			src = rp.S3.Secrets
		}
		var own []string
		for _, n := range rp.SecretNames() {
			if !slices.Contains(names, n) {
				own = append(own, n)
				names = append(names, n)
			}
		}
		vs, err := secret.Resolve(ctx, src, own)
		if err != nil {
			errs = append(errs, err)
		}
		maps.Copy(values, vs)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	slices.Sort(names)
	return names, values, nil
}

// checkHosts dials every host of a and checks each one.
func checkHosts(ctx context.Context, a App, r Release, opts Options) []CheckResult {
	performer := opts.Performer
	if performer == "" {
		performer = defaultPerformer()
	}
	hosts := a.HostNames()
	s := &Session{app: a, opts: opts}
	defer s.bastions.Close()
	if h := a.Hooks.PreConnect; h != nil { // a VPN or a bastion to open, as for Connect
		w := opts.Output
		if w == nil {
			w = os.Stdout
		}
		hc := HookContext{Service: a.Service, Destination: a.Destination, Version: r.Version, Performer: performer, Hosts: hosts, Output: w}
		if err := h(ctx, hc); err != nil {
			err = fmt.Errorf("pre-connect hook: %w", err)
			return []CheckResult{{Name: "pre-connect", Status: CheckFailed, Detail: checkLine(err), Err: err}}
		}
	}
	results := make([][]CheckResult, len(hosts))
	_ = fanOut(opts.parallel(), len(hosts), func(i int) error {
		results[i] = checkHost(ctx, s, hosts[i], r)
		return nil
	})
	return slices.Concat(results...)
}

// checkHost runs the online checks of one host, in the order a deploy
// needs them: a host that cannot be reached skips the rest.
func checkHost(ctx context.Context, s *Session, host string, r Release) []CheckResult {
	a := s.app
	var out []CheckResult
	add := func(name string, st CheckStatus, err error, format string, args ...any) {
		out = append(out, CheckResult{Host: host, Name: name, Status: st, Detail: fmt.Sprintf(format, args...), Err: err})
	}
	failed := func(name string, err error) { add(name, CheckFailed, err, "%s", checkLine(err)) }

	start := time.Now()
	h, err := s.dialHost(ctx, a.server(host))
	if err != nil {
		failed("ssh", err)
		add("docker", CheckSkipped, nil, "no SSH connection")
		return out
	}
	defer h.ssh.Close()
	defer h.engine.Close()
	add("ssh", CheckOK, nil, "%s in %s", h.ssh.Host(), time.Since(start).Round(time.Millisecond))
	call := func(f func(context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, s.opts.callTimeout())
		defer cancel()
		return f(cctx)
	}

	var v engine.Version
	if err := call(func(ctx context.Context) (err error) { v, err = h.engine.CheckVersion(ctx); return err }); err != nil {
		failed("docker", err)
	} else {
		add("docker", CheckOK, nil, "Docker Engine %s (API %s, %s/%s; at least %s)", v.Server, v.API, v.OS, v.Arch, engine.MinimumVersion)
	}

	if px := proxyOn(a, host); px != nil {
		var c engine.Container
		err := call(func(ctx context.Context) (err error) {
			c, err = h.engine.Inspect(ctx, proxy.DefaultContainer)
			return err
		})
		switch {
		case errors.Is(err, engine.ErrNotFound):
			add("kamal-proxy", CheckOK, nil, "not running yet: the first deploy boots %s", px.image())
		case err != nil:
			failed("kamal-proxy", err)
		case c.Image != px.image():
			add("kamal-proxy", CheckWarn, nil, "%s runs %s (%s), the App wants %s: the deploy keeps the running proxy", proxy.DefaultContainer, imageTag(c.Image), c.State, px.image())
		default:
			add("kamal-proxy", CheckOK, nil, "%s (%s, image %s)", imageTag(c.Image), c.State, c.Image)
		}
	}

	if host == a.PrimaryHost() {
		var res ssh.Result
		path := ".slipway/locks/" + ProxyService(a, "lock")
		err := call(func(ctx context.Context) (err error) {
			res, err = h.ssh.Run(ctx, lockStatusScript(path), nil)
			return err
		})
		switch info := parseLockStatus(res.Stdout); {
		case err != nil:
			failed("lock", fmt.Errorf("read the deploy lock: %w", err))
		case info == nil:
			add("lock", CheckOK, nil, "free")
		default:
			add("lock", CheckWarn, nil, "held by %s: a deploy would wait or fail with exit 4", info)
		}
	}

	var res ssh.Result
	err = call(func(ctx context.Context) (err error) { res, err = h.ssh.Run(ctx, diskScript, nil); return err })
	if free, dir, perr := parseDF(res.Stdout); err != nil || perr != nil {
		failed("disk", fmt.Errorf("read the free disk: %w", errors.Join(err, perr)))
	} else if free < MinFreeDisk {
		add("disk", CheckWarn, nil, "%s free on %s, under %s", humanize.IBytes(uint64(free)), dir, humanize.IBytes(MinFreeDisk))
	} else {
		add("disk", CheckOK, nil, "%s free on %s", humanize.IBytes(uint64(free)), dir)
	}

	image := r.ImageRef(a)
	switch {
	case a.Build != nil && a.Registry == nil:
		add("delivery", CheckOK, nil, "registry-free over SSH: the engine answers through this connection")
	case call(func(ctx context.Context) error { _, err := h.engine.ImageInspect(ctx, image); return err }) == nil:
		// What the plan does too: an image the host holds is not pulled again.
		add("delivery", CheckOK, nil, "%s is on the host already: nothing to pull", image)
	default:
		addr := registryAddr(image, a.Registry != nil && a.Registry.Insecure)
		err := call(func(ctx context.Context) error {
			c, err := h.ssh.DialContext(ctx, "tcp", addr)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err != nil {
			failed("delivery", fmt.Errorf("the host cannot reach the registry %s for %s: %w", addr, image, err))
		} else {
			add("delivery", CheckOK, nil, "pulls %s: the host reaches %s", image, addr)
		}
	}
	return out
}

// diskScript prints df's line for Docker's usual data directory, or for
// the root when it is elsewhere.
const diskScript = `d=/var/lib/docker; [ -d "$d" ] || d=/; df -Pk "$d" | tail -n 1`

// parseDF reads the free bytes and the mount point from a POSIX df line.
func parseDF(out []byte) (free int64, dir string, err error) {
	f := strings.Fields(string(out))
	if len(f) < 6 {
		return 0, "", fmt.Errorf("unexpected df output %q", strings.TrimSpace(string(out)))
	}
	kb, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("unexpected df output %q", strings.TrimSpace(string(out)))
	}
	return kb << 10, f[5], nil
}

// registryAddr is the host:port a host pulls ref from: the reference's
// registry (a first component with a dot, a colon or "localhost"), or
// Docker Hub's; without a port, HTTPS's, or HTTP's for an insecure one.
func registryAddr(ref string, insecure bool) string {
	first, _, found := strings.Cut(ref, "/")
	if !found || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return "registry-1.docker.io:443"
	}
	if _, _, err := net.SplitHostPort(first); err == nil {
		return first
	}
	if insecure {
		return net.JoinHostPort(first, "80")
	}
	return net.JoinHostPort(first, "443")
}

// imageTag is the tag of ref ("v0.9.2" of "basecamp/kamal-proxy:v0.9.2"), or ref.
func imageTag(ref string) string {
	if _, tag, ok := splitTag(ref); ok {
		return tag
	}
	return ref
}

// problemsOf returns a *ValidationError's problems, nil for other errors.
func problemsOf(err error) []Problem {
	if v, ok := errors.AsType[*ValidationError](err); ok {
		return v.Problems
	}
	return nil
}

// checkLine joins a multi-line error's lines with "; ", for a report's
// one line per check.
func checkLine(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
