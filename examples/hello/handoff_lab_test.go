package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/examples/hello/deployment"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

// Ten deploys in a row of hello, which writes its replicated database on
// every GET /, under a bounded load of reads and writes through
// kamal-proxy. Declared with App.Databases, its web role deploys by
// handoff: no request fails, two app containers never run at once, and
// a restore of the replica afterwards holds every acknowledged write.
// The load's latency during the handoffs is logged next to that of
// start-first deploys of the stateless test app on the same host.
func TestTenHandoffsUnderLoadLoseNoWrite(t *testing.T) {
	l := lab.Require(t, 1)
	h := l.Hosts[0]
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()

	// The stateless role first: the test app, start-first.
	stateless := handoffTestApp(t, h)
	sl := connectHandoff(t, ctx, stateless)
	_, err := sl.s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, sl.out.String())
	slLoad := startTimedLoad("http://"+h.Addr, stateless.Service+".test", []string{"/"}, 4, 200_000, 3*time.Minute)
	var slWindows []window
	for i := range 10 {
		rep, err := sl.s.Deploy(ctx, deploy.Release{Version: []string{"v2", "v1"}[i%2]})
		require.NoError(t, err, sl.out.String())
		slWindows = append(slWindows, deployWindow(rep, deploy.StepStart, deploy.StepStopOld))
		time.Sleep(200 * time.Millisecond)
	}
	slHits := slLoad.finish()
	requireCovered(t, slHits, slWindows)
	require.Empty(t, failed(slHits), "the stateless role dropped no request")

	// hello, whose web role writes /data/hello.db: by handoff.
	app, replica := helloHandoffApp(t, h)
	service := app.Service
	app.Retain = 12 // every container stays, so their lifetimes can be read back
	hs := connectHandoff(t, ctx, app)
	_, err = hs.s.Deploy(ctx, deploy.Release{Version: "r0"})
	require.NoError(t, err, hs.out.String())

	lease := watchLease(leasePath(t, replica), 7*time.Minute)
	ld := startTimedLoad("http://"+h.Addr, service+".test", []string{"/", "/", "/", "/up"}, 4, 150_000, 6*time.Minute)
	time.Sleep(time.Second)
	var windows []window
	for i := 1; i <= 10; i++ {
		rep, err := hs.s.Deploy(ctx, deploy.Release{Version: "r" + strconv.Itoa(i)})
		require.NoError(t, err, hs.out.String())
		kinds := stepKinds(rep)
		require.Contains(t, kinds, deploy.StepHandoffPause, "deploy %d hands off", i)
		require.NotContains(t, kinds, deploy.StepStopOld, "deploy %d does not start first", i)
		windows = append(windows, deployWindow(rep, deploy.StepHandoffPause, deploy.StepHandoffResume))
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(time.Second)
	hits := ld.finish()
	leaseHistory := lease.finish()

	writes := acknowledgedWrites(hits)
	t.Logf("hello: %d requests (%d acknowledged writes), %d failed, over 10 handoffs", len(hits), writes, len(failed(hits)))
	require.GreaterOrEqual(t, len(hits), 5000, "the load loop made enough requests")
	requireCovered(t, hits, windows)
	require.Empty(t, failed(hits), "no request failed across ten handoffs")

	// Never two app containers of the role at once, from the engine's
	// own start and finish times of each container.
	e := h.Engine(t)
	cs, err := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: service, deploy.LabelRole: "web"}})
	require.NoError(t, err)
	require.Len(t, cs, 11, "r0 and ten releases")
	var lives []engine.Container
	for _, c := range cs {
		full, err := e.Inspect(ctx, c.Name)
		require.NoError(t, err)
		lives = append(lives, full)
	}
	sort.Slice(lives, func(i, j int) bool { return lives[i].StartedAt.Before(lives[j].StartedAt) })
	for i := 1; i < len(lives); i++ {
		prev, next := lives[i-1], lives[i]
		require.False(t, prev.FinishedAt.IsZero(), "%s was stopped", prev.Name)
		assert.False(t, next.StartedAt.Before(prev.FinishedAt), "%s started at %s, before %s finished at %s",
			next.Name, next.StartedAt.Format(time.RFC3339Nano), prev.Name, prev.FinishedAt.Format(time.RFC3339Nano))
		t.Logf("%s stopped %s before %s started", prev.Name, next.StartedAt.Sub(prev.FinishedAt).Round(time.Millisecond), next.Name)
	}
	assert.True(t, lives[len(lives)-1].Running(), "the newest release serves")
	requireOneReplicatorAtATime(t, leaseHistory, lives)

	// Every acknowledged write is in the replica.
	requireReplicaHolds(t, ctx, replica, hits)

	t.Logf("\nlatency of the load while a role's containers change (10 deploys each, on %s):\n"+
		"  %-40s %s\n  %-40s %s\n  %-40s %s\n  %-40s %s",
		h.Name,
		"hello by handoff (pause to resume)", stats(during(hits, windows)),
		"hello between deploys", stats(outside(hits, windows)),
		"testapp start-first (start to stop-old)", stats(during(slHits, slWindows)),
		"testapp between deploys", stats(outside(slHits, slWindows)))
	var held []time.Duration
	for _, w := range windows {
		held = append(held, w.to.Sub(w.from))
	}
	t.Logf("handoffs, pause to resume: %s", durations(held))
}

// A handoff of hello whose new release fails its gate (it listens on
// another port than the proxy checks): the old release serves again,
// no request fails, and the replica holds every acknowledged write.
func TestHelloHandoffWhoseReleaseFailsItsGate(t *testing.T) {
	l := lab.Require(t, 1)
	h := l.Hosts[0]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	app, replica := helloHandoffApp(t, h)
	app.Roles["web"].Proxy.DeployTimeout = 5 * time.Second
	hs := connectHandoff(t, ctx, app)
	_, err := hs.s.Deploy(ctx, deploy.Release{Version: "g0"})
	require.NoError(t, err, hs.out.String())

	bad := app.Clone()
	web := bad.Roles["web"]
	web.Env.Clear = map[string]string{"PORT": "3999"}
	bad.Roles["web"] = web
	badSession := connectHandoff(t, ctx, bad)
	lease := watchLease(leasePath(t, replica), 3*time.Minute)
	ld := startTimedLoad("http://"+h.Addr, app.Service+".test", []string{"/", "/", "/", "/up"}, 4, 100_000, 2*time.Minute)
	time.Sleep(time.Second)
	_, err = badSession.s.Deploy(ctx, deploy.Release{Version: "g1"})
	time.Sleep(time.Second)
	hits := ld.finish()
	leaseHistory := lease.finish()

	require.ErrorIs(t, err, deploy.ErrGateFailed)
	t.Logf("error: %s", firstLines(err.Error(), 2))
	assert.Contains(t, err.Error(), h.Addr)
	assert.Contains(t, err.Error(), app.Service+"-web-g0 started again")
	writes := acknowledgedWrites(hits)
	t.Logf("%d requests (%d acknowledged writes), %d failed", len(hits), writes, len(failed(hits)))
	require.Empty(t, failed(hits), "no request failed: they waited, then went to g0 again")
	for _, hit := range hits {
		if hit.visit > 0 {
			require.Equal(t, "g0", hit.version, "only g0 answered")
		}
	}
	e := h.Engine(t)
	g0, err := e.Inspect(ctx, app.Service+"-web-g0")
	require.NoError(t, err)
	assert.True(t, g0.Running(), "g0 runs again")
	_, err = e.Inspect(ctx, app.Service+"-web-g1")
	assert.ErrorIs(t, err, engine.ErrNotFound, "the failed g1 is gone")

	// The lease went from g0 to g1's replicator and back to g0's.
	held := holders(leaseHistory)
	require.NotEmpty(t, held)
	var owners []string
	for _, s := range held {
		owners = append(owners, s.owner)
	}
	t.Logf("lease holders in turn: %s", strings.Join(owners, " -> "))
	last, ok := holderOf(held[len(held)-1].owner, []engine.Container{g0})
	assert.True(t, ok, "the lease is back with g0's replicator, not %q", held[len(held)-1].owner)
	assert.Equal(t, g0.Name, last.Name)
	_, ok = holderOf(held[0].owner, []engine.Container{g0})
	assert.True(t, ok, "g0 held it before the handoff, not %q", held[0].owner)
	assert.GreaterOrEqual(t, len(held), 2, "g0 took it again after a release")
	requireReplicaHolds(t, ctx, replica, hits)
}

// helloHandoffApp is hello under a service, volume, bucket and image
// repository of its own on h, its database declared so its web role
// deploys by handoff.
func helloHandoffApp(t *testing.T, h lab.Host) (deploy.App, replicate.Replica) {
	s3 := lab.RequireS3(t)
	service := fmt.Sprintf("handoff%d", rand.Uint32()%100000)
	bucket := s3.Bucket(t, service)
	app, replica := deployment.Isolated(deployment.Lab(), service, bucket, s3.HostEndpoint(h),
		secret.File{Path: lab.SecretsFile(lab.Options{})})
	app.Image = "slipway/hello-" + service // tags of its own: other tests deploy hello on this host too
	if len(app.Databases) == 0 {
		app.Databases = []deploy.Database{{Path: "/data/hello.db", Role: "web", Replica: &replica}}
	}
	t.Cleanup(func() { removeImages(h, app.Image) })
	t.Cleanup(func() { removeVolume(h, service+"-data") }) // after the containers are gone
	lab.CleanupService(t, []lab.Host{h}, service)
	return app, replica
}

// requireReplicaHolds restores the replica and checks it holds every
// write the load saw acknowledged, with integrity_check ok.
func requireReplicaHolds(t *testing.T, ctx context.Context, replica replicate.Replica, hits []timedHit) {
	t.Helper()
	time.Sleep(3 * replicate.DefaultSyncInterval)
	out := filepath.Join(t.TempDir(), "restored.db")
	_, err := replicate.Restore(ctx, replica, out, time.Time{})
	require.NoError(t, err)
	db, err := sql.Open("sqlite", "file:"+out+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	var rows, newest int
	var integrity string
	require.NoError(t, db.QueryRow("SELECT count(*), coalesce(max(id), 0) FROM visits").Scan(&rows, &newest))
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&integrity))
	writes := acknowledgedWrites(hits)
	t.Logf("restored replica: %d visits (newest #%d) for %d acknowledged writes; integrity_check %s", rows, newest, writes, integrity)
	assert.Equal(t, "ok", integrity)
	assert.GreaterOrEqual(t, rows, writes, "the replica holds every acknowledged write")
	assert.GreaterOrEqual(t, newest, newestVisit(hits), "including the newest")
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// leaseWatch polls a replica's lease object (lock.json, read from the
// lab S3 server's own files) until stopped, and records each holder and
// when it was seen.
type leaseWatch struct {
	path string
	mu   sync.Mutex
	seen []leaseSeen
	stop chan struct{}
	done chan struct{}
}

// leaseSeen is one stretch of the lease's history: a holder (owner and
// generation), or "" while no replicator held it.
type leaseSeen struct {
	owner       string
	generation  int64
	first, last time.Time
}

func watchLease(path string, maxTime time.Duration) *leaseWatch {
	w := &leaseWatch{path: path, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		deadline := time.After(maxTime)
		for {
			var l litestream.Lease
			now := time.Now()
			if b, err := os.ReadFile(w.path); err != nil || json.Unmarshal(b, &l) != nil || !now.Before(l.ExpiresAt) {
				l = litestream.Lease{} // no lease, or one that lapsed: nobody holds it
			}
			w.mu.Lock()
			if n := len(w.seen); n > 0 && w.seen[n-1].owner == l.Owner && w.seen[n-1].generation == l.Generation {
				w.seen[n-1].last = now
			} else {
				w.seen = append(w.seen, leaseSeen{owner: l.Owner, generation: l.Generation, first: now, last: now})
			}
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-deadline:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *leaseWatch) finish() []leaseSeen {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

// leasePath is where the lab's S3 server keeps the replica's lease object.
func leasePath(t *testing.T, r replicate.Replica) string {
	return filepath.Join(lab.RequireS3(t).Dir, r.S3.Bucket, r.S3.Path, replicate.LeaseFile)
}

// holders are the stretches of the lease's history in which a replicator
// held it, in order.
func holders(seen []leaseSeen) []leaseSeen {
	var out []leaseSeen
	for _, s := range seen {
		if s.owner != "" {
			out = append(out, s)
		}
	}
	return out
}

// holderOf returns the container whose replicator names itself in owner
// (its engine ID is the container's host name), or "".
func holderOf(owner string, cs []engine.Container) (engine.Container, bool) {
	for _, c := range cs {
		if len(c.ID) >= 12 && strings.Contains(owner, c.ID[:12]) {
			return c, true
		}
	}
	return engine.Container{}, false
}

// requireOneReplicatorAtATime checks from the lease's history that the
// replicators of lives (sorted by start) held the replica's lease one
// after another: each in one stretch, in the containers' order, within
// its container's lifetime, released before the next took it.
func requireOneReplicatorAtATime(t *testing.T, seen []leaseSeen, lives []engine.Container) {
	t.Helper()
	held := holders(seen)
	require.NotEmpty(t, held, "replicators held the replica's lease")
	var order []string
	for i, s := range held {
		c, ok := holderOf(s.owner, lives)
		require.True(t, ok, "the lease holder %q is one of the role's containers", s.owner)
		if i > 0 {
			prev := held[i-1]
			assert.NotEqual(t, prev.owner, s.owner, "no replicator took the lease twice")
		}
		end := c.FinishedAt
		if c.Running() {
			end = time.Now()
		}
		slack := 100 * time.Millisecond // the watch polls every 20 ms; engine times are the host's, the same clock
		assert.False(t, s.first.Before(c.StartedAt.Add(-slack)), "%s held the lease before its container started", c.Name)
		assert.False(t, s.last.After(end.Add(slack)), "%s held the lease after its container finished", c.Name)
		order = append(order, c.Name)
	}
	var want []string
	for _, c := range lives {
		want = append(want, c.Name)
	}
	assert.Equal(t, want, order, "the lease passed from each release to the next, in order")
	for i := 1; i < len(seen)-1; i++ {
		if seen[i-1].owner != "" && seen[i].owner != "" {
			t.Errorf("the lease passed from %q to %q with no release seen between", seen[i-1].owner, seen[i].owner)
		}
	}
	t.Logf("lease: %d holders one after another, each within its container's lifetime, released before the next took it",
		len(held))
}

var servedBy = regexp.MustCompile(`hello from (\S+):`)

// handoffTestApp is the lab's test app, a stateless web role, on h.
func handoffTestApp(t *testing.T, h lab.Host) deploy.App {
	service := fmt.Sprintf("handoffsl%d", rand.Uint32()%100000)
	lab.CleanupService(t, []lab.Host{h}, service)
	return deploy.App{
		Service: service,
		Image:   lab.TestAppImage,
		Roles: deploy.Roles{"web": {
			Servers: []deploy.Server{{Host: h.Addr, KeyFiles: []string{h.KeyFile}, KnownHosts: h.KnownHosts, DockerSocket: h.DockerSocket}},
			Proxy: &deploy.Proxy{
				Hosts:         []string{service + ".test"},
				AppPort:       lab.TestAppPort,
				Health:        health.HTTP{Path: "/up", Interval: 200 * time.Millisecond},
				DeployTimeout: 20 * time.Second,
				DrainTimeout:  2 * time.Second,
			},
		}},
		Retain: 2,
	}
}

type handoffSession struct {
	s   *deploy.Session
	out *syncOut
}

func connectHandoff(t *testing.T, ctx context.Context, app deploy.App) handoffSession {
	t.Helper()
	out := &syncOut{}
	s, err := deploy.Connect(ctx, app, deploy.Options{Output: out, Performer: "handoff-test"})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return handoffSession{s, out}
}

func removeImages(h lab.Host, repo string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, e, err := h.Connect(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	defer e.Close()
	imgs, _ := e.ImageList(ctx, nil)
	for _, img := range imgs {
		for _, tag := range img.Tags {
			if len(tag) > len(repo) && tag[:len(repo)+1] == repo+":" {
				e.ImageRemove(ctx, tag, true)
			}
		}
	}
}

func removeVolume(h lab.Host, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if c, e, err := h.Connect(ctx); err == nil {
		defer c.Close()
		defer e.Close()
		e.VolumeRemove(ctx, name, true)
	}
}

// requireCovered checks that the load sent requests during every window.
func requireCovered(t *testing.T, hits []timedHit, ws []window) {
	t.Helper()
	for i, w := range ws {
		require.False(t, w.from.IsZero() || w.to.IsZero(), "deploy %d changed the containers", i+1)
		require.True(t, slices.ContainsFunc(hits, func(h timedHit) bool { return !h.at.Before(w.from) && h.at.Before(w.to) }),
			"the load ran during deploy %d", i+1)
	}
}

func stepKinds(rep *deploy.Report) []deploy.StepKind {
	var out []deploy.StepKind
	for _, r := range rep.Steps {
		out = append(out, r.Step.Kind)
	}
	return out
}

// window is when a deploy changed a role's containers.
type window struct{ from, to time.Time }

// deployWindow runs from the start of the report's first step of kind
// first to the end of its last step of kind last.
func deployWindow(rep *deploy.Report, first, last deploy.StepKind) window {
	var w window
	for _, r := range rep.Steps {
		if r.Step.Kind == first && w.from.IsZero() {
			w.from = r.Start
		}
		if r.Step.Kind == last {
			w.to = r.Start.Add(r.Duration)
		}
	}
	return w
}

// timedHit is one request of a timed load: when it was sent, how long it
// took, what it got.
type timedHit struct {
	path    string
	at      time.Time
	took    time.Duration
	visit   int    // the visit number a write acknowledged, 0 otherwise
	version string // the release that answered a write
	err     error
}

// timedLoad sends requests to one host's proxy from several workers
// until finish, limit requests or maxTime, whichever comes first
// (lab.Load); it only talks to a lab host.
type timedLoad struct {
	paths []string
	run   *lab.Load
}

// startTimedLoad allows each request 90 s: a handoff holds requests
// while the proxy is paused.
func startTimedLoad(base, vhost string, paths []string, workers, limit int, maxTime time.Duration) *timedLoad {
	urls := make([]string, len(paths))
	for i, p := range paths {
		urls[i] = base + p
	}
	return &timedLoad{paths: paths, run: lab.StartLoad(urls, vhost, workers, limit, maxTime, 90*time.Second)}
}

func (l *timedLoad) finish() []timedHit {
	var hits []timedHit
	for _, h := range l.run.Finish() {
		hit := timedHit{path: l.paths[h.Target], at: h.At, took: h.Took, err: h.Err}
		if h.Err == nil {
			if m := visitNo.FindSubmatch(h.Body); m != nil {
				hit.visit, _ = strconv.Atoi(string(m[1]))
			}
			if m := servedBy.FindSubmatch(h.Body); m != nil {
				hit.version = string(m[1])
			}
		}
		hits = append(hits, hit)
	}
	return hits
}

func failed(hits []timedHit) []string {
	var out []string
	for _, h := range hits {
		if h.err != nil {
			out = append(out, h.at.Format("15:04:05.000")+" "+h.err.Error())
		}
	}
	return out
}

func acknowledgedWrites(hits []timedHit) int {
	n := 0
	for _, h := range hits {
		if h.visit > 0 {
			n++
		}
	}
	return n
}

func newestVisit(hits []timedHit) int {
	n := 0
	for _, h := range hits {
		n = max(n, h.visit)
	}
	return n
}

// during returns the latency of the requests in flight at some time of
// one of the windows.
func during(hits []timedHit, ws []window) []time.Duration {
	var out []time.Duration
	for _, h := range hits {
		if slices.ContainsFunc(ws, func(w window) bool { return h.at.Before(w.to) && h.at.Add(h.took).After(w.from) }) {
			out = append(out, h.took)
		}
	}
	return out
}

func outside(hits []timedHit, ws []window) []time.Duration {
	var out []time.Duration
	for _, h := range hits {
		if !slices.ContainsFunc(ws, func(w window) bool { return h.at.Before(w.to) && h.at.Add(h.took).After(w.from) }) {
			out = append(out, h.took)
		}
	}
	return out
}

// stats prints a latency sample's size, p50, p99 and max.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no requests"
	}
	slices.Sort(ds)
	q := func(p float64) time.Duration {
		return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(100 * time.Microsecond)
	}
	return fmt.Sprintf("n=%-6d p50 %-9s p99 %-9s max %s", len(ds), q(0.50), q(0.99), ds[len(ds)-1].Round(100*time.Microsecond))
}

func durations(ds []time.Duration) string {
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += " "
		}
		s += d.Round(time.Millisecond).String()
	}
	return s
}
