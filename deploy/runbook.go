package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/replicate"
)

// Runbook writes the app's incident runbook as Markdown, generated from
// the same plans the executor runs against what the hosts run now: how
// to roll back, how to recover the database, how to go into maintenance
// and back, and how to check the backups. recovery may be nil when the
// app keeps no database.
func (s *Session) Runbook(ctx context.Context, w io.Writer, recovery *Recovery) (err error) {
	defer s.redactErr(&err)
	a := s.app
	state, err := s.Observe(ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Runbook: %s", a.Service)
	if a.Destination != "" {
		fmt.Fprintf(&b, " (%s)", a.Destination)
	}
	fmt.Fprintf(&b, "\n\nHosts: %s (primary %s). Generated from the live state; regenerate with `mage runbook`.\n", strings.Join(a.HostNames(), ", "), a.PrimaryHost())
	if state.Lock != nil {
		fmt.Fprintf(&b, "\n> The deploy lock is held by %s since %s.\n", state.Lock.Performer, state.Lock.Time.Format("2006-01-02 15:04 MST"))
	}

	b.WriteString("\n## 1. A bad deploy: roll back\n\n")
	b.WriteString("1. See what is retained: `mage versions`. Every host lists its versions, newest first, and the one that runs.\n")
	running, previous := "", ""
	role := a.primaryRole()
	for _, c := range state.Containers(a, a.PrimaryHost(), role) {
		switch {
		case c.Running && running == "":
			running = c.Version
		case !c.Running && previous == "" && running != "":
			previous = c.Version
		}
	}
	if previous == "" {
		b.WriteString("2. No earlier version is retained on the primary host right now; redeploy a known good commit with `mage deploy -version=<commit>`.\n")
	} else {
		fmt.Fprintf(&b, "2. Roll back from %s to %s: `mage rollback %s`. Its plan, as of now:\n\n", running, previous, previous)
		plan, err := NewPlan(a, Release{Version: previous}, state)
		if err != nil && !errors.Is(err, ErrNothingToDeploy) { // the empty plan says so itself
			fmt.Fprintf(&b, "   (cannot plan it: %v)\n", err)
		} else {
			plan.Rollback = true
			b.WriteString(codeBlock(plan.String()))
		}
	}
	fmt.Fprintf(&b, "3. Confirm: %s and the core user flow works; `mage details` shows %s serving.\n", a.healthCheckText(), orDefault(previous, "the good version"))

	b.WriteString("\n## 2. Suspected corruption or data loss: recover the database\n\n")
	if recovery == nil && a.replicatedDatabase() {
		recovery = &Recovery{}
	}
	if recovery == nil {
		b.WriteString("This app keeps no replicated database.\n")
	} else {
		p, err := s.PlanRecovery(ctx, *recovery)
		if err != nil {
			fmt.Fprintf(&b, "(cannot plan it: %v)\n", err)
		} else {
			b.WriteString("Run `mage app:recover` (newest state) or `mage app:recover -at=2026-01-02T15:04:05Z` (before a bad write). It stops at the first failing step and says how to continue or undo. Its steps:\n\n")
			b.WriteString(codeBlock(p.String()))
			b.WriteString("The restore and its integrity check run before the downtime; the app is down only for the swap. " +
				"Expect: `recovered ... restore ... downtime ... replication continues at txid ...; the damaged database is kept at ...`; users get the maintenance page meanwhile, never a connection error. " +
				"If it stops at a step, fix the cause and run it again: it completes from any step, whether or not the app was running.\n")
		}
	}

	b.WriteString("\n## 3. Maintenance by hand\n\n")
	b.WriteString("- `mage app:maintenance -message=\"Back at 10:00 UTC\"`: every web host answers 503 with the message.\n")
	b.WriteString("- `mage app:live`: traffic flows again.\n")

	b.WriteString("\n## 4. Backups are only real if restore works\n\n")
	fmt.Fprintf(&b, "- Daily: `mage replica:verify` (fails when the newest replicated change is older than %s, or the host's writes have not reached the replica within %s).\n",
		shortDuration(replicate.DefaultMaxAge), shortDuration(replicate.DefaultMaxLag))
	b.WriteString("- Weekly: `mage replica:drill` (restore, `PRAGMA integrity_check`, the critical queries; RTO, the data at risk and the replica's age go to the drill log).\n")
	fmt.Fprintf(&b, "- Monthly: `mage app:drill` (the whole app restored and booted in a disposable container without the replica's credentials, %s and the smoke checks, then torn down).\n", a.healthPath())
	_, err = io.WriteString(w, b.String())
	return err
}

func codeBlock(s string) string {
	return "```\n" + strings.TrimRight(s, "\n") + "\n```\n\n"
}

// healthPath is the health check path of the app's primary web role.
func (a App) healthPath() string {
	if px := a.Roles[a.primaryRole()].Proxy; px != nil {
		return orDefault(px.Health.Path, health.DefaultPath)
	}
	for _, role := range a.roleNames() {
		if px := a.Roles[role].Proxy; px != nil {
			return orDefault(px.Health.Path, health.DefaultPath)
		}
	}
	return health.DefaultPath
}

// healthCheckText says how a person checks every web role by hand, with
// each role's own health path and proxy host.
func (a App) healthCheckText() string {
	var checks []string
	for _, role := range a.roleNames() {
		px := a.Roles[role].Proxy
		if px == nil {
			continue
		}
		for _, srv := range a.Roles[role].Servers {
			checks = append(checks, "`"+healthCurl(px, srv.Host)+"` answers 200")
		}
	}
	if len(checks) == 0 {
		return "every role's containers run (`mage details`)"
	}
	return strings.Join(checks, ", ")
}

// healthCurl is the command that asks kamal-proxy on host for the role's
// health path as a visitor would: by its host name and, with TLS, over
// HTTPS on the published port (plain HTTP would only get the redirect to
// it), and on the published HTTP port otherwise.
func healthCurl(px *Proxy, host string) string {
	path := orDefault(px.Health.Path, health.DefaultPath)
	c := "curl -s -o /dev/null -w '%{http_code}' "
	if px.TLS && len(px.Hosts) > 0 {
		name, port := px.Hosts[0], orDefault(px.HTTPSPort, 443)
		addr := host
		if strings.Contains(addr, ":") { // an IPv6 address, as curl's --resolve wants it
			addr = "[" + addr + "]"
		}
		return fmt.Sprintf("%s--resolve %s:%d:%s https://%s%s%s", c, name, port, addr, name, portSuffix(port, 443), path)
	}
	if len(px.Hosts) > 0 {
		c += "-H 'Host: " + px.Hosts[0] + "' "
	}
	return c + "http://" + hostPort(host, orDefault(px.HTTPPort, 80)) + path
}

// portSuffix is ":port" unless port is the scheme's default.
func portSuffix(port, def int) string {
	if port == def {
		return ""
	}
	return fmt.Sprintf(":%d", port)
}

// hostPort joins host and port for a URL, leaving out port 80.
func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + portSuffix(port, 80)
}

// replicatedDatabase reports whether the app declares a replicated database.
func (a App) replicatedDatabase() bool {
	for _, d := range a.Databases {
		if d.Replica != nil {
			return true
		}
	}
	return false
}

// shortDuration prints a whole number of hours or minutes as "24h" or
// "1m", not time.Duration's "24h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	for _, zero := range []string{"0s", "0m"} {
		if strings.HasSuffix(s, "m"+zero) || strings.HasSuffix(s, "h"+zero) {
			s = strings.TrimSuffix(s, zero)
		}
	}
	return s
}
