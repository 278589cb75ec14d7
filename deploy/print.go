package deploy

import (
	"fmt"
	"strings"
	"time"
)

// String prints the plan as a dry run a person reads: every step, host by
// host, in the order the executor runs them. The print is stable (golden
// tests rely on it) and holds secret names, never their values.
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
	fmt.Fprintf(&b, "%s %s %s, image %s, to %d hosts in %d batches\n",
		verb, target, p.Version, p.Image, len(p.Hosts()), len(p.Batches))
	section := func(title string, steps []Step) {
		if len(steps) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", title)
		for _, st := range steps {
			fmt.Fprintf(&b, "  %-15s %-8s %s\n", st.Host, st.Role, st.describe())
		}
	}
	section("Prepare", p.Prepare)
	if p.Migrate != nil {
		section("Migrate", []Step{*p.Migrate})
	}
	for i, batch := range p.Batches {
		if i > 0 && p.Wait > 0 {
			fmt.Fprintf(&b, "Wait %s\n", p.Wait)
		}
		title := fmt.Sprintf("Batch %d of %d (%s)", i+1, len(p.Batches), strings.Join(batch.Hosts, ", "))
		if len(batch.Steps) == 0 {
			fmt.Fprintf(&b, "%s:\n  already running %s\n", title, p.Version)
			continue
		}
		section(title, batch.Steps)
	}
	section("Finish", p.Finish)
	return b.String()
}

// describe says what one step does, in a few words.
func (st Step) describe() string {
	switch st.Kind {
	case StepEnsureNetwork:
		return "ensure network " + st.Container
	case StepBootProxy:
		return "boot kamal-proxy " + st.Image
	case StepEnsureImage:
		return "ensure image " + st.Image
	case StepMigrate:
		return fmt.Sprintf("run %s: %s%s", st.Container, quoteArgs(st.Cmd), envNote(st))
	case StepStart:
		verb := "start " + st.Container
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
		s := fmt.Sprintf("proxy %s -> %s once %s passes (every %s, timeout %s, deploy timeout %s, drain %s)",
			px.Name, px.Target, px.HealthPath, dur(px.HealthInterval), dur(px.HealthTimeout), dur(px.DeployTimeout), dur(px.DrainTimeout))
		if len(px.Hosts) > 0 {
			s += " for " + strings.Join(px.Hosts, ", ")
		}
		if px.TLS {
			s += " with TLS"
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
		return "deliver image " + st.Image + " (only the layers the host lacks)"
	case StepBootAccessory:
		return fmt.Sprintf("boot accessory %s (%s)%s", st.Container, st.Image, envNote(st))
	case StepHandoffPause, StepHandoffStop, StepHandoffStart, StepHandoffProxy, StepHandoffGate, StepHandoffResume:
		return st.describeHandoff()
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
