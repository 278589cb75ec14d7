package deploy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/internal/lab"
)

// fleetSizes are the fleet sizes BenchmarkFleet measures, each one batch.
var fleetSizes = flag.String("fleet.sizes", "1,10,30", "host counts BenchmarkFleet deploys to, comma-separated")

// fleetJump are the fleet sizes BenchmarkFleet also measures with every
// host behind the lab's bastion.
// fleetParallel is the Options.Parallel of Slipway's deploys and the
// Kamal-style sequence's hosts at once; 0 means deploy.DefaultParallel.
var fleetParallel = flag.Int("fleet.parallel", 0, "Options.Parallel of the Slipway deploys and hosts at once of the Kamal-style sequence (0: deploy.DefaultParallel)")

// parallel is -fleet.parallel with the default applied.
func parallel() int {
	if *fleetParallel > 0 {
		return *fleetParallel
	}
	return deploy.DefaultParallel
}

var fleetJump = flag.String("fleet.jump", "30", `host counts BenchmarkFleet deploys to behind the lab's bastion, comma-separated ("" for none)`)

// fleetRuns is how many timed deploys of each kind BenchmarkFleet takes
// the median of.
const fleetRuns = 3

// BenchmarkFleet deploys the lab's test app to 1, 10 and 30 lab hosts in
// one batch (Boot.Limit 0, the image present on every host; with the
// health barrier, the primary host boots alone first) and prints,
// side by side for each fleet size, the median of three runs of:
//
//   - Slipway: Connect, Deploy and Close, alternating v2 and v1;
//   - the engines' floor: on every engine at once, without Slipway,
//     create and start a container on the app network and switch a
//     kamal-proxy route to it (the same engine work the deploy does);
//   - the Kamal-style sequence: the remote commands Kamal 2 runs for
//     `kamal deploy -P` (kamalDeploy), as docker CLI invocations over
//     OpenSSH with one ControlMaster per host, each phase on every host
//     with Slipway's parallelism (deploy.DefaultParallel).
//
// Then the same for 30 hosts behind the lab's bastion (lab.Bastion,
// whose sshd takes at most 10 connections not yet logged in): Slipway
// with a Jump on every server (one shared connection to the bastion),
// the floor over engines reached through one connection to the bastion,
// and the Kamal-style sequence with each host's ControlMaster reached
// through a ProxyCommand `ssh -W %h:%p bastion` of its own, which is
// what Kamal's ssh.proxy (net-ssh's Jump proxy) runs. A Kamal-style run
// that fails is reported with its reason instead of a time; the most
// connections to the bastion each opened at once, counted on the
// bastion, are printed beside.
//
// After every deploy, and after a final rollback, every host's
// kamal-proxy must serve the new (then the old) release, and through
// the bastion Slipway's deploys must hold one connection to it. Hosts
// are taken h14 first, so that fleets of up to 17 hosts stay off
// h1..h13 (lab.SuiteHosts, which the lab tests use); 30 hosts take all
// of h1..h30, each with a service name and proxy routes of the
// benchmark's own.
//
//	go run mage.go benchFleet -sizes=1,10,30 -jump=30
//	go test -run '^$' -bench Fleet -benchtime 1x ./deploy/ -args -fleet.sizes=1,10,22 -fleet.jump=
func BenchmarkFleet(b *testing.B) {
	sizes := fleetCounts(b, "-fleet.sizes", *fleetSizes)
	jumps := fleetCounts(b, "-fleet.jump", *fleetJump)
	l := lab.Require(b, slices.Max(append(slices.Clone(sizes), jumps...)))
	order := fleetOrder(l.Hosts)
	var bastion *lab.Bastion
	if len(jumps) > 0 {
		bs := l.RequireBastion(b)
		bastion = &bs
	}

	var rows []fleetRow
	for range b.N {
		rows = rows[:0]
		for _, n := range sizes {
			rows = append(rows, benchFleet(b, order[:n], nil))
		}
		for _, n := range jumps {
			rows = append(rows, benchFleet(b, order[:n], bastion))
		}
	}
	b.StopTimer()
	fmt.Fprintf(os.Stdout, "\nfleet deploy, one batch, image present, median of %d (Slipway: connect + deploy + close), %d hosts at once:\n", fleetRuns, parallel())
	fmt.Fprintf(os.Stdout, "  %-17s  %9s  %12s  %11s  %13s  %19s  %9s  %10s  %15s\n",
		"hosts", "Slipway", "engine floor", "Kamal-style", "Slipway/floor", "Kamal-style/Slipway", "rollback", "floor+stop", "Slipway/(f+s)")
	for _, r := range rows {
		kamal, kratio := secs(r.kamal), fmt.Sprintf("%18.2fx", ratio(r.kamal, r.slipway))
		if r.kamal == 0 {
			kamal, kratio = "failed", fmt.Sprintf("%19s", "-")
		}
		fmt.Fprintf(os.Stdout, "  %-17s  %9s  %12s  %11s  %12.2fx  %s  %9s  %10s  %14.2fx\n",
			r.name(), secs(r.slipway), secs(r.floor), kamal,
			ratio(r.slipway, r.floor), kratio, secs(r.rollback), secs(r.floorStop), ratio(r.slipway, r.floorStop))
		metric := fmt.Sprintf("%dhosts", r.hosts)
		if r.jump {
			metric += "-bastion"
		}
		b.ReportMetric(r.slipway.Seconds(), "slipway-"+metric+"-s")
		b.ReportMetric(r.floor.Seconds(), "floor-"+metric+"-s")
		b.ReportMetric(r.floorStop.Seconds(), "floor-stop-"+metric+"-s")
		if r.kamal > 0 {
			b.ReportMetric(r.kamal.Seconds(), "kamal-"+metric+"-s")
		}
	}
	for _, r := range rows {
		if r.jump {
			fmt.Fprintf(os.Stdout, "%s: connections to the bastion (MaxStartups %d) each opened, the most at once, counted on the bastion: Slipway %d, floor %d, Kamal-style %d\n",
				r.name(), lab.BastionMaxStartups, r.bastionConns[0], r.bastionConns[1], r.bastionConns[2])
			fmt.Fprintf(os.Stdout, "  Kamal-style: %s\n", r.kamalOutcome)
		}
	}
	for _, r := range []fleetRow{lastRow(rows, false), lastRow(rows, true)} {
		if r.hosts > 0 {
			fmt.Fprintf(os.Stdout, "where Slipway's time goes at %s (median run; steps: slowest host, from the deploy's start):\n%s",
				r.name(), r.breakdown)
		}
	}
}

// fleetCounts parses a comma-separated list of host counts from flag.
func fleetCounts(b *testing.B, flag, list string) []int {
	var counts []int
	for _, f := range strings.Split(list, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > lab.MaxHosts {
			b.Fatalf("%s: %q is not a host count from 1 to %d", flag, f, lab.MaxHosts)
		}
		counts = append(counts, n)
	}
	return counts
}

// lastRow is the last of rows behind the bastion (jump) or not; the zero
// row when there is none.
func lastRow(rows []fleetRow, jump bool) fleetRow {
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].jump == jump {
			return rows[i]
		}
	}
	return fleetRow{}
}

// fleetOrder is the lab's hosts in the order fleets take them: those
// past lab.SuiteHosts (h14 and up) first, then the suite's own.
func fleetOrder(hosts []lab.Host) []lab.Host {
	var spare, shared []lab.Host
	for _, h := range hosts {
		if n, _ := strconv.Atoi(h.Name[1:]); n <= lab.SuiteHosts {
			shared = append(shared, h)
		} else {
			spare = append(spare, h)
		}
	}
	return append(spare, shared...)
}

// fleetRow is one fleet size's figures.
type fleetRow struct {
	hosts                 int
	jump                  bool // every host behind the lab's bastion
	slipway, floor, kamal time.Duration
	// floorStop is the floor and then the stop of the previous
	// container on every engine at once, which a deploy does too.
	floorStop time.Duration
	rollback  time.Duration
	breakdown string
	// Behind the bastion: the most connections to it each of Slipway,
	// the floor and Kamal-style opened at once (the floor's one, open
	// throughout, is not counted), and what the Kamal-style runs did.
	bastionConns [3]int
	kamalOutcome string
}

func (r fleetRow) name() string {
	if r.jump {
		return fmt.Sprintf("%d via bastion", r.hosts)
	}
	return strconv.Itoa(r.hosts)
}

// benchFleet measures one fleet size: its hosts reached directly, or
// through bastion when it is not nil.
func benchFleet(b *testing.B, hosts []lab.Host, bastion *lab.Bastion) fleetRow {
	ctx := context.Background()
	base := fmt.Sprintf("fleet%d-%04d", len(hosts), mrand.Uint32()%10_000)
	if bastion != nil {
		base = fmt.Sprintf("fleetj%d-%04d", len(hosts), mrand.Uint32()%10_000)
	}
	a := testApp(base, hosts)
	if bastion != nil {
		a = behindBastion(a, *bastion)
	}
	lab.CleanupService(b, hosts, base) // the Slipway service, and every route named base-…
	fl := newFloor(b, base, hosts, bastion)
	ks := newKamalStyle(b, base, hosts, nil)

	// The first deploy boots kamal-proxy and makes the network on a
	// fresh host: untimed, as is a first run of the others. Kamal-style's
	// first run goes to the hosts directly, so that its timed runs
	// through the bastion start from a deployed service even when they
	// fail.
	slipwayDeploy(b, a, "v1")
	requireEveryHostServes(b, hosts, base+".test", "v1")
	fl.run(b, "v1")
	if _, err := ks.deploy("v1"); err != nil {
		b.Fatalf("Kamal-style sequence: %v", err)
	}
	ks.bastion = bastion

	row := fleetRow{hosts: len(hosts), jump: bastion != nil}
	watch := func(i int, f func()) {
		if bastion == nil {
			f()
			return
		}
		// The floor's connection is open throughout: count those a
		// deploy opens beside the ones already open.
		open, err := bastion.ClientConnections()
		if err != nil {
			b.Fatal(err)
		}
		w := watchBastion(*bastion)
		f()
		all, _ := w.finish(b)
		row.bastionConns[i] = max(row.bastionConns[i], slices.Max(all)-open)
	}
	var slipway, floor, floorStop, kamal []time.Duration
	var reports []fleetReport
	var kamalFailed []string
	for i := range fleetRuns {
		version := []string{"v2", "v1"}[i%2]
		var r fleetReport
		watch(0, func() { r = slipwayDeploy(b, a, version) })
		requireEveryHostServes(b, hosts, base+".test", version)
		slipway, reports = append(slipway, r.wall), append(reports, r)

		watch(1, func() {
			switched, stopped := fl.run(b, version)
			floor, floorStop = append(floor, switched), append(floorStop, switched+stopped)
		})
		requireEveryHostServes(b, hosts, fl.vhost, version)

		var took time.Duration
		var err error
		watch(2, func() { took, err = ks.deploy(version) })
		switch {
		case err == nil:
			kamal = append(kamal, took)
			requireEveryHostServes(b, hosts, ks.vhost, version)
		case bastion != nil: // the point of the bastion row: report it
			kamalFailed = append(kamalFailed, fmt.Sprintf("run %d after %s: %v", i+1, secs(took), err))
			ks.unlock(b)
		default:
			b.Fatalf("Kamal-style sequence: %v", err)
		}
	}
	if bastion != nil && row.bastionConns[0] != 1 {
		b.Fatalf("Slipway's deploys held %d connections to the bastion at once, want 1", row.bastionConns[0])
	}
	row.kamalOutcome = fmt.Sprintf("%d of %d runs succeeded", len(kamal), fleetRuns)
	if len(kamalFailed) > 0 {
		row.kamalOutcome += "; failed: " + strings.Join(kamalFailed, "; ")
	}
	// The last deploy was v2: roll back to v1, retained on every host.
	start := time.Now()
	s, err := deploy.Connect(ctx, a, deploy.Options{Output: io.Discard, Performer: "fleet-bench", Parallel: parallel()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Rollback(ctx, "v1"); err != nil {
		b.Fatal(err)
	}
	s.Close()
	rollback := time.Since(start)
	requireEveryHostServes(b, hosts, base+".test", "v1")

	mid := medianIndex(slipway)
	row.slipway, row.floor, row.floorStop, row.rollback, row.breakdown = slipway[mid], median(floor), median(floorStop), rollback, reports[mid].breakdown()
	if len(kamal) > 0 {
		row.kamal = median(kamal)
	}
	return row
}

// fleetReport is one timed Slipway deploy: its phases and its report.
type fleetReport struct {
	wall, connect, close time.Duration
	start                time.Time
	rep                  *deploy.Report
}

func slipwayDeploy(b *testing.B, a deploy.App, version string) fleetReport {
	ctx := context.Background()
	r := fleetReport{start: time.Now()}
	s, err := deploy.Connect(ctx, a, deploy.Options{Output: io.Discard, Performer: "fleet-bench", Parallel: parallel()})
	if err != nil {
		b.Fatal(err)
	}
	r.connect = time.Since(r.start)
	r.rep, err = s.Deploy(ctx, deploy.Release{Version: version})
	if err != nil {
		b.Fatal(err)
	}
	closing := time.Now()
	s.Close()
	r.close = time.Since(closing)
	r.wall = time.Since(r.start)
	return r
}

// breakdown prints the deploy's phases: connect, what comes before the
// plan is applied (secrets, engine check, lock, observe), each step kind
// from its first start to its last end (across hosts), the rest of
// Deploy (audit, unlock) and close.
func (r fleetReport) breakdown() string {
	var sb strings.Builder
	at := func(t time.Time) string { return secs(t.Sub(r.start)) }
	applyStart := r.start.Add(r.wall - r.close) // the first step's start, below
	for _, st := range r.rep.Steps {
		if st.Start.Before(applyStart) {
			applyStart = st.Start
		}
	}
	fmt.Fprintf(&sb, "  %-26s %8s\n", "connect", secs(r.connect))
	fmt.Fprintf(&sb, "  %-26s %8s  (to %s)\n", "checks, lock, observe", secs(applyStart.Sub(r.start)-r.connect), at(applyStart))
	type span struct {
		first, last time.Time
		hosts       int
		slowest     time.Duration
	}
	spans := map[string]*span{}
	var kinds []string
	for _, st := range r.rep.Steps {
		k := st.Step.Kind.String()
		sp, ok := spans[k]
		if !ok {
			sp = &span{first: st.Start, last: st.Start.Add(st.Duration)}
			spans[k] = sp
			kinds = append(kinds, k)
		}
		sp.hosts++
		if st.Start.Before(sp.first) {
			sp.first = st.Start
		}
		if end := st.Start.Add(st.Duration); end.After(sp.last) {
			sp.last = end
		}
		sp.slowest = max(sp.slowest, st.Duration)
	}
	var lastEnd time.Time
	for _, k := range kinds {
		sp := spans[k]
		fmt.Fprintf(&sb, "  %-26s %8s  (%s to %s on %d hosts, slowest host %s)\n",
			k, secs(sp.last.Sub(sp.first)), at(sp.first), at(sp.last), sp.hosts, secs(sp.slowest))
		if sp.last.After(lastEnd) {
			lastEnd = sp.last
		}
	}
	end := r.start.Add(r.wall - r.close)
	if lastEnd.IsZero() { // nothing was applied
		lastEnd = applyStart
	}
	fmt.Fprintf(&sb, "  %-26s %8s  (to %s)\n", "audit, unlock", secs(end.Sub(lastEnd)), at(end))
	fmt.Fprintf(&sb, "  %-26s %8s\n", "close", secs(r.close))
	return sb.String()
}

// requireEveryHostServes fails unless every host's kamal-proxy answers
// GET / for vhost with version: one request per host, 3 s at the most.
func requireEveryHostServes(b testing.TB, hosts []lab.Host, vhost, version string) {
	b.Helper()
	client := &http.Client{Timeout: 3 * time.Second}
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", h.URL(80), nil)
			req.Host = vhost
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if got := strings.TrimSpace(string(body)); resp.StatusCode != http.StatusOK || got != version {
				errs[i] = fmt.Errorf("%s serves %d %q for %s, want %s", h.Name, resp.StatusCode, got, vhost, version)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// floor is the engines' own work in a deploy, without Slipway: on every
// engine at once, create and start a container of the release on the
// app network, then switch a kamal-proxy route to it through the
// engine's exec API, kamal-proxy waiting for its health check as in a
// deploy. The previous container is removed afterwards, untimed.
type floor struct {
	route, vhost string
	engines      []*engine.Engine
	current      []string
}

// newFloor opens the hosts' engines, each over an SSH connection of its
// own, through one shared connection to bastion when it is not nil.
func newFloor(b *testing.B, base string, hosts []lab.Host, bastion *lab.Bastion) *floor {
	f := &floor{route: base + "-floor", vhost: base + "-floor.test", current: make([]string, len(hosts))}
	if bastion == nil {
		for _, h := range hosts {
			f.engines = append(f.engines, h.Engine(b))
		}
	} else {
		var shared ssh.Bastions
		b.Cleanup(func() { shared.Close() }) // after the engines' cleanups below
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, h := range hosts {
			c, err := shared.Dial(ctx, bastion.Behind(h))
			if err != nil {
				b.Fatal(err)
			}
			e, err := lab.EngineOver(ctx, c, h.DockerSocket)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				e.Close()
				c.Close()
			})
			f.engines = append(f.engines, e)
		}
	}
	b.Cleanup(func() {
		ctx := context.Background()
		for i, e := range f.engines {
			if f.current[i] != "" {
				e.Remove(ctx, f.current[i], true)
			}
		}
	})
	return f
}

func (f *floor) run(b *testing.B, version string) (switched, stopped time.Duration) {
	ctx := context.Background()
	names := make([]string, len(f.engines))
	for i := range names {
		names[i] = fmt.Sprintf("%s-%s-%d", f.route, version, mrand.Uint32()%1_000_000)
	}
	svc := proxy.Service{Name: f.route, Hosts: []string{f.vhost}, HealthPath: "/up",
		HealthInterval: 100 * time.Millisecond, HealthTimeout: time.Second,
		DeployTimeout: 10 * time.Second, DrainTimeout: 2 * time.Second}
	start := time.Now()
	var g errgroup.Group
	for i, e := range f.engines {
		g.Go(func() error {
			if _, err := e.Create(ctx, engine.ContainerSpec{Name: names[i], Image: lab.TestAppImage + ":" + version, Network: deploy.DefaultNetwork}); err != nil {
				return err
			}
			if err := e.Start(ctx, names[i]); err != nil {
				return err
			}
			s := svc
			s.Target = fmt.Sprintf("%s:%d", names[i], lab.TestAppPort)
			return proxy.Deploy(ctx, e, proxy.DefaultContainer, s)
		})
	}
	err := g.Wait()
	switched = time.Since(start)
	// Then, timed apart so that it does not slow the switches above, what
	// a deploy must also do and the floor leaves out: stop the previous
	// container on every engine at once.
	start = time.Now()
	g = errgroup.Group{}
	for i, e := range f.engines {
		if f.current[i] != "" {
			g.Go(func() error { return e.Stop(ctx, f.current[i], 10*time.Second) })
		}
	}
	serr := g.Wait()
	stopped = time.Since(start)
	for i, e := range f.engines {
		if f.current[i] != "" {
			e.Remove(ctx, f.current[i], true)
		}
		f.current[i] = names[i]
	}
	if err = errors.Join(err, serr); err != nil {
		b.Fatalf("engine floor: %v", err)
	}
	return switched, stopped
}

func median(ds []time.Duration) time.Duration { return ds[medianIndex(ds)] }

// medianIndex is the index of the median of ds (the lower one of an
// even count).
func medianIndex(ds []time.Duration) int {
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(x, y int) int { return int(ds[x] - ds[y]) })
	return idx[(len(ds)-1)/2]
}

// secs formats d in seconds, as the figures are printed.
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// kamalStyle runs, on each host, the remote commands Kamal 2 runs for
// `kamal deploy -P` of a web role behind kamal-proxy with the image
// present (kamalDeploy), through the OpenSSH client: one ControlMaster
// per host, opened by the host's first command and closed at the end.
// Each phase runs on every host (Slipway's parallelism) before the next
// starts, as each of Kamal's `on(hosts)` blocks does.
//
// With bastion set, each host's ControlMaster reaches the host through a
// `ssh -W %h:%p` to the bastion of its own (ProxyCommand), as Kamal's
// ssh.proxy does: net-ssh's Jump proxy starts that command for every
// host's connection.
type kamalStyle struct {
	service, repo, vhost string
	hosts                []lab.Host
	ctlDir               string
	bastion              *lab.Bastion
}

func newKamalStyle(b *testing.B, base string, hosts []lab.Host, bastion *lab.Bastion) *kamalStyle {
	k := &kamalStyle{service: base + "-k", repo: "fleet/" + base + "-k", vhost: base + "-k.test", hosts: hosts, bastion: bastion}
	dir, err := os.MkdirTemp("", "fk") // short: a control socket's path is at most 104 bytes
	if err != nil {
		b.Fatal(err)
	}
	k.ctlDir = dir
	ctx := context.Background()
	engines := make([]*engine.Engine, len(hosts))
	for i, h := range hosts {
		engines[i] = h.Engine(b)
		// The image under a repository of its own, as Kamal's image is
		// the app's: its `latest` tag and prune touch nothing shared.
		for _, v := range []string{"v1", "v2"} {
			if err := engines[i].ImageTag(ctx, lab.TestAppImage+":"+v, k.repo+":"+v); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Cleanup(func() {
		for i, e := range engines {
			cs, _ := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{"service": k.service}})
			for _, c := range cs {
				e.Remove(ctx, c.ID, true)
			}
			for _, tag := range []string{"v1", "v2", "latest"} {
				e.ImageRemove(ctx, k.repo+":"+tag, false)
			}
			c := hosts[i].Dial(b)
			c.Run(ctx, "rm -rf .kamal/apps/"+k.service+" .kamal/lock-"+k.service+" .kamal/"+k.service+"-audit.log; "+
				"rmdir .kamal/apps .kamal/proxy/apps-config .kamal/proxy .kamal 2>/dev/null || true", nil)
		}
		os.RemoveAll(dir)
	})
	return k
}

// kamalWhen says on which hosts, or after what, a command runs.
type kamalWhen int

const (
	always    kamalWhen = iota
	onPrimary           // the first host only (Kamal's KAMAL.primary_host)
	ifFound             // the release's container name is taken ({found} not empty)
	ifOld               // another version runs ({old} not empty)
)

// kamalCmd is one remote command of the sequence.
type kamalCmd struct {
	mirrors string    // the Kamal 2 code that issues it
	cmd     string    // the shell command, {placeholders} filled in per host
	when    kamalWhen // always, or only when this holds
	save    string    // keep its output, trimmed, as {save} for later commands
	mayFail bool      // Kamal goes on when it fails (raise_on_non_zero_exit: false, rescued)
}

// kamalPhase is one of Kamal's `on(hosts)` blocks: every host runs its
// commands before any host starts the next phase.
type kamalPhase struct {
	name string
	cmds []kamalCmd
}

// Shell fragments used in several commands. {D} is the lab host's docker
// CLI with -H unix://<its engine's socket>: lab hosts have no
// /var/run/docker.sock.
const (
	kamalFilters = `--filter label=service={svc} --filter label=destination= --filter label=role=web`
	// Kamal::Commands::App#current_running_version
	kamalRunningVersion = `sh -c "{D} ps --latest --format '{{.Names}}' ` + kamalFilters + ` --filter status=running --filter status=restarting --filter ancestor=\$({D} image ls --filter reference={repo}:latest --format '{{.ID}}') ; {D} ps --latest --format '{{.Names}}' ` + kamalFilters + ` --filter status=running --filter status=restarting" | head -1 | while read line; do echo ${line#{svc}-web-}; done`
	// Kamal::Commands::App#container_id_for_version
	kamalContainerID = `{D} container ls --all --filter 'name=^{svc}-web-{ver}$' --quiet`
	// Kamal::Commands::Auditor#record
	kamalAuditCmd = `mkdir -p .kamal && echo '[fleet-bench] %s' >> .kamal/{svc}-audit.log`
)

// kamalAuditIf is kamalAudit run only when when holds.
func kamalAuditIf(when kamalWhen, mirrors, line string) kamalCmd {
	c := kamalAudit(mirrors, line)
	c.when = when
	return c
}

// kamalAudit is Kamal's audit line of a step: one append to the
// service's audit log on the host.
func kamalAudit(mirrors, line string) kamalCmd {
	return kamalCmd{mirrors: mirrors + " auditor.record", cmd: fmt.Sprintf(kamalAuditCmd, line)}
}

// kamalDeploy is the sequence of `kamal deploy -P` (Kamal 2,
// lib/kamal/cli/main.rb#deploy) for one web role behind kamal-proxy,
// with no hooks, accessories, assets, error pages or custom
// certificates. Left out: the registry login, `docker image rm` and
// `docker pull` of build:pull (the lab has no registry, and the image is
// present), and the builder's check of the image's service label (the
// test image has none; an image inspect stands in for it).
var kamalDeploy = []kamalPhase{
	{"build:pull", []kamalCmd{
		kamalAudit("cli/build.rb pull_on_hosts", "Pulled image with version {ver}"),
		{mirrors: "commands/builder validate_image", cmd: `{D} inspect -f '{{ .Id }}' {repo}:{ver}`},
	}},
	{"lock", []kamalCmd{
		{mirrors: "cli/base.rb ensure_run_directory", cmd: `mkdir -p .kamal`},
		{mirrors: "commands/lock.rb acquire", when: onPrimary,
			cmd: `mkdir .kamal/lock-{svc} && echo "{lockdetails}" > .kamal/lock-{svc}/details`},
	}},
	{"proxy:boot", []kamalCmd{
		{mirrors: "commands/docker.rb create_network (already exists: rescued)", cmd: `{D} network create slipway`, mayFail: true},
		{mirrors: "commands/proxy.rb version", cmd: `{D} inspect kamal-proxy --format '{{.Config.Image}}' | awk -F: '{print $NF}'`},
		{mirrors: "commands/proxy.rb ensure_apps_config_directory", cmd: `mkdir -p .kamal/proxy/apps-config`},
		{mirrors: "commands/proxy.rb start_or_run", cmd: `{D} container start kamal-proxy || {D} run --name kamal-proxy --network slipway --detach --restart unless-stopped ` + lab.ProxyImage},
	}},
	{"app:stale_containers --stop", []kamalCmd{
		{mirrors: "commands/app.rb list_versions", cmd: `{D} ps ` + kamalFilters + ` --format "{{.Names}}" | while read line; do echo ${line#{svc}-web-}; done`},
		{mirrors: "commands/app.rb current_running_version", cmd: kamalRunningVersion},
	}},
	{"app:boot", []kamalCmd{
		{mirrors: "cli/app/boot.rb old_version_renamed_if_clashing", cmd: kamalContainerID, save: "found"},
		kamalAuditIf(ifFound, "cli/app/boot.rb old_version_renamed_if_clashing", "Renaming container {ver} to {ver}_replaced_{hex}"),
		{mirrors: "commands/app/containers.rb rename_container", when: ifFound, cmd: `{D} rename {svc}-web-{ver} {svc}-web-{ver}_replaced_{hex}`},
		{mirrors: "commands/app.rb current_running_version", cmd: kamalRunningVersion, save: "old"},
		kamalAudit("cli/app/boot.rb start_new_version", "Booted app version {ver}"),
		{mirrors: "commands/app.rb ensure_env_directory", cmd: `mkdir -p .kamal/apps/{svc}/env/roles`},
		{mirrors: "upload! role.secrets_io", cmd: `cat > .kamal/apps/{svc}/env/roles/web.env && chmod 600 .kamal/apps/{svc}/env/roles/web.env`},
		{mirrors: "commands/app.rb run", cmd: `{D} run --detach --restart unless-stopped --name {svc}-web-{ver} --network slipway --hostname {host}-{hex} ` +
			`--env KAMAL_CONTAINER_NAME="{svc}-web-{ver}" --env KAMAL_VERSION="{ver}" --env KAMAL_HOST="{host}" ` +
			`--env-file .kamal/apps/{svc}/env/roles/web.env --log-opt max-size=10m ` +
			`--label service={svc} --label role=web --label destination= --label fleet.bench={svc} {repo}:{ver}`},
		{mirrors: "commands/app.rb container_id_for_version", cmd: kamalContainerID, save: "id"},
		{mirrors: "commands/app/proxy.rb deploy", cmd: `{D} exec kamal-proxy kamal-proxy deploy {svc}-web --target="{id}:3000" --host="{vhost}" ` +
			`--deploy-timeout="10s" --drain-timeout="2s" --health-check-interval="0.1s" --health-check-timeout="1s" --health-check-path="/up" ` +
			`--buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"`},
		{mirrors: "cli/app/boot.rb stop_old_version", when: ifOld, mayFail: true,
			cmd: `{D} container ls --all --filter 'name=^{svc}-web-{old}$' --quiet | xargs {D} stop`},
	}},
	{"app:boot (tag)", []kamalCmd{
		kamalAudit("cli/app.rb boot", "Tagging {repo}:{ver} as the latest image"),
		{mirrors: "commands/app/images.rb tag_latest_image", cmd: `{D} tag {repo}:{ver} {repo}:latest`},
	}},
	{"prune:all", []kamalCmd{
		kamalAudit("cli/prune.rb containers", "Pruned containers"),
		{mirrors: "commands/prune.rb app_containers", cmd: `{D} ps -q -a --filter label=service={svc} --filter status=created --filter status=exited --filter status=dead | tail -n +6 | while read container_id; do {D} rm $container_id; done`},
		kamalAudit("cli/prune.rb images", "Pruned images"),
		{mirrors: "commands/prune.rb dangling_images", cmd: `{D} image prune --force --filter label=service={svc}`},
		{mirrors: "commands/prune.rb tagged_images", cmd: `{D} image ls --filter label=service={svc} --format '{{.ID}} {{.Repository}}:{{.Tag}}' | grep -v -w "$({D} container ls -a --format '{{.Image}}\|' --filter label=service={svc} | tr -d '\n'){repo}:latest\|{repo}:<none>" | while read image tag; do {D} rmi $tag; done`},
	}},
	{"unlock", []kamalCmd{
		{mirrors: "commands/lock.rb release", when: onPrimary, cmd: `rm .kamal/lock-{svc}/details && rm -r .kamal/lock-{svc}`},
	}},
}

// deploy runs kamalDeploy for version on every host and returns its
// wall time, connections and their closing included, and why it failed
// if it did.
func (k *kamalStyle) deploy(version string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	details := base64.StdEncoding.EncodeToString([]byte("Locked by: fleet-bench at " + time.Now().UTC().Format(time.RFC3339) +
		"\nVersion: " + version + "\nMessage: Automatic deploy lock"))
	vars := make([]map[string]string, len(k.hosts))
	for i, h := range k.hosts {
		vars[i] = map[string]string{"D": "docker -H unix://" + h.DockerSocket, "svc": k.service, "repo": k.repo,
			"ver": version, "host": h.Addr, "vhost": k.vhost, "hex": randomHex(8), "lockdetails": details}
	}
	start := time.Now()
	err := k.phases(ctx, vars)
	// Every host's ControlMaster ends with the deploy, as Kamal's
	// connections end with its process, whether it succeeded or not.
	fanOutHosts(len(k.hosts), func(i int) error {
		return exec.Command("ssh", append(k.sshArgs(k.hosts[i]), "-O", "exit", k.target(k.hosts[i]))...).Run()
	})
	return time.Since(start), err
}

// phases runs kamalDeploy's phases in turn, each on every host. A phase
// that fails on any host ends the sequence, as in Kamal: the error says
// how many hosts failed and the first one's reason.
func (k *kamalStyle) phases(ctx context.Context, vars []map[string]string) error {
	for _, ph := range kamalDeploy {
		failed := make([]error, len(k.hosts))
		fanOutHosts(len(k.hosts), func(i int) error {
			failed[i] = k.phase(ctx, ph, i, vars[i])
			return nil
		})
		var errs []error
		for _, err := range failed {
			if err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%d of %d hosts failed in %s; first: %w", len(errs), len(k.hosts), ph.name, errs[0])
		}
	}
	return nil
}

// phase runs ph's commands on host i, with its variables v.
func (k *kamalStyle) phase(ctx context.Context, ph kamalPhase, i int, v map[string]string) error {
	for _, c := range ph.cmds {
		switch {
		case c.when == onPrimary && i != 0, c.when == ifFound && v["found"] == "", c.when == ifOld && v["old"] == "":
			continue
		}
		out, err := k.ssh(ctx, k.hosts[i], kamalFill(c.cmd, v))
		if err != nil && !c.mayFail {
			return fmt.Errorf("%s: %s (%s): %w", k.hosts[i].Name, ph.name, c.mirrors, err)
		}
		if c.save != "" {
			v[c.save] = strings.TrimSpace(out)
		}
	}
	return nil
}

// unlock removes the lock a failed Kamal-style run may have left on the
// primary host (Kamal leaves it for `kamal lock release`), untimed.
func (k *kamalStyle) unlock(b *testing.B) {
	c := k.hosts[0].Dial(b)
	if _, err := c.Run(context.Background(), "rm -rf .kamal/lock-"+k.service, nil); err != nil {
		b.Fatal(err)
	}
}

func (k *kamalStyle) sshArgs(h lab.Host) []string {
	args := []string{"-i", h.KeyFile, "-o", "UserKnownHostsFile=" + h.KnownHosts, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "ControlMaster=auto", "-o", "ControlPersist=60", "-o", "ControlPath=" + k.ctlDir + "/%C"}
	if b := k.bastion; b != nil {
		// net-ssh's Jump proxy: `ssh -W %h:%p bastion`, a connection to
		// the bastion for each host's connection.
		args = append(args, "-o", fmt.Sprintf("ProxyCommand=ssh -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes -o ControlMaster=no -W %%h:%%p %s@%s",
			b.KeyFile, b.KnownHosts, b.User, b.Addr))
	}
	return args
}

func (k *kamalStyle) target(h lab.Host) string { return h.User + "@" + h.Addr }

// ssh runs cmd on h through its ControlMaster, stdin empty, and returns
// its standard output.
func (k *kamalStyle) ssh(ctx context.Context, h lab.Host, cmd string) (string, error) {
	c := exec.CommandContext(ctx, "ssh", append(k.sshArgs(h), k.target(h), cmd)...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s: %w: %s", cmd, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// kamalFill replaces each {name} in cmd with vars[name].
func kamalFill(cmd string, vars map[string]string) string {
	var pairs []string
	for k, v := range vars {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(cmd)
}

// fanOutHosts runs fn for hosts 0..n-1, parallel() at once,
// and returns the first error.
func fanOutHosts(n int, fn func(i int) error) error {
	var g errgroup.Group
	g.SetLimit(parallel())
	for i := range n {
		g.Go(func() error { return fn(i) })
	}
	return g.Wait()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
