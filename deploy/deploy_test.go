package deploy_test

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/secret"
)

func addrs(a deploy.App) []string { return a.HostNames() }

func TestZeroDowntimeDeployAndRollback(t *testing.T) {
	a, _ := labApp(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)

	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	// At least 5,000 requests over about 5 s, through each host's proxy.
	ld := startLoad(addrs(a), a.Service+".test", 8, 60_000, 60*time.Second)
	time.Sleep(time.Second)
	_, err = s.Deploy(ctx, deploy.Release{Version: "v2"})
	require.NoError(t, err, out.String())
	time.Sleep(time.Second)
	_, err = s.Rollback(ctx, "v1")
	require.NoError(t, err, out.String())
	time.Sleep(time.Second)
	hits := ld.finish()

	t.Logf("%d requests, %d failed", len(hits), len(failures(hits)))
	require.GreaterOrEqual(t, len(hits), 5000, "the load loop made enough requests")
	require.Empty(t, failures(hits), "no request failed during deploy and rollback")
	for host, versions := range versionsSeen(hits) {
		assert.Equal(t, "v1", versions[0], "%s served v1 first", host)
		assert.Contains(t, versions, "v2", "%s switched to v2", host)
		assert.Equal(t, "v1", versions[len(versions)-1], "%s switched back to v1", host)
	}
	assert.Contains(t, out.String(), "HOST")
}

func TestFailingGateKeepsThePreviousRelease(t *testing.T) {
	a, l := labApp(t, 2)
	web := a.Roles["web"]
	web.Proxy.DeployTimeout = 2 * time.Second
	a.Roles["web"] = web
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v2"})
	require.NoError(t, err, out.String())

	// v3 never passes /up: the test app's failure switch is on.
	bad := a
	bad.Env = deploy.Env{Clear: map[string]string{"UP_FAIL": "1"}}
	s3 := connect(t, bad, &out)
	ld := startLoad(addrs(a), a.Service+".test", 6, 30_000, 60*time.Second)
	_, err = s3.Deploy(ctx, deploy.Release{Version: "v3"})
	hits := ld.finish()

	require.ErrorIs(t, err, deploy.ErrGateFailed)
	var boot *deploy.BootError
	require.ErrorAs(t, err, &boot)
	assert.Contains(t, err.Error(), "did not become healthy")
	assert.Contains(t, err.Error(), "/up failing: UP_FAIL is on", "the diagnostics carry the app's own log lines")
	assert.Contains(t, err.Error(), "running", "and its state")
	require.Empty(t, failures(hits), "v2 kept serving")
	for host, versions := range versionsSeen(hits) {
		assert.Equal(t, []string{"v2"}, versions, "%s served only v2", host)
	}
	for _, h := range l.Hosts[:2] {
		_, err := h.Engine(t).Inspect(ctx, a.Service+"-web-v3")
		assert.ErrorIs(t, err, engine.ErrNotFound, "no v3 container is left on %s", h.Name)
	}
	lock, err := s.LockStatus(ctx)
	require.NoError(t, err)
	assert.Nil(t, lock, "the lock was released")
}

func TestBatchesBootOneHostAtATime(t *testing.T) {
	a, _ := labApp(t, 3)
	a.Boot = deploy.Boot{Limit: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := connect(t, a, &syncBuffer{})
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err)

	logs, err := s.Audit(ctx, 0)
	require.NoError(t, err)
	type span struct {
		host       string
		start, end time.Time
	}
	var spans []span
	for host, entries := range logs {
		sp := span{host: host}
		for _, e := range entries {
			require.Equal(t, host, e.Host, "each host's log holds its own steps")
			if e.Step == "start" {
				sp.start = e.Time
			}
			if e.Step == "proxy-deploy" {
				sp.end = e.Time.Add(time.Duration(e.DurationMS) * time.Millisecond)
			}
		}
		require.False(t, sp.start.IsZero() || sp.end.IsZero(), "%s recorded its boot", host)
		spans = append(spans, sp)
	}
	require.Len(t, spans, 3)
	for _, sp := range spans {
		t.Logf("%s boot %s .. %s", sp.host, sp.start.Format("15:04:05.000"), sp.end.Format("15:04:05.000"))
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start.Before(spans[j].start) })
	assert.Equal(t, a.PrimaryHost(), spans[0].host, "the primary host boots first")
	for i := 1; i < len(spans); i++ {
		assert.False(t, spans[i].start.Before(spans[i-1].end), "%s started booting before %s had switched", spans[i].host, spans[i-1].host)
	}
}

func TestFailingMigrationLeavesEveryHostAsItWas(t *testing.T) {
	a, l := labApp(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	_, err := connect(t, a, &out).Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	a.Migrate = &deploy.Migrate{Cmd: []string{"fail"}}
	_, err = connect(t, a, &out).Deploy(ctx, deploy.Release{Version: "v2"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "migrate")
	assert.Contains(t, err.Error(), "exited 2")
	assert.Contains(t, err.Error(), "failing on purpose", "the migration's own output")

	for _, h := range l.Hosts[:2] {
		e := h.Engine(t)
		v1, err := e.Inspect(ctx, a.Service+"-web-v1")
		require.NoError(t, err)
		assert.True(t, v1.Running(), "%s still runs v1", h.Name)
		_, err = e.Inspect(ctx, a.Service+"-web-v2")
		assert.ErrorIs(t, err, engine.ErrNotFound, "%s never booted v2", h.Name)
		_, err = e.Inspect(ctx, deploy.MigrateName(a, "v2"))
		assert.ErrorIs(t, err, engine.ErrNotFound, "the migration container is gone from %s", h.Name)
	}
}

func TestSecretValuesAppearNowhere(t *testing.T) {
	const value = "hunter2-s3cr3t-5f1e"
	a, l := labApp(t, 1)
	a.Env = deploy.Env{Secret: []string{"APP_SECRET"}, Clear: map[string]string{"GREETING": "hello"}}
	a.Migrate = &deploy.Migrate{Cmd: []string{"getenv", "APP_SECRET"}} // the image's entrypoint is /testapp
	t.Setenv("APP_SECRET", value)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var out syncBuffer
	s := connect(t, a, &out)
	state, err := s.Observe(ctx)
	require.NoError(t, err)
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
	require.NoError(t, err)
	_, err = s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	e := l.Hosts[0].Engine(t)
	res, err := e.Exec(ctx, a.Service+"-web-v1", []string{"/testapp", "getenv", "APP_SECRET"}, engine.ExecOptions{})
	require.NoError(t, err)
	assert.Equal(t, value+"\n", string(res.Stdout), "the container got the secret through the engine API")

	audit, err := s.Audit(ctx, 0)
	require.NoError(t, err)
	assert.NotEmpty(t, audit[l.Hosts[0].Addr])
	auditText := ""
	for _, entries := range audit {
		for _, e := range entries {
			auditText += e.Step + " " + e.Error + " " + e.Container + "\n"
		}
	}
	raw, err := l.Hosts[0].Dial(t).Run(ctx, "cat "+deploy.AuditPath(a), nil)
	require.NoError(t, err)

	for what, text := range map[string]string{
		"deploy output": out.String(), "plan print": plan.String(), "audit log": string(raw.Stdout) + auditText,
	} {
		assert.NotContains(t, text, value, "the secret's value is not in the %s", what)
	}
	assert.Contains(t, plan.String(), "APP_SECRET", "the plan names the secret")
}

func TestMissingSecretStopsBeforeAnyHostIsTouched(t *testing.T) {
	a, l := labApp(t, 1)
	a.Env = deploy.Env{Secret: []string{"SLIPWAY_TEST_NEVER_SET"}}
	ctx := context.Background()
	_, err := connect(t, a, &syncBuffer{}).Deploy(ctx, deploy.Release{Version: "v1"})
	require.ErrorIs(t, err, secret.ErrMissing)
	assert.Contains(t, err.Error(), "SLIPWAY_TEST_NEVER_SET")
	assertUntouched(t, l.Hosts[0].Engine(t), a)
}

func TestBadConfigTouchesNoHost(t *testing.T) {
	base, l := labApp(t, 2)
	cases := []struct {
		name  string
		edit  func(*deploy.App)
		field string
	}{
		{"empty service", func(a *deploy.App) { a.Service = "" }, "service:"},
		{"service with capitals", func(a *deploy.App) { a.Service = "Hello_App" }, "service:"},
		{"image with a tag", func(a *deploy.App) { a.Image = "slipway/testapp:v1" }, "image:"},
		{"no roles", func(a *deploy.App) { a.Roles = nil }, "roles:"},
		{"role without servers", func(a *deploy.App) { a.Roles["jobs"] = deploy.Role{} }, "roles.jobs.servers:"},
		{"empty host", func(a *deploy.App) {
			r := a.Roles["web"]
			r.Servers = append(r.Servers, deploy.Server{})
			a.Roles["web"] = r
		},
			"roles.web.servers[2].host:"},
		{"port out of range", func(a *deploy.App) { r := a.Roles["web"]; r.Servers[1].Port = 70000; a.Roles["web"] = r },
			"roles.web.servers[1].port:"},
		{"negative retain", func(a *deploy.App) { a.Retain = -1 }, "retain:"},
		{"boot percent over 100", func(a *deploy.App) { a.Boot.LimitPercent = 150 }, "boot.limitPercent:"},
		{"bad volume", func(a *deploy.App) { a.Volumes = []string{"data"} }, "volumes[0]:"},
		{"bad env name", func(a *deploy.App) { a.Env.Clear = map[string]string{"1BAD": "x"} }, "env.clear.1BAD:"},
		{"proxy port out of range", func(a *deploy.App) { a.Roles["web"].Proxy.AppPort = -3 }, "roles.web.proxy.appPort:"},
		{"malformed health path", func(a *deploy.App) { a.Roles["web"].Proxy.Health.Path = "up now" }, "roles.web.proxy.health"},
		{"upside-down status range", func(a *deploy.App) { a.Roles["web"].Proxy.Health.Status = health.StatusRange{Min: 399, Max: 200} },
			"roles.web.proxy.health"},
		{"unknown primary role", func(a *deploy.App) { a.PrimaryRole = "api" }, "primaryRole:"},
		{"reserved label", func(a *deploy.App) { a.Labels = map[string]string{"slipway.role": "x"} }, "labels"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := copyApp(base)
			tc.edit(&a)
			_, err := deploy.Connect(context.Background(), a, deploy.Options{Output: &syncBuffer{}})
			require.Error(t, err)
			var verr *deploy.ValidationError
			require.True(t, errors.As(err, &verr), "a *ValidationError, got %v", err)
			assert.Contains(t, err.Error(), tc.field)
		})
	}
	for _, h := range l.Hosts[:2] {
		assertUntouched(t, h.Engine(t), base)
	}
}

// copyApp copies the parts of an App the bad-config cases change.
func copyApp(a deploy.App) deploy.App {
	roles := deploy.Roles{}
	for name, r := range a.Roles {
		r.Servers = append([]deploy.Server(nil), r.Servers...)
		if r.Proxy != nil {
			px := *r.Proxy
			r.Proxy = &px
		}
		roles[name] = r
	}
	a.Roles = roles
	return a
}

func assertUntouched(t *testing.T, e *engine.Engine, a deploy.App) {
	t.Helper()
	cs, err := e.List(context.Background(), engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: a.Service}})
	require.NoError(t, err)
	assert.Empty(t, cs, "no container of %s on the host", a.Service)
}
