package deploy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	ref "github.com/google/go-containerregistry/pkg/name"

	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/health"
)

// StepKind says what a step does.
type StepKind int

// The kinds of step, in the order a host meets them.
const (
	StepEnsureNetwork StepKind = iota + 1 // create the app's engine network if missing
	StepBootProxy                         // start the kamal-proxy container
	StepEnsureImage                       // make sure the release's image is on the host
	StepMigrate                           // run the migration in a one-off container
	StepStart                             // create and start the release's container (or start a retained one)
	StepProxyDeploy                       // point kamal-proxy at the new container once it is healthy
	StepGate                              // wait for a role without a proxy to be healthy
	StepStopOld                           // stop the role's previous containers
	StepPrune                             // remove stopped containers beyond the retention count
	StepBootAccessory                     // start an accessory that is not running
	StepBuildImage                        // build the release's image on this machine, once (Host is "")
	StepDeliverImage                      // deliver the built image to the host, over SSH or through the registry

	// A handoff replaces the container of a role that writes a Database
	// with one writer at a time (see handoff.go).
	StepHandoffPause  // hold the role's requests in kamal-proxy
	StepHandoffStop   // stop the old container: its replicator syncs and lets go
	StepHandoffStart  // start the new container
	StepHandoffProxy  // point the paused service at the new container once it is healthy
	StepHandoffGate   // wait for the new container of a role without a proxy to be healthy
	StepHandoffResume // send the held requests on to the new container

	// StepRebootProxy replaces a host's running kamal-proxy whose image,
	// ports or run options differ from the App's (see Step.Reasons),
	// keeping its routes; a deploy reboots one host at a time, before the
	// host's other steps in its batch.
	StepRebootProxy

	StepRebootAccessory // replace an accessory whose container no longer matches its declaration

	// StepBalancerDeploy points a balancer's route (see Balancer) at a
	// new list of web hosts, gated on every one being healthy; Old holds
	// the targets it had.
	StepBalancerDeploy
)

var stepNames = map[StepKind]string{
	StepEnsureNetwork:   "ensure-network",
	StepBootProxy:       "boot-proxy",
	StepEnsureImage:     "ensure-image",
	StepMigrate:         "migrate",
	StepStart:           "start",
	StepProxyDeploy:     "proxy-deploy",
	StepGate:            "gate",
	StepStopOld:         "stop-old",
	StepPrune:           "prune",
	StepBootAccessory:   "boot-accessory",
	StepBuildImage:      "build-image",
	StepDeliverImage:    "deliver-image",
	StepHandoffPause:    "handoff-pause",
	StepHandoffStop:     "handoff-stop",
	StepHandoffStart:    "handoff-start",
	StepHandoffProxy:    "handoff-proxy",
	StepHandoffGate:     "handoff-gate",
	StepHandoffResume:   "handoff-resume",
	StepRebootProxy:     "reboot-proxy",
	StepRebootAccessory: "reboot-accessory",
	StepBalancerDeploy:  "balancer-deploy",
}

// String returns the step's name as audit lines record it ("start", "proxy-deploy", ...).
func (k StepKind) String() string {
	if n, ok := stepNames[k]; ok {
		return n
	}
	return fmt.Sprintf("StepKind(%d)", int(k))
}

// Step is one action on one host.
type Step struct {
	Kind StepKind
	Host string
	// Role is the role the step is for; "" for host-wide steps. The image
	// steps of an accessory carry the accessory's name.
	Role string
	// Container is the container the step makes or acts on.
	Container string
	Image     string
	// Reuse starts the retained container of that name instead of
	// creating one (a rollback to a version still on the host).
	Reuse bool
	// Cmd is the container's command, when the role overrides it.
	Cmd []string
	// Env holds the clear env values; Secrets names the secrets whose
	// values are added at apply time, never kept in the plan.
	Env     map[string]string
	Secrets []string
	// Proxy is the kamal-proxy deploy of a StepProxyDeploy, or of a
	// StepBalancerDeploy (its Targets the new list).
	Proxy *proxy.Service
	// Gate is the health gate of a StepGate.
	Gate health.Gate
	// Old are the containers a StepStopOld stops or a StepPrune removes,
	// and on a handoff's steps the containers it stops and, should the
	// new one fail, starts again. On a StepBalancerDeploy they are the
	// targets the balancer's route had ("host:port"; none for a new route).
	Old []string
	// Fingerprint is what defines the container a StepStart (or
	// StepHandoffStart), a StepBootAccessory or a StepRebootAccessory
	// makes; the executor labels the container with it (LabelFingerprint,
	// see also AccessoryFingerprint) so that the next plan can compare.
	Fingerprint Fingerprint
	// Aside is set on a start step that replaces a container of the same
	// name (see Reasons): the executor renames that container to Aside
	// (AsideName) before it makes the new one, after pointing kamal-proxy
	// at it by its ID so that no request finds the name missing. The old
	// container is then stopped and retained under Aside like any older
	// version, and renamed back should the new one fail. On the
	// replacement's gated StepProxyDeploy it makes the executor target
	// the new container by its ID, not its name (see roleSteps).
	Aside string
	// MaxPause is how long a StepHandoffPause lets each request wait.
	MaxPause time.Duration
	// Volumes are the volumes the step's new container mounts,
	// "name:/path[:ro]": App.Volumes for a release or migration container,
	// the accessory's own for StepBootAccessory. They are shown so the
	// plan says what a deploy mounts; the executor mounts the same from
	// the App.
	Volumes []string
	// Files are the paths a StepBootAccessory writes into the container
	// before it starts (Accessory.Files), sorted. Only paths: a file's
	// content may hold a credential and is never kept in the plan.
	Files []string
	// Logging is the log driver and options of the step's new container
	// (a start, a migration, an accessory's boot) when they are not the
	// default (DefaultLogDriver capped at DefaultLogMaxSize), so the plan
	// shows them; nil otherwise. The executor gives the container the
	// same, from the App.
	Logging *Logging
	// Reasons say why a start step replaces a container of the same name,
	// a StepRebootProxy the running proxy, or a StepRebootAccessory the
	// running accessory: "env LOG_LEVEL changed", "secret SECRET_KEY_BASE
	// rotated", "image changed", "http-port changed", ...; nil when a
	// step makes or starts a container as it is.
	Reasons []string
	// ThroughRegistry is set on the build and delivery steps of an image
	// that goes through App.Registry: the build pushes it there and each
	// host pulls it. Unset, a built image goes to each host over its SSH
	// connection, only the layers the host lacks.
	ThroughRegistry bool
	// Anonymous is set on the delivery of an accessory's image from a
	// registry other than App.Registry's: the host pulls it without a
	// login, since the app's is never offered to another registry.
	Anonymous bool
}

// Batch is a set of hosts that boot at the same time, and their steps,
// each host's in order.
type Batch struct {
	Hosts []string
	Steps []Step
}

// StepsOn returns the batch's steps on host, in order.
func (b Batch) StepsOn(host string) []Step {
	var out []Step
	for _, s := range b.Steps {
		if s.Host == host {
			out = append(out, s)
		}
	}
	return out
}

// Plan is an ordered list of steps that takes an app's hosts from what
// they run to a release. It is a value: print it, compare it in tests,
// and hand the same value to the executor.
type Plan struct {
	Service     string
	Destination string
	Version     string
	Image       string
	// Rollback is set when the plan returns to a retained version.
	Rollback bool
	// Prepare runs on every host before anything boots: network, proxy, image.
	Prepare []Step
	// Migrate runs on the primary host after Prepare, before any traffic shifts.
	Migrate *Step
	// Batches boot in order; a failing batch stops the plan.
	Batches []Batch
	// Finish runs after every batch has booted.
	Finish []Step
	// Wait is the pause between batches; it is skipped next to a batch
	// that has nothing to do.
	Wait time.Duration
	// Uncompared names the secrets whose values the plan could not
	// compare with those of the containers that run (Release.Secrets
	// holds no digest of them, as in an offline plan), when containers
	// to compare with run: a rotation of one of them goes unseen.
	Uncompared []string
	// Hooks names the App's hooks the deploy calls, in the order it
	// first calls them ("PreDeploy", "PreAppBoot", "PostAppBoot",
	// "PostDeploy"). PreConnect is not among them: it runs when the
	// Session connects, before any plan is made.
	Hooks []string
	// Drifted are the accessories whose running container no longer
	// matches its declaration but whose Accessory.Drift is DriftReport:
	// a StepRebootAccessory each, with its Reasons, that the plan prints
	// and the executor does not run (`accessory:reboot NAME` does).
	Drifted []Step
}

// Hosts lists every host the plan touches, in boot order.
func (p Plan) Hosts() []string {
	var hosts []string
	for _, b := range p.Batches {
		hosts = append(hosts, b.Hosts...)
	}
	return hosts
}

// Steps returns every step in the order the executor meets them.
func (p Plan) Steps() []Step {
	steps := slices.Clone(p.Prepare)
	if p.Migrate != nil {
		steps = append(steps, *p.Migrate)
	}
	for _, b := range p.Batches {
		steps = append(steps, b.Steps...)
	}
	return append(steps, p.Finish...)
}

// ErrNothingToDeploy means every host already runs the release: NewPlan
// returns it with an empty plan (no step, no batch, no migration), whose
// String says so. Session.Deploy and Session.Rollback report it as
// "nothing to deploy" and succeed.
var ErrNothingToDeploy = errors.New("every host already runs this release")

// NewPlan makes the plan that takes the hosts from state to release. It
// does no I/O. The app must be valid (see App.Validate) — NewPlan returns
// the validation error otherwise. When state already runs the release
// everywhere (see StateRunning), NewPlan returns the empty plan and
// ErrNothingToDeploy.
func NewPlan(a App, r Release, state State) (Plan, error) {
	a, err := a.expand() // validated, with the sidecars and replica env its Databases imply
	if err != nil {
		return Plan{}, err
	}
	if err := r.Validate(); err != nil {
		return Plan{}, err
	}
	if err := state.Validate(a); err != nil {
		return Plan{}, err // a hand-built state of the wrong shape would restart what runs
	}
	image := r.ImageRef(a)
	p := Plan{Service: a.Service, Destination: a.Destination, Version: r.Version, Image: image, Wait: a.Boot.Wait,
		Hooks: a.Hooks.names()}
	viaRegistry := a.Registry != nil
	reboots := map[string]Step{} // by host, applied first in the host's batch

	for _, h := range a.HostNames() {
		p.Prepare = append(p.Prepare, Step{Kind: StepEnsureNetwork, Host: h, Container: a.network()})
		if b, ok := proxyBoot(a, h); ok {
			if ps := state.Hosts[h].Proxy; ps == nil || !ps.Running {
				p.Prepare = append(p.Prepare, Step{Kind: StepBootProxy, Host: h, Container: proxy.DefaultContainer, Image: b.Spec().Image})
			} else if why := proxyDrift(b, ps); len(why) > 0 {
				st := Step{Kind: StepRebootProxy, Host: h, Container: proxy.DefaultContainer, Image: b.Spec().Image, Reasons: why}
				if len(a.rolesOn(h)) == 0 {
					p.Prepare = append(p.Prepare, st) // a balancer's: it is in no batch
				} else {
					reboots[h] = st
				}
			}
		}
		switch {
		case retainsAll(a, state, h, r.Version):
		case a.Build != nil || a.Registry != nil && !state.hasImage(h, image):
			// A build is delivered even where the tag exists: delivery
			// sends nothing to a host that holds the same image ID.
			p.Prepare = append(p.Prepare, Step{Kind: StepDeliverImage, Host: h, Image: image, ThroughRegistry: viaRegistry})
		case !state.hasImage(h, image):
			p.Prepare = append(p.Prepare, Step{Kind: StepEnsureImage, Host: h, Image: image})
		}
		p.Prepare, p.Drifted = accessorySteps(a, state, r.Secrets, h, p.Prepare, p.Drifted)
	}
	var builds []Step
	if a.Build != nil && delivers(p.Prepare, "") {
		builds = append(builds, Step{Kind: StepBuildImage, Image: image, ThroughRegistry: viaRegistry})
	}
	for _, name := range sortedKeys(a.Accessories) {
		if acc := a.Accessories[name]; acc.Build != nil && delivers(p.Prepare, name) {
			builds = append(builds, Step{Kind: StepBuildImage, Role: name, Image: acc.Image, ThroughRegistry: acc.Registry != nil || a.accessoryPull(name)})
		}
	}
	p.Prepare = append(builds, p.Prepare...)
	hosts := a.roleHosts()

	if m := a.Migrate; m != nil {
		role := orDefault(m.Role, a.primaryRole())
		env, secrets := a.envFor(role, a.PrimaryHost()) // the migration runs there
		p.Migrate = &Step{Kind: StepMigrate, Host: a.PrimaryHost(), Role: role, Container: MigrateName(a, r.Version),
			Image: image, Cmd: m.Cmd, Env: env, Secrets: secrets, Volumes: slices.Clone(a.Volumes), Logging: a.loggingNote(role)}
	}

	for _, group := range batches(a, hosts) {
		b := Batch{Hosts: group}
		for _, h := range group {
			if st, ok := reboots[h]; ok {
				b.Steps = append(b.Steps, st)
			}
			for _, role := range a.rolesOn(h) {
				b.Steps = append(b.Steps, roleSteps(a, r, image, state, h, role)...)
			}
		}
		p.Batches = append(p.Batches, b)
	}

	p.Finish = balancerSteps(a, state) // once every batch serves: the balancer's list changes last
	for _, h := range hosts {
		for _, role := range a.rolesOn(h) {
			if old := pruned(a, r.Version, state, h, role); len(old) > 0 {
				p.Finish = append(p.Finish, Step{Kind: StepPrune, Host: h, Role: role, Old: old})
			}
		}
	}
	p.Uncompared = uncompared(a, r, state)
	if p.idle() {
		// Nothing boots, so nothing is migrated, waited for or pruned:
		// leftovers beyond Retain are prune's business, not a deploy's.
		return Plan{Service: p.Service, Destination: p.Destination, Version: p.Version, Image: p.Image,
			Drifted: p.Drifted, Uncompared: p.Uncompared}, ErrNothingToDeploy
	}
	return p, nil
}

// idle reports whether the plan changes nothing that runs: no batch has
// a step and Prepare only checks networks that exist wherever the
// release runs.
func (p Plan) idle() bool {
	for _, b := range p.Batches {
		if len(b.Steps) > 0 {
			return false
		}
	}
	for _, st := range p.Prepare {
		if st.Kind != StepEnsureNetwork {
			return false
		}
	}
	return !slices.ContainsFunc(p.Finish, func(st Step) bool { return st.Kind == StepBalancerDeploy })
}

// WaitsBefore reports whether the executor pauses Plan.Wait before batch
// i: only between two batches that each have steps, so hosts that
// already run the release cost no waiting.
func (p Plan) WaitsBefore(i int) bool {
	if p.Wait <= 0 || i <= 0 || i >= len(p.Batches) || len(p.Batches[i].Steps) == 0 {
		return false
	}
	for _, b := range p.Batches[:i] {
		if len(b.Steps) > 0 {
			return true
		}
	}
	return false
}

// filePaths lists the paths of an accessory's files, sorted; nil for none.
func filePaths(files map[string]string) []string {
	if len(files) == 0 {
		return nil
	}
	return sortedKeys(files)
}

// names lists the hooks set that a deploy calls, in the order it calls them.
func (h Hooks) names() []string {
	var out []string
	for _, hook := range []struct {
		name string
		set  bool
	}{
		{"PreDeploy", h.PreDeploy != nil},
		{"PreAppBoot", h.PreAppBoot != nil},
		{"PostAppBoot", h.PostAppBoot != nil},
		{"PostDeploy", h.PostDeploy != nil},
	} {
		if hook.set {
			out = append(out, hook.name)
		}
	}
	return out
}

// batches groups hosts by the boot limit. The primary host boots alone
// first whatever the limit, as Kamal's barrier does: the other roles and
// hosts boot only once the primary role's first container is healthy,
// so a release whose web role fails its gate never reaches a worker.
// The rest boot Limit (or LimitPercent) at a time, all at once when no
// limit is set.
func batches(a App, hosts []string) [][]string {
	if len(hosts) <= 1 {
		return [][]string{hosts}
	}
	limit := a.Boot.Limit
	if a.Boot.LimitPercent > 0 {
		limit = max(1, len(hosts)*a.Boot.LimitPercent/100)
	}
	rest := hosts[1:]
	if limit <= 0 {
		limit = len(rest)
	}
	groups := [][]string{hosts[:1]}
	for len(rest) > 0 {
		n := min(limit, len(rest))
		groups = append(groups, rest[:n])
		rest = rest[n:]
	}
	return groups
}

// roleSteps boots role's release container on host and retires the old
// one. The container of the release that runs already is compared with
// the one the release makes now (see Step.Fingerprint): when they differ
// it is replaced through the same gated path as a new version, renamed
// aside first so that its name is free (see Step.Aside); a retained
// stopped one that differs is replaced too, not started again. One with
// no fingerprint, made by a Slipway that did not fingerprint containers,
// is taken as it is, so an upgrade of Slipway restarts nothing.
func roleSteps(a App, rel Release, image string, state State, host, role string) []Step {
	version := rel.Version
	name := ContainerName(a, role, version)
	r := a.Roles[role]
	existing, exists := state.container(host, name)

	env, secrets := a.envFor(role, host)
	start := Step{Kind: StepStart, Host: host, Role: role, Container: name, Image: image,
		Reuse: exists, Cmd: r.Cmd, Env: env, Secrets: secrets}
	start.Fingerprint = stepFingerprint(a, version, start, rel.Secrets).With(proxyParts(a, role, rel.Secrets))
	if exists {
		start.Reasons = start.Fingerprint.Changes(existing.Fingerprint)
		if state.imageChanged(host, image, existing) && !slices.Contains(start.Reasons, "image changed") {
			start.Reasons = append([]string{"image changed"}, start.Reasons...)
		}
	}
	replace := exists && len(start.Reasons) > 0
	var old []string
	if replace {
		start.Reuse, start.Aside = false, AsideName(name, existing.ID)
		if existing.Running {
			old = append(old, start.Aside)
		}
	}
	for _, c := range state.Containers(a, host, role) {
		if c.Running && c.Name != name {
			old = append(old, c.Name)
		}
	}
	if exists && !replace && existing.Running && len(old) == 0 && proxyPointsAt(a, state, host, role, name) {
		return nil // already serving this release, as the release defines it
	}
	if !start.Reuse { // a retained container keeps the mounts and logging it was made with
		start.Volumes = slices.Clone(a.Volumes)
		start.Logging = a.loggingNote(role)
	}
	if a.handoffRole(role) && len(old) > 0 {
		return handoffSteps(a, start, old)
	}
	steps := []Step{start}
	if r.Proxy != nil {
		// A replacement is switched to by its ID: the engine's DNS may
		// still give its name to the old container, renamed aside, until
		// that one stops (seen with Docker 20.10). Once it has, the
		// service is pointed at the name, as for any release.
		steps = append(steps, Step{Kind: StepProxyDeploy, Host: host, Role: role, Container: name,
			Proxy: proxyDeploy(a, role, name, host), Aside: start.Aside})
	} else {
		steps = append(steps, Step{Kind: StepGate, Host: host, Role: role, Container: name, Gate: r.Health})
	}
	if len(old) > 0 {
		steps = append(steps, Step{Kind: StepStopOld, Host: host, Role: role, Old: old})
	}
	if r.Proxy != nil && start.Aside != "" {
		steps = append(steps, Step{Kind: StepProxyDeploy, Host: host, Role: role, Container: name,
			Proxy: proxyDeploy(a, role, name, host)})
	}
	return steps
}

// accessorySteps appends to prepare what host needs for the app's
// accessories: for each one missing, its image and its boot; for each
// one stopped, a start (or, when it drifted, a reboot); for each one
// running with another fingerprint than its declaration's, its image
// and a reboot with the reasons, or, with DriftReport, an entry in
// drifted. One that runs as declared needs nothing.
func accessorySteps(a App, state State, digests SecretDigests, host string, prepare, drifted []Step) ([]Step, []Step) {
	for _, name := range sortedKeys(a.Accessories) {
		if !slices.Contains(a.accessoryHosts(name), host) {
			continue
		}
		acc := a.Accessories[name]
		st := Step{Kind: StepBootAccessory, Host: host, Role: name, Container: AccessoryName(a, name),
			Image: acc.Image, Cmd: acc.Cmd, Env: maps.Clone(acc.Env.Clear), Secrets: slices.Sorted(slices.Values(acc.Env.Secret)),
			Volumes: slices.Clone(acc.Volumes), Files: filePaths(acc.Files), Logging: a.loggingNote(name),
			Fingerprint: AccessoryFingerprint(a, name, digests)}
		if st.Env == nil {
			st.Env = map[string]string{}
		}
		c, exists := state.container(host, st.Container)
		if exists {
			st.Reasons = st.Fingerprint.Changes(c.Fingerprint)
		}
		switch {
		case !exists:
		case len(st.Reasons) == 0 && c.Running:
			continue // runs as declared
		case len(st.Reasons) == 0: // stopped as declared: started again
			prepare = append(prepare, st)
			continue
		case acc.Drift == DriftReport:
			st.Kind = StepRebootAccessory
			drifted = append(drifted, st)
			if !c.Running { // stopped: started again as it was, not rebooted
				st.Kind, st.Reasons = StepBootAccessory, nil
				prepare = append(prepare, st)
			}
			continue
		default:
			st.Kind = StepRebootAccessory
		}
		prepare = append(prepare, accessoryImage(a, state, host, name)...)
		prepare = append(prepare, st)
	}
	return prepare, drifted
}

// accessoryImage is what puts accessory name's image on host, where its
// container is to be created: a delivery of its build, or a pull (with
// the app's registry login when the image is that registry's,
// anonymously otherwise) when the host lacks it.
func accessoryImage(a App, state State, host, name string) []Step {
	acc := a.Accessories[name]
	login := acc.Registry != nil || a.accessoryPull(name)
	switch {
	case acc.Build != nil:
		return []Step{{Kind: StepDeliverImage, Host: host, Role: name, Image: acc.Image, ThroughRegistry: login}}
	case !state.hasImage(host, acc.Image):
		return []Step{{Kind: StepDeliverImage, Host: host, Role: name, Image: acc.Image, ThroughRegistry: true, Anonymous: !login}}
	}
	return nil
}

// accessoryPull reports whether accessory name's image comes through
// App.Registry: it is in the registry App.Image names. The login is never
// offered to another registry.
func (a App) accessoryPull(name string) bool {
	if a.Registry == nil {
		return false
	}
	app, err := ref.ParseReference(a.Image)
	if err != nil {
		return false
	}
	acc, err := ref.ParseReference(a.Accessories[name].Image)
	return err == nil && acc.Context().RegistryStr() == app.Context().RegistryStr()
}

// delivers reports whether steps deliver the image of owner: "" for the
// app's, an accessory's name for its own.
func delivers(steps []Step, owner string) bool {
	return slices.ContainsFunc(steps, func(st Step) bool { return st.Kind == StepDeliverImage && st.Role == owner })
}

func proxyPointsAt(a App, state State, host, role, name string) bool {
	r := a.Roles[role]
	if r.Proxy == nil {
		return true
	}
	ps := state.Hosts[host].Proxy
	return ps != nil && ps.Running && ps.Services[ProxyService(a, role)] == fmt.Sprintf("%s:%d", name, r.Proxy.appPort())
}

// proxyDeploy is role's kamal-proxy route on host to container name;
// host "" leaves out what only one host's route holds (see
// behindBalancer), as a fingerprint of the route must.
func proxyDeploy(a App, role, name, host string) *proxy.Service {
	px := a.Roles[role].Proxy
	svc := routeOf(a, role)
	svc.Target = fmt.Sprintf("%s:%d", name, px.appPort())
	svc.Hosts = px.Hosts
	svc.TLS = px.TLS
	svc.TLSRedirect = px.SSLRedirect
	svc.ForwardHeaders = px.ForwardHeaders
	svc.StripPathPrefix = px.StripPathPrefix
	if px.TLSCertificate != "" {
		svc.TLS = true
		svc.TLSCertificatePath, svc.TLSPrivateKeyPath = proxy.CertPaths(svc.Name, name)
	}
	if px.PathPrefix != "" {
		svc.PathPrefixes = []string{px.PathPrefix}
	}
	behindBalancer(px, svc, host)
	return svc
}

// routeOf is what a role's routes share, on its hosts and on its
// balancer: the service name, the health check and the timeouts and
// buffering of the role's Proxy.
func routeOf(a App, role string) *proxy.Service {
	px := a.Roles[role].Proxy
	gate := px.Health.WithDefaults()
	return &proxy.Service{
		Name:            ProxyService(a, role),
		HealthPath:      gate.Path,
		HealthInterval:  gate.Interval,
		HealthTimeout:   gate.Timeout,
		DeployTimeout:   orDefault(px.DeployTimeout, DefaultDeployTimeout),
		DrainTimeout:    orDefault(px.DrainTimeout, DefaultDrainTimeout),
		ResponseTimeout: px.ResponseTimeout,
		BufferRequests:  px.BufferRequests,
		BufferResponses: px.BufferResponses,
	}
}

// pruned lists the role's containers on host that fall beyond the
// retention count once the release runs: everything but the release and
// the newest Retain others.
func pruned(a App, version string, state State, host, role string) []string {
	name := ContainerName(a, role, version)
	var others []string
	for _, c := range state.Containers(a, host, role) { // newest first
		if c.Name != name {
			others = append(others, c.Name)
		}
	}
	if len(others) <= a.retain() {
		return nil
	}
	old := others[a.retain():]
	sort.Strings(old)
	return old
}

func proxyOn(a App, host string) *Proxy {
	for _, role := range append(a.rolesOn(host), a.balancedOn(host)...) {
		if px := a.Roles[role].Proxy; px != nil {
			return px
		}
	}
	return nil
}

// retainsAll reports whether host still has the version's container for
// every role it runs, so a rollback needs no image there.
func retainsAll(a App, state State, host, version string) bool {
	for _, role := range a.rolesOn(host) {
		if _, ok := state.container(host, ContainerName(a, role, version)); !ok {
			return false
		}
	}
	return true
}
