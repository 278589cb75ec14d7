package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/examples/hello/deployment"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
)

// recoveryApp is hello under a service name, bucket and proxy host of its
// own, on the lab's first host.
func recoveryApp(t *testing.T) (deploy.App, replicate.Replica, lab.Host) {
	l := lab.Require(t, 1)
	s3 := lab.RequireS3(t)
	h := l.Hosts[0]
	service := fmt.Sprintf("hellorec%d", rand.Uint32()%100000)
	bucket := s3.Bucket(t, service)
	app, replica := deployment.Isolated(deployment.Lab(), service, bucket, s3.HostEndpoint(h),
		deploy.FileSecrets{Path: lab.SecretsFile(lab.Options{})})
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

func hostDB(t *testing.T, h lab.Host, app deploy.App) string {
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
	f, err := os.OpenFile(db, os.O_WRONLY, 0)
	require.NoError(t, err)
	garbage := make([]byte, 4*4096)
	for i := range garbage {
		garbage[i] = byte(rand.Uint32())
	}
	_, err = f.WriteAt(garbage, 4096)
	require.NoError(t, err)
	require.NoError(t, f.Close())
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
	time.Sleep(2500 * time.Millisecond)

	log := filepath.Join(t.TempDir(), "drills.jsonl")
	drill := deploy.AppDrill{
		Replica: replica,
		Host:    h.Addr,
		Smoke:   []deploy.SmokeCheck{{Path: "/", Body: "visit #13"}, {Path: "/up"}},
		DropEnv: deployment.DrillDropEnv,
		Log:     log,
	}
	rep, err := s.DrillApp(ctx, drill)
	require.NoError(t, err, out.String())
	t.Logf("whole-app drill: RTO %s (restore %s, boot %s), RPO %s", rep.RTO, rep.Restore, rep.Boot, rep.RPO)
	assert.True(t, rep.Passed)
	assert.Contains(t, out.String(), "STARTED")
	logged, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Contains(t, string(logged), `"kind":"app"`)

	// Torn down: no drill container or volume is left on the host.
	e := h.Engine(t)
	cs, err := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{"slipway.drill": app.Service}})
	require.NoError(t, err)
	assert.Empty(t, cs)
	// The real app kept serving, and the drill wrote nothing to its replica.
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 1, 5*time.Second)
	assert.Equal(t, 13, v.newestSeen())
}

// deployed connects to app's hosts and deploys version; the session and
// its output are the test's.
func deployed(t *testing.T, ctx context.Context, app deploy.App, version string) (*deploy.Session, *syncOut) {
	t.Helper()
	out := &syncOut{}
	s, err := deploy.Connect(ctx, app, deploy.Options{Output: out})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Deploy(ctx, deploy.Release{Version: version})
	require.NoError(t, err, out.String())
	return s, out
}

func TestDrillOnTheHostInADisposableContainer(t *testing.T) {
	app, replica, h := recoveryApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, out := deployed(t, ctx, app, "h1")
	v := &visits{}
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 15, 10*time.Second)
	require.Equal(t, 15, v.ok)
	time.Sleep(2500 * time.Millisecond)

	log := filepath.Join(t.TempDir(), "drills.jsonl")
	rep, err := s.DrillOnHost(ctx, h.Addr, replica, replicate.DrillOptions{Log: log, Queries: []replicate.Query{
		{Name: "visits", SQL: "SELECT id FROM visits", MinRows: 15, MaxRows: 15}}})
	require.NoError(t, err, out.String())
	t.Logf("drill on %s: RTO %s, restored txid %d, %d objects", h.Addr, rep.RTO, rep.Restored.TXID, rep.Objects)
	assert.True(t, rep.Passed)
	assert.Equal(t, "ok", rep.Integrity)
	logged, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Contains(t, string(logged), `"passed":true`)
	assert.NotContains(t, out.String(), lab.RequireS3(t).SecretAccessKey)

	cs, err := h.Engine(t).List(ctx, engine.ListOptions{All: true, Labels: map[string]string{"slipway.drill": app.Service}})
	require.NoError(t, err)
	assert.Empty(t, cs, "the disposable container is gone")
}
