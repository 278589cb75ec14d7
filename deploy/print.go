package deploy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// String prints the plan as a dry run a person reads: every step, host by
// host, in the order the executor runs them, with the hooks it calls and
// its waits. Each step's line holds its host, its role and, when the plan
// boots or delivers an accessory, the accessory in a column of its own.
// The print is stable (golden tests rely on it) and holds secret names,
// never their values, and accessory files by path, never their content.
func (p Plan) String() string {
	var b strings.Builder
	verb := "Deploy"
	if p.Rollback {
		verb = "Roll back"
	}
	target := p.Service
	if p.Destination != "" {
		target += " (" + p.Destination + ")"
	}
	if len(p.Batches) == 0 && len(p.Steps()) == 0 {
		fmt.Fprintf(&b, "Nothing to %s: every host already runs %s %s, image %s\n",
			strings.ToLower(verb), target, p.Version, p.Image)
		p.writeDrifted(&b)
		b.WriteString(p.uncomparedNote())
		return b.String()
	}
	fmt.Fprintf(&b, "%s %s %s, image %s, to %s\n", verb, target, p.Version, p.Image, p.reach())
	accessories := p.accessoryWidth()
	row := func(host, role, accessory, what string) {
		line := fmt.Sprintf("  %-15s %-8s ", host, role)
		if accessories > 0 {
			line += fmt.Sprintf("%-*s ", accessories, accessory)
		}
		b.WriteString(line + what + "\n")
	}
	section := func(title string, steps []Step) {
		if len(steps) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", title)
		for _, st := range steps {
			role, acc := st.Role, st.Accessory()
			if acc != "" {
				role = ""
			}
			what := st.describe()
			if st.Kind == StepBuildImage {
				what += p.deliveryNote(st.Role)
			}
			row(st.Host, role, acc, what)
		}
	}
	hook := func(name string) {
		if slices.Contains(p.Hooks, name) {
			row("", "", "", "hook "+name)
		}
	}
	if slices.Contains(p.Hooks, "PreDeploy") {
		b.WriteString("Hook PreDeploy\n")
	}
	section("Prepare", p.Prepare)
	if p.Migrate != nil {
		section("Migrate", []Step{*p.Migrate})
	}
	for i, batch := range p.Batches {
		if p.WaitsBefore(i) {
			fmt.Fprintf(&b, "Wait %s\n", p.Wait)
		}
		hosts := strings.Join(batch.Hosts, ", ")
		if i == 0 && len(p.Batches) > 1 {
			hosts += ", primary: the others boot once it is healthy" // see Boot
		}
		title := fmt.Sprintf("Batch %d of %d (%s)", i+1, len(p.Batches), hosts)
		fmt.Fprintf(&b, "%s:\n", title)
		hook("PreAppBoot")
		if len(batch.Steps) == 0 {
			fmt.Fprintf(&b, "  already running %s\n", p.Version)
		}
		for _, st := range batch.Steps {
			row(st.Host, st.Role, "", st.describe())
		}
		hook("PostAppBoot")
	}
	balance, finish := splitBalancer(p.Finish)
	section("Balancer, once every batch serves", balance)
	section("Finish", finish)
	if slices.Contains(p.Hooks, "PostDeploy") {
		b.WriteString("Hook PostDeploy\n")
	}
	p.writeDrifted(&b)
	b.WriteString(p.uncomparedNote())
	return b.String()
}

// writeDrifted prints the accessories the plan leaves as they run though
// they drifted (Accessory.Drift: DriftReport), with the reasons.
func (p Plan) writeDrifted(b *strings.Builder) {
	if len(p.Drifted) == 0 {
		return
	}
	b.WriteString("Drifted, not rebooted (Drift: report; accessory:reboot NAME applies it):\n")
	for _, st := range p.Drifted {
		fmt.Fprintf(b, "  %-15s %s %s: %s\n", st.Host, st.Role, st.Container, strings.Join(st.Reasons, ", "))
	}
}

// uncomparedNote says which secrets' values the plan could not compare
// with the running containers' (see Plan.Uncompared); "" when none.
func (p Plan) uncomparedNote() string {
	if len(p.Uncompared) == 0 {
		return ""
	}
	return "Secret values not compared (no digest key, as in an offline plan): " + strings.Join(p.Uncompared, ", ") + "\n"
}

// Summary is the plan's first line without its verb: "hello v2
// (ghcr.io/acme/hello:v2) to 1 host in 1 batch". The live output of a
// deploy opens with it.
func (p Plan) Summary() string {
	return fmt.Sprintf("%s %s (%s) to %s", p.Service, p.Version, p.Image, p.reach())
}

// deliveryNote says where the image built for owner ("" for the app, else
// an accessory) goes, and to how many hosts.
func (p Plan) deliveryNote(owner string) string {
	n, registry := 0, false
	for _, st := range p.Prepare {
		if st.Kind == StepDeliverImage && st.Role == owner {
			n++
			registry = registry || st.ThroughRegistry
		}
	}
	if registry {
		return ", push it to its registry for " + plural(n, "host", "hosts") + " to pull"
	}
	return ", send it over SSH to " + plural(n, "host", "hosts")
}

// reach says how many hosts the plan boots, in how many batches.
func (p Plan) reach() string {
	return plural(len(p.Hosts()), "host", "hosts") + " in " + plural(len(p.Batches), "batch", "batches")
}

// accessoryWidth is the width of the plan's accessory column: 0, no
// column, when no step is an accessory's.
func (p Plan) accessoryWidth() int {
	w := 0
	for _, st := range p.Steps() {
		if a := st.Accessory(); a != "" {
			w = max(w, len(a), len("accessory"))
		}
	}
	return w
}

// Accessory names the accessory a step boots, builds or delivers the
// image of; "" for the app's own steps.
func (st Step) Accessory() string {
	switch st.Kind {
	case StepBootAccessory, StepRebootAccessory, StepBuildImage, StepDeliverImage, StepEnsureImage:
		return st.Role // an image step of the app's own image has no Role
	}
	return ""
}

// plural counts n of a noun: "1 host", "2 hosts".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// describe says what one step does, in a few words.
func (st Step) describe() string {
	switch st.Kind {
	case StepEnsureNetwork:
		return "ensure network " + st.Container
	case StepBootProxy:
		return "boot kamal-proxy " + st.Image
	case StepRebootProxy:
		return "reboot kamal-proxy " + st.Image + " (" + strings.Join(st.Reasons, ", ") + "), routes kept; new connections are refused for about a second"
	case StepEnsureImage:
		return "ensure image " + st.Image
	case StepMigrate:
		return fmt.Sprintf("run %s: %s%s", st.Container, quoteArgs(st.Cmd), envNote(st))
	case StepStart:
		verb := "start " + st.Container
		if len(st.Reasons) > 0 {
			verb = fmt.Sprintf("replace %s (%s)", st.Container, strings.Join(st.Reasons, ", "))
		}
		if st.Reuse {
			verb = "start retained " + st.Container
		} else if len(st.Cmd) > 0 {
			verb += ": " + quoteArgs(st.Cmd)
		}
		if st.Reuse {
			return verb
		}
		return verb + envNote(st)
	case StepProxyDeploy:
		px := st.Proxy
		target := px.Target
		if st.Aside != "" {
			target += " by its container ID"
		}
		s := fmt.Sprintf("proxy %s -> %s once %s passes (every %s, timeout %s, deploy timeout %s, drain %s)",
			px.Name, target, px.HealthPath, dur(px.HealthInterval), dur(px.HealthTimeout), dur(px.DeployTimeout), dur(px.DrainTimeout))
		if len(px.Hosts) > 0 {
			s += " for " + strings.Join(px.Hosts, ", ")
		}
		if len(px.PathPrefixes) > 0 {
			s += " under " + strings.Join(px.PathPrefixes, ", ")
			if px.StripPathPrefix != nil && !*px.StripPathPrefix {
				s += " (prefix kept)"
			}
		}
		if px.TLS {
			s += " with TLS"
			if px.TLSCertificatePath != "" {
				s += " (custom certificate)"
			}
			if px.TLSRedirect != nil && !*px.TLSRedirect {
				s += ", plain HTTP served too"
			}
		}
		if px.ForwardHeaders != nil {
			s += map[bool]string{true: ", X-Forwarded headers passed on", false: ", X-Forwarded headers replaced"}[*px.ForwardHeaders]
		}
		return s
	case StepGate:
		if st.Gate == nil {
			return fmt.Sprintf("gate %s: keeps running for %s", st.Container, settleTime)
		}
		return fmt.Sprintf("gate %s: %s", st.Container, st.Gate)
	case StepStopOld:
		return "stop " + strings.Join(st.Old, ", ")
	case StepPrune:
		return "remove " + strings.Join(st.Old, ", ")
	case StepBuildImage:
		return "build image " + st.Image + " on this machine"
	case StepDeliverImage:
		if st.Anonymous {
			return "deliver image " + st.Image + ": the host pulls it from its registry, anonymously"
		}
		if st.ThroughRegistry {
			return "deliver image " + st.Image + ": the host pulls it from its registry"
		}
		return "deliver image " + st.Image + " over SSH (only the layers the host lacks)"
	case StepBootAccessory:
		return fmt.Sprintf("boot accessory %s (%s)%s", st.Container, st.Image, envNote(st))
	case StepRebootAccessory:
		return fmt.Sprintf("reboot accessory %s (%s): %s; stop the old one, then start it anew%s",
			st.Container, st.Image, strings.Join(st.Reasons, ", "), envNote(st))
	case StepHandoffPause, StepHandoffStop, StepHandoffStart, StepHandoffProxy, StepHandoffGate, StepHandoffResume:
		return st.describeHandoff()
	case StepBalancerDeploy:
		return st.describeBalancer()
	}
	return st.Kind.String()
}

func envNote(st Step) string {
	var parts []string
	if len(st.Env) > 0 {
		var kv []string
		for _, k := range sortedKeys(st.Env) {
			kv = append(kv, k+"="+st.Env[k])
		}
		parts = append(parts, "env "+strings.Join(kv, " "))
	}
	if len(st.Secrets) > 0 {
		parts = append(parts, "secrets "+strings.Join(st.Secrets, " "))
	}
	if len(st.Volumes) > 0 {
		parts = append(parts, "volumes "+strings.Join(st.Volumes, " "))
	}
	if len(st.Files) > 0 { // by path: the content may hold a credential
		parts = append(parts, "files "+strings.Join(st.Files, " "))
	}
	if st.Logging != nil { // only when not the default
		parts = append(parts, "logging "+st.Logging.String())
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// dur prints a duration the app configures (not one measured, see
// seconds) as Go writes it, so the plan shows the value as it was set;
// zero is the default.
func dur(d time.Duration) string {
	if d == 0 {
		return "default"
	}
	return d.String()
}
