package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/internal/lab"
)

// handoffApp is the test app on the lab's first host with a database
// declared on its web role, so the role deploys by handoff; its service
// name is the handoff engineer's own.
// heldFor is how long a request may wait through a's handoff: the
// proxy holds it for up to MaxPause, and it then needs its answer.
func heldFor(a deploy.App) time.Duration {
	return a.Roles["web"].Proxy.MaxPause + 5*time.Second
}

func handoffApp(t testing.TB) (deploy.App, lab.Host) {
	a, l := labApp(t, 1)
	a.Service = "handoff" + strings.TrimPrefix(a.Service, "t")
	lab.CleanupService(t, l.Hosts, a.Service)
	web := a.Roles["web"]
	web.Proxy.Hosts = []string{a.Service + ".test"}
	web.Proxy.DeployTimeout = 2 * time.Second
	web.Proxy.MaxPause = 30 * time.Second
	a.Roles["web"] = web
	a.Volumes = []string{a.Service + "-data:/data"}
	a.Databases = []deploy.Database{{Path: "/data/app.db", Role: "web"}}
	h := l.Hosts[0]
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, e, err := h.Connect(ctx); err == nil {
			e.VolumeRemove(ctx, a.Service+"-data", true)
			e.Close()
			c.Close()
		}
	})
	return a, h
}

// route is the proxy's route of the app's web service on h.
func route(t *testing.T, ctx context.Context, a deploy.App, h lab.Host) proxy.Route {
	t.Helper()
	routes, err := proxy.List(ctx, h.Engine(t), proxy.DefaultContainer)
	require.NoError(t, err)
	for _, r := range routes {
		if r.Service == deploy.ProxyService(a, "web") {
			return r
		}
	}
	t.Fatalf("no route %s on %s", deploy.ProxyService(a, "web"), h.Name)
	return proxy.Route{}
}

func TestHandoffWhoseNewReleaseFailsItsGate(t *testing.T) {
	a, h := handoffApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	// v2 never passes /up: the test app's failure switch is on.
	bad := a
	bad.Env = deploy.Env{Clear: map[string]string{"UP_FAIL": "1"}}
	sBad := connect(t, bad, &out)
	ld := startLoadWait([]string{h.Addr}, a.Service+".test", 6, 30_000, 90*time.Second, heldFor(a))
	time.Sleep(500 * time.Millisecond)
	rep, err := sBad.Deploy(ctx, deploy.Release{Version: "v2"})
	time.Sleep(500 * time.Millisecond)
	hits := ld.finish()

	require.ErrorIs(t, err, deploy.ErrGateFailed)
	var boot *deploy.BootError
	require.ErrorAs(t, err, &boot)
	assert.Equal(t, h.Addr, boot.Host)
	assert.Contains(t, err.Error(), h.Addr, "the error names the host")
	assert.Contains(t, err.Error(), a.Service+"-web-v1 started again")
	assert.Contains(t, err.Error(), "resumed")
	t.Logf("error:\n%s", err)
	var kinds []string
	for _, r := range rep.Steps {
		kinds = append(kinds, r.Step.Kind.String())
	}
	assert.Equal(t, []string{"ensure-network", "handoff-pause", "handoff-stop", "handoff-start", "handoff-proxy"}, kinds)

	t.Logf("%d requests, %d failed", len(hits), len(failures(hits)))
	require.NotEmpty(t, hits)
	require.Empty(t, failures(hits), "no request failed: they waited while paused, then went to v1 again")
	assert.Equal(t, map[string][]string{h.Addr: {"v1"}}, versionsSeen(hits), "only v1 answered")

	e := h.Engine(t)
	_, err = e.Inspect(ctx, a.Service+"-web-v2")
	assert.ErrorIs(t, err, engine.ErrNotFound, "the failed v2 container is gone")
	v1, err := e.Inspect(ctx, a.Service+"-web-v1")
	require.NoError(t, err)
	assert.True(t, v1.Running(), "v1 runs again")
	r := route(t, ctx, a, h)
	assert.Equal(t, a.Service+"-web-v1:3000", r.Target)
	assert.Equal(t, "running", r.State, "the service is not left paused")

	// The next good release hands off for real, again without a failure.
	ld = startLoadWait([]string{h.Addr}, a.Service+".test", 6, 30_000, 90*time.Second, heldFor(a))
	time.Sleep(500 * time.Millisecond)
	_, err = s.Deploy(ctx, deploy.Release{Version: "v2"})
	require.NoError(t, err, out.String())
	time.Sleep(500 * time.Millisecond)
	hits = ld.finish()
	require.Empty(t, failures(hits))
	assert.Equal(t, map[string][]string{h.Addr: {"v1", "v2"}}, versionsSeen(hits))
	v1, err = e.Inspect(ctx, a.Service+"-web-v1")
	require.NoError(t, err)
	v2, err := e.Inspect(ctx, a.Service+"-web-v2")
	require.NoError(t, err)
	assert.False(t, v2.StartedAt.Before(v1.FinishedAt), "v2 started after v1 finished: one writer at a time")
}

func TestHandoffCancelledMidwayResumesOnTheOldRelease(t *testing.T) {
	a, h := handoffApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	// v2 takes 1 s to listen; the deploy is cancelled while its gate waits.
	slow := a
	slow.Env = deploy.Env{Clear: map[string]string{"BOOT_DELAY": "1s"}}
	var slowOut syncBuffer
	sSlow := connect(t, slow, &slowOut)
	ld := startLoadWait([]string{h.Addr}, a.Service+".test", 6, 30_000, 90*time.Second, heldFor(a))
	time.Sleep(500 * time.Millisecond)
	dctx, dcancel := context.WithCancel(ctx)
	go func() {
		for !strings.Contains(slowOut.String(), "handoff-start") && dctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		dcancel()
	}()
	_, err = sSlow.Deploy(dctx, deploy.Release{Version: "v2"})
	dcancel()
	time.Sleep(500 * time.Millisecond)
	hits := ld.finish()

	require.Error(t, err)
	t.Logf("error:\n%s\noutput:\n%s", err, slowOut.String())
	for _, f := range failures(hits) {
		t.Logf("failed at %s: %v", f.at.Format("15:04:05.000"), f.err)
	}
	assert.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "resumed")
	require.Empty(t, failures(hits), "no request failed")
	assert.Equal(t, map[string][]string{h.Addr: {"v1"}}, versionsSeen(hits))
	r := route(t, ctx, a, h)
	assert.Equal(t, a.Service+"-web-v1:3000", r.Target)
	assert.Equal(t, "running", r.State, "resumed although the deploy's context was cancelled")
	_, err = h.Engine(t).Inspect(ctx, a.Service+"-web-v2")
	assert.ErrorIs(t, err, engine.ErrNotFound)
}

// A worker role that writes a database hands off without a proxy: the
// old container stops before the new one starts, and a new one that
// fails its gate is stopped and removed while the old one starts again.
func TestHandoffOfAWorkerRole(t *testing.T) {
	a, h := handoffApp(t)
	web := a.Roles["web"]
	web.Proxy = nil
	web.Health = health.HTTP{Path: "/up", Port: 3000, Interval: 100 * time.Millisecond, Deadline: 2 * time.Second}
	a.Roles["web"] = web
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	bad := a
	bad.Env = deploy.Env{Clear: map[string]string{"UP_FAIL": "1"}}
	rep, err := connect(t, bad, &out).Deploy(ctx, deploy.Release{Version: "v2"})
	require.ErrorIs(t, err, deploy.ErrGateFailed)
	assert.Contains(t, err.Error(), a.Service+"-web-v1 started again")
	var kinds []string
	for _, r := range rep.Steps {
		kinds = append(kinds, r.Step.Kind.String())
	}
	assert.Equal(t, []string{"ensure-network", "handoff-stop", "handoff-start", "handoff-gate"}, kinds)
	e := h.Engine(t)
	_, err = e.Inspect(ctx, a.Service+"-web-v2")
	assert.ErrorIs(t, err, engine.ErrNotFound, "the failed v2 container is gone")
	v1, err := e.Inspect(ctx, a.Service+"-web-v1")
	require.NoError(t, err)
	assert.True(t, v1.Running(), "v1 runs again")

	_, err = s.Deploy(ctx, deploy.Release{Version: "v2"})
	require.NoError(t, err, out.String())
	v1, err = e.Inspect(ctx, a.Service+"-web-v1")
	require.NoError(t, err)
	v2, err := e.Inspect(ctx, a.Service+"-web-v2")
	require.NoError(t, err)
	assert.False(t, v1.Running())
	assert.True(t, v2.Running())
	assert.False(t, v2.StartedAt.Before(v1.FinishedAt), "v2 started after v1 finished")
}
