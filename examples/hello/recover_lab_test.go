package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/examples/hello/deployment"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

// recoveryApp is hello under a service name, bucket and proxy host of its
// own, on the lab's first host.
func recoveryApp(t testing.TB) (deploy.App, replicate.Replica, lab.Host) {
	l := lab.Require(t, 1)
	s3 := lab.RequireS3(t)
	h := l.Hosts[0]
	service := fmt.Sprintf("hellorec%d", rand.Uint32()%100000)
	bucket := s3.Bucket(t, service)
	app, replica := deployment.Isolated(deployment.Lab(), service, bucket, s3.HostEndpoint(h),
		secret.File{Path: lab.SecretsFile(lab.Options{})})
	t.Cleanup(func() { // after the containers have gone: the volume, with the copies recoveries kept
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, e, err := h.Connect(ctx); err == nil {
			e.VolumeRemove(ctx, service+"-data", true)
			e.Close()
			c.Close()
		}
	})
	lab.CleanupService(t, l.Hosts, service)
	return app, replica, h
}

// visits tracks what a bounded load loop saw: answers, 503 pages and
// failures, each with its time, and the newest visit number acknowledged.
type visits struct {
	mu       sync.Mutex
	ok, m503 int
	failures []string
	failedAt []time.Time
	newest   int
	seen     []seenVisit
}

type seenVisit struct {
	at time.Time
	n  int
}

var visitNo = regexp.MustCompile(`visit #(\d+)`)

// loop sends requests until stop closes, maxCount requests are made or
// maxTime passes; it only talks to the lab host.
func (v *visits) loop(url, vhost string, stop <-chan struct{}, maxCount int, maxTime time.Duration) {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(maxTime)
	for i := 0; i < maxCount && time.Now().Before(deadline); i++ {
		select {
		case <-stop:
			return
		default:
		}
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = vhost
		resp, err := client.Do(req)
		at := time.Now()
		v.mu.Lock()
		switch {
		case err != nil:
			v.failures, v.failedAt = append(v.failures, err.Error()), append(v.failedAt, at)
		default:
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				v.ok++
				if m := visitNo.FindSubmatch(body); m != nil {
					n, _ := strconv.Atoi(string(m[1]))
					v.newest = max(v.newest, n)
					v.seen = append(v.seen, seenVisit{at, n})
				}
			case http.StatusServiceUnavailable:
				v.m503++
			default:
				v.failures, v.failedAt = append(v.failures, resp.Status), append(v.failedAt, at)
			}
		}
		v.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
}

func (v *visits) failedBetween(from, to time.Time) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for i, at := range v.failedAt {
		if !at.Before(from) && !at.After(to) {
			out = append(out, v.failures[i])
		}
	}
	return out
}

// around returns the newest visit number acknowledged before t, and the
// first one after it.
func (v *visits) around(t time.Time) (before, after int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, s := range v.seen {
		if s.at.Before(t) {
			before = max(before, s.n)
		} else if after == 0 || s.n < after {
			after = s.n
		}
	}
	return before, after
}

func (v *visits) newestSeen() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.newest
}

func hostDB(t testing.TB, h lab.Host, app deploy.App) string {
	mount, err := h.Engine(t).VolumeMountpoint(context.Background(), app.Service+"-data")
	require.NoError(t, err)
	return filepath.Join(mount, "hello.db")
}

func TestRecoverADamagedDatabaseUnderLoad(t *testing.T) {
	app, replica, h := recoveryApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, out := deployed(t, ctx, app, "r1")

	v := &visits{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.loop("http://"+h.Addr+"/", app.Service+".test", stop, 20_000, 90*time.Second)
		}()
	}
	start := time.Now()
	time.Sleep(3 * time.Second)

	// Damage: overwrite some pages in the middle of the database file.
	db := hostDB(t, h, app)
	acked := v.newestSeen()
	damage(t, db)
	time.Sleep(500 * time.Millisecond)

	recoverStart := time.Now()
	rep, err := s.Recover(ctx, deploy.Recovery{Replica: replica, Message: "Restoring data, back in a minute"})
	recoverEnd := time.Now()
	require.NoError(t, err, out.String())
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	during := v.failedBetween(recoverStart, recoverEnd)
	t.Logf("recovery took %s; load: %d answered, %d maintenance 503s, %d failed during the recovery (%d in all, the rest from the damaged file before it)",
		rep.Duration.Round(time.Millisecond), v.ok, v.m503, len(during), len(v.failures))
	assert.Empty(t, during, "every request during the recovery got an answer or the maintenance page")
	assert.Positive(t, v.m503, "users saw the maintenance page")

	// The data is back, to within the replication window: the first
	// visit after the recovery follows the newest restored one.
	lastBefore, firstAfter := v.around(recoverEnd)
	rate := float64(v.ok) / time.Since(start).Seconds()
	window := 2 * replicate.DefaultSyncInterval
	lost := lastBefore - (firstAfter - 1)
	t.Logf("newest visit acknowledged before the recovery: #%d; the restored database held up to #%d: %d visits lost, against %.0f in the replication window (%s at %.0f visits/s)",
		lastBefore, firstAfter-1, lost, rate*window.Seconds(), window, rate)
	assert.LessOrEqual(t, float64(lost), rate*window.Seconds()+1, "lost at most the replication window")
	assert.Less(t, acked, firstAfter, "the visits from before the damage are back")

	// The damaged file is still on the host, under its new name.
	assert.FileExists(t, rep.Aside)
	assert.Equal(t, filepath.Dir(db), filepath.Dir(rep.Aside))
}

func TestRecoverToAPointInTimeBeforeABadWrite(t *testing.T) {
	app, replica, h := recoveryApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, out := deployed(t, ctx, app, "p1")

	v := &visits{}
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 20, 10*time.Second)
	require.Equal(t, 20, v.ok)
	time.Sleep(2500 * time.Millisecond) // replicated
	before := time.Now()
	time.Sleep(1500 * time.Millisecond)

	// The mistake: the table is dropped, through SQLite, so it replicates.
	conn, err := sql.Open("sqlite", "file:"+hostDB(t, h, app)+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	_, err = conn.Exec("DROP TABLE visits")
	require.NoError(t, err)
	conn.Close()
	time.Sleep(2500 * time.Millisecond)
	broken := &visits{}
	broken.loop("http://"+h.Addr+"/", app.Service+".test", nil, 1, 5*time.Second)
	require.Len(t, broken.failures, 1, "the app fails without its table")

	plan, err := s.PlanRecovery(ctx, deploy.Recovery{Replica: replica, At: before})
	require.NoError(t, err)
	t.Logf("dry run:\n%s", plan)
	_, err = s.Recover(ctx, deploy.Recovery{Replica: replica, At: before})
	require.NoError(t, err, out.String())

	back := &visits{}
	back.loop("http://"+h.Addr+"/", app.Service+".test", nil, 1, 5*time.Second)
	require.Empty(t, back.failures, "the table is back")
	assert.Equal(t, 21, back.newestSeen(), "with the 20 visits from before the mistake")

	// The replica continues from the restored state, not from the
	// mistake it held as its newest: a restore of it now has the table.
	awaitReplicated(t, ctx, h, app, replica)
	drill, err := replicate.Drill(ctx, replica, replicate.DrillOptions{Queries: []replicate.Query{
		{Name: "visits", SQL: "SELECT id FROM visits", MinRows: 21, MaxRows: 21}}})
	require.NoError(t, err, "the replica's newest state is the restored one and the visit after it")
	assert.Equal(t, "ok", drill.Integrity)
}

// syncOut collects a session's output from its concurrent steps.
type syncOut struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncOut) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncOut) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func TestWholeAppRecoveryDrill(t *testing.T) {
	app, replica, h := recoveryApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, out := deployed(t, ctx, app, "d1")
	v := &visits{}
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 12, 10*time.Second)
	require.Equal(t, 12, v.ok)
	awaitReplicated(t, ctx, h, app, replica)
	before, err := replicate.Verify(ctx, replica, time.Hour)
	require.NoError(t, err)

	log := filepath.Join(t.TempDir(), "drills.jsonl")
	drill := deploy.AppDrillOptions{ // the replica from App.Databases, dropped from the copy by default
		Host:  h.Addr,
		Smoke: []deploy.SmokeCheck{{Path: "/", Body: "visit #13"}, {Path: "/up"}},
		Log:   log,
	}
	// While the copy runs, read its environment from the engine.
	envs := make(chan []string, 1)
	go func() { envs <- drillCopyEnv(ctx, h, app.Service) }()
	rep, err := s.DrillApp(ctx, drill)
	require.NoError(t, err, out.String())
	t.Logf("whole-app drill: RTO %s (restore %s, boot %s), data at risk %s (RPO %s), replica age %s",
		rep.RTO, rep.Restore, rep.Boot, rep.Risk, rep.RPO, rep.Age)
	assert.True(t, rep.Passed)
	assert.Empty(t, rep.RiskError)
	assert.Equal(t, uint64(0), rep.Risk.Commits, "every visit was replicated")
	assert.Contains(t, out.String(), "AT RISK (RPO)")
	logged, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Contains(t, string(logged), `"kind":"app"`)

	// The copy had no way to the replica: no credential, no replication env.
	env := <-envs
	require.NotEmpty(t, env, "the drill copy's env was read")
	t.Logf("the drill copy's env names: %v", names(env))
	s3 := lab.RequireS3(t)
	for _, kv := range env {
		assert.NotContains(t, kv, "LITESTREAM_")
		assert.NotContains(t, kv, s3.SecretAccessKey)
		assert.NotContains(t, kv, s3.AccessKeyID)
	}
	assert.Contains(t, names(env), "DATABASE_PATH", "the rest of the app's env is there")

	// Torn down: no drill container or volume is left on the host.
	e := h.Engine(t)
	cs, err := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{"slipway.drill": app.Service}})
	require.NoError(t, err)
	assert.Empty(t, cs)
	// The real app kept serving, and the drill wrote nothing to its replica.
	after, err := replicate.Verify(ctx, replica, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, before.Newest.TXID, after.Newest.TXID, "the replica holds no write of the copy's")
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 1, 5*time.Second)
	assert.Equal(t, 13, v.newestSeen())
}

// drillCopyEnv waits for a drill container of service on h and returns
// its environment, as the engine holds it.
func drillCopyEnv(ctx context.Context, h lab.Host, service string) []string {
	for ctx.Err() == nil {
		out, err := exec.CommandContext(ctx, "docker", "-H", "unix://"+h.DockerSocket, "ps", "-q",
			"--filter", "label=slipway.drill="+service).Output()
		if id := strings.TrimSpace(string(out)); err == nil && id != "" {
			js, err := exec.CommandContext(ctx, "docker", "-H", "unix://"+h.DockerSocket, "inspect", "--format", "{{json .Config.Env}}", id).Output()
			var env []string
			if err == nil && json.Unmarshal(js, &env) == nil {
				return env
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func names(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		out = append(out, k)
	}
	return out
}

// deployed connects to app's hosts and deploys version; the session and
// its output are the test's.
func deployed(t testing.TB, ctx context.Context, app deploy.App, version string) (*deploy.Session, *syncOut) {
	t.Helper()
	out := &syncOut{}
	s, err := deploy.Connect(ctx, app, deploy.Options{Output: out})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Deploy(ctx, deploy.Release{Version: version})
	require.NoError(t, err, out.String())
	return s, out
}

// A host drill is given the replica as this machine reaches it
// (127.0.0.1), which no container on the host can reach: it runs with the
// host's own view from App.Databases instead, the credentials resolved
// like the app's, reports the data at risk read on the host, and leaves
// no container, volume or image behind.
func TestDrillOnTheHostInADisposableContainer(t *testing.T) {
	app, replica, h := recoveryApp(t)
	s3 := lab.RequireS3(t)
	app.Databases[0].Replica.S3.OperatorEndpoint = s3.Endpoint // this machine's view; the host's is the gateway's
	operatorView := app.Replicas()[0].ForOperator()
	require.Contains(t, operatorView.S3.Endpoint, "127.0.0.1")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, out := deployed(t, ctx, app, "h1")
	v := &visits{}
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 15, 10*time.Second)
	require.Equal(t, 15, v.ok)
	awaitReplicated(t, ctx, h, app, replica)
	e := h.Engine(t)
	imagesBefore := drillImages(t, ctx, e)

	log := filepath.Join(t.TempDir(), "drills.jsonl")
	rep, err := s.DrillOnHost(ctx, h.Addr, operatorView, replicate.DrillOptions{Log: log, Queries: []replicate.Query{
		{Name: "visits", SQL: "SELECT id FROM visits", MinRows: 15, MaxRows: 15}}})
	require.NoError(t, err, out.String())
	t.Logf("drill on %s: RTO %s, restored txid %d, %d objects, data at risk %s, replica age %s", h.Addr, rep.RTO, rep.Restored.TXID, rep.Objects, rep.Risk, rep.Age)
	assert.True(t, rep.Passed)
	assert.Equal(t, "ok", rep.Integrity)
	assert.True(t, rep.PrimaryKnown, "the host's Litestream state was read")
	assert.Equal(t, uint64(0), rep.Risk.Commits, "every visit was in the replica")
	logged, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Contains(t, string(logged), `"passed":true`)
	assert.NotContains(t, out.String(), s3.SecretAccessKey)

	cs, err := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{"slipway.drill": app.Service}})
	require.NoError(t, err)
	assert.Empty(t, cs, "the disposable container is gone")
	assert.ElementsMatch(t, imagesBefore, drillImages(t, ctx, e), "the drill image it brought is gone")
}

// drillImages lists the references of drill images on a host.
func drillImages(t *testing.T, ctx context.Context, e *engine.Engine) []string {
	imgs, err := e.ImageList(ctx, nil)
	require.NoError(t, err)
	var refs []string
	for _, img := range imgs {
		for _, tag := range img.Tags {
			if strings.HasPrefix(tag, "slipway/drill:") {
				refs = append(refs, tag)
			}
		}
	}
	return refs
}

// damage overwrites some pages in the middle of a database file.
func damage(t testing.TB, db string) {
	t.Helper()
	f, err := os.OpenFile(db, os.O_WRONLY, 0)
	require.NoError(t, err)
	garbage := make([]byte, 4*4096)
	for i := range garbage {
		garbage[i] = byte(rand.Uint32())
	}
	_, err = f.WriteAt(garbage, 4096)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// ballast adds mib MiB of random rows to the database through SQLite,
// beside the app, so they replicate like the app's writes.
func ballast(t testing.TB, db string, mib int) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Exec("CREATE TABLE IF NOT EXISTS ballast (b BLOB)")
	require.NoError(t, err)
	for range mib / 8 {
		_, err = conn.Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 128) INSERT INTO ballast SELECT randomblob(65536) FROM n")
		require.NoError(t, err)
	}
}

// The usual state after a crash: the app is not running. The recovery
// starts it on the restored database and goes live, and the restored
// file keeps the original's owner and mode.
func TestRecoverWhenTheAppIsAlreadyStopped(t *testing.T) {
	app, replica, h := recoveryApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, out := deployed(t, ctx, app, "st1")
	v := &visits{}
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 12, 10*time.Second)
	require.Equal(t, 12, v.ok)
	awaitReplicated(t, ctx, h, app, replica)

	db := hostDB(t, h, app)
	require.NoError(t, os.Chown(db, 1000, 1001))
	require.NoError(t, os.Chmod(db, 0o640))
	e := h.Engine(t)
	require.NoError(t, e.Stop(ctx, deploy.ContainerName(app, "web", "st1"), 10*time.Second), "the app crashed")
	damage(t, db)

	rep, err := s.Recover(ctx, deploy.Recovery{Replica: replica})
	require.NoError(t, err, out.String())
	t.Logf("recovery output:\n%s", out.String())
	assert.Contains(t, rep.Plan.String(), "already stopped")

	back := &visits{}
	back.loop("http://"+h.Addr+"/", app.Service+".test", nil, 1, 10*time.Second)
	require.Empty(t, back.failures)
	assert.Equal(t, 13, back.newestSeen(), "live, with the 12 visits from before the crash")
	st, err := os.Stat(db)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "the original's mode")
	owner := st.Sys().(*syscall.Stat_t)
	assert.Equal(t, [2]uint32{1000, 1001}, [2]uint32{owner.Uid, owner.Gid}, "the original's owner")
	assert.FileExists(t, rep.Aside)
}

// A recovery cut short at any step (here: an operator's Ctrl-C right
// after it) completes when run again, and the app ends live on the
// restored data.
func TestRecoverCompletesWhenRunAgain(t *testing.T) {
	app, replica, h := recoveryApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	_, _ = deployed(t, ctx, app, "ag1")
	v := &visits{}
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 5, 10*time.Second)
	require.Equal(t, 5, v.ok)
	want := 5

	for _, step := range []string{"stage", "stop-app", "swap", "start-app", "live"} {
		t.Run("cut after "+step, func(t *testing.T) {
			awaitReplicated(t, ctx, h, app, replica)
			cut, cancelCut := context.WithCancel(ctx)
			defer cancelCut()
			out := &cutter{after: "recover-" + step, cancel: cancelCut}
			s, err := deploy.Connect(ctx, app, deploy.Options{Output: out})
			require.NoError(t, err)
			defer s.Close()
			_, err = s.Recover(cut, deploy.Recovery{Replica: replica})
			require.Error(t, err, "the cut stops the recovery")
			t.Logf("first run stopped: %v", firstLine(err.Error()))
			assert.Contains(t, err.Error(), "run the recovery again")

			again := &syncOut{}
			s2, err := deploy.Connect(ctx, app, deploy.Options{Output: again})
			require.NoError(t, err)
			defer s2.Close()
			_, err = s2.Recover(ctx, deploy.Recovery{Replica: replica})
			require.NoError(t, err, again.String())

			back := &visits{}
			back.loop("http://"+h.Addr+"/", app.Service+".test", nil, 1, 10*time.Second)
			require.Empty(t, back.failures)
			want++
			assert.Equal(t, want, back.newestSeen(), "live, with every visit before")
		})
	}
}

// cutter is a session's output that cancels the recovery once the line
// of a step has been printed.
type cutter struct {
	syncOut
	after  string
	cancel func()
}

func (c *cutter) Write(p []byte) (int, error) {
	n, err := c.syncOut.Write(p)
	if strings.Contains(string(p), c.after+" ") {
		c.cancel()
	}
	return n, err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
