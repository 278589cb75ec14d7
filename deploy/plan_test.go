package deploy_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/health"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func helloApp() deploy.App {
	return deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{
			"web": {
				Servers: deploy.Hosts("203.0.113.10", "203.0.113.11", "203.0.113.12"),
				Proxy: &deploy.Proxy{Hosts: []string{"hello.example.com"}, AppPort: 3000, TLS: true, Health: health.HTTP{Path: "/up"},
					TLSCertificate: "HELLO_TLS_CERT", TLSPrivateKey: "HELLO_TLS_KEY"},
			},
			"jobs": {Servers: deploy.Hosts("203.0.113.13"), Cmd: []string{"/hello", "work"}},
		},
		Env: deploy.Env{
			Clear:  map[string]string{"DATABASE_PATH": "/data/hello.db"},
			Secret: []string{"SECRET_KEY_BASE"},
		},
		Volumes: []string{"hello-data:/data"},
		Boot:    deploy.Boot{Limit: 2, Wait: 5 * time.Second},
		Migrate: &deploy.Migrate{Cmd: []string{"/hello", "migrate"}},
	}
}

func running(version string, role string, age time.Duration) deploy.Container {
	return deploy.Container{Name: "hello-" + role + "-" + version, Role: role, Version: version, Running: true,
		Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(-age)}
}

func stopped(version, role string, age time.Duration) deploy.Container {
	c := running(version, role, age)
	c.Running = false
	return c
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got)
}

func TestPlanFreshHosts(t *testing.T) {
	plan, err := deploy.NewPlan(helloApp(), deploy.Release{Version: "v2"}, deploy.State{})
	require.NoError(t, err)

	t.Run("boots the primary host alone first, then by the limit", func(t *testing.T) {
		require.Len(t, plan.Batches, 3)
		assert.Equal(t, []string{"203.0.113.10"}, plan.Batches[0].Hosts)
		assert.Equal(t, []string{"203.0.113.11", "203.0.113.12"}, plan.Batches[1].Hosts)
		assert.Equal(t, []string{"203.0.113.13"}, plan.Batches[2].Hosts)
	})
	t.Run("prepares every host before anything boots", func(t *testing.T) {
		kinds := map[deploy.StepKind]int{}
		for _, st := range plan.Prepare {
			kinds[st.Kind]++
		}
		assert.Equal(t, map[deploy.StepKind]int{deploy.StepEnsureNetwork: 4, deploy.StepBootProxy: 3, deploy.StepEnsureImage: 4}, kinds)
	})
	t.Run("migrates on the primary host with the new image", func(t *testing.T) {
		require.NotNil(t, plan.Migrate)
		assert.Equal(t, "203.0.113.10", plan.Migrate.Host)
		assert.Equal(t, "ghcr.io/acme/hello:v2", plan.Migrate.Image)
		assert.Equal(t, []string{"SECRET_KEY_BASE"}, plan.Migrate.Secrets)
	})
	t.Run("gates web behind kamal-proxy and workers on their own", func(t *testing.T) {
		web := plan.Batches[0].StepsOn("203.0.113.10")
		require.Len(t, web, 2)
		assert.Equal(t, deploy.StepStart, web[0].Kind)
		assert.Equal(t, "hello-web-v2", web[0].Container)
		assert.Equal(t, map[string]string{"DATABASE_PATH": "/data/hello.db"}, web[0].Env)
		assert.Equal(t, deploy.StepProxyDeploy, web[1].Kind)
		assert.Equal(t, "hello-web-v2:3000", web[1].Proxy.Target)
		assert.Equal(t, "/up", web[1].Proxy.HealthPath)
		jobs := plan.Batches[2].StepsOn("203.0.113.13")
		require.Len(t, jobs, 2)
		assert.Equal(t, deploy.StepGate, jobs[1].Kind)
		assert.Equal(t, []string{"/hello", "work"}, jobs[0].Cmd)
	})
	t.Run("prints a stable dry run", func(t *testing.T) {
		golden(t, "plan_fresh", plan.String())
	})
}

func TestPlanOverRunningRelease(t *testing.T) {
	a := helloApp()
	a.Retain = 2
	a.Migrate = nil
	state := deploy.State{Hosts: map[string]deploy.HostState{}}
	for _, h := range []string{"203.0.113.10", "203.0.113.11", "203.0.113.12"} {
		state.Hosts[h] = deploy.HostState{
			Containers: []deploy.Container{running("v1", "web", time.Hour), stopped("v0", "web", 2*time.Hour),
				stopped("vX", "web", 3*time.Hour), stopped("vY", "web", 4*time.Hour)},
			Proxy:  &deploy.ProxyState{Running: true, Services: map[string]string{"hello-web": "hello-web-v1:3000"}},
			Images: []string{"ghcr.io/acme/hello:v1", "ghcr.io/acme/hello:v2"},
		}
	}
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, state)
	require.NoError(t, err)

	for _, st := range plan.Prepare {
		assert.NotEqual(t, deploy.StepBootProxy, st.Kind, "the proxy already runs on %s", st.Host)
		if st.Host != "203.0.113.13" {
			assert.NotEqual(t, deploy.StepEnsureImage, st.Kind, "the image is already on %s", st.Host)
		}
	}
	steps := plan.Batches[0].StepsOn("203.0.113.10")
	require.Len(t, steps, 3)
	assert.Equal(t, deploy.StepStopOld, steps[2].Kind)
	assert.Equal(t, []string{"hello-web-v1"}, steps[2].Old)

	require.Len(t, plan.Finish, 3, "one prune per web host")
	assert.Equal(t, []string{"hello-web-vX", "hello-web-vY"}, plan.Finish[0].Old, "keeps v1 and v0, the 2 newest")
	golden(t, "plan_upgrade", plan.String())
}

func TestPlanRollbackReusesRetainedContainers(t *testing.T) {
	a := helloApp()
	a.Roles = deploy.Roles{"web": a.Roles["web"]}
	a.Migrate = nil
	state := deploy.State{Hosts: map[string]deploy.HostState{}}
	for _, h := range a.HostNames() {
		state.Hosts[h] = deploy.HostState{
			Containers: []deploy.Container{running("v2", "web", time.Hour), stopped("v1", "web", 2*time.Hour)},
			Proxy:      &deploy.ProxyState{Running: true, Services: map[string]string{"hello-web": "hello-web-v2:3000"}},
		}
	}
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
	require.NoError(t, err)
	for _, st := range plan.Steps() {
		assert.NotEqual(t, deploy.StepEnsureImage, st.Kind, "a retained container needs no image")
		if st.Kind == deploy.StepStart {
			assert.True(t, st.Reuse, "%s starts the retained container", st.Host)
		}
	}
}

func TestPlanNothingToDo(t *testing.T) {
	a := deploy.App{Service: "hello", Image: "hello", Roles: deploy.Roles{
		"web": {Servers: deploy.Hosts("203.0.113.10"), Proxy: &deploy.Proxy{AppPort: 3000}},
	}}
	state := deploy.State{Hosts: map[string]deploy.HostState{"203.0.113.10": {
		Containers: []deploy.Container{running("v2", "web", time.Hour)},
		Proxy:      &deploy.ProxyState{Running: true, Services: map[string]string{"hello-web": "hello-web-v2:3000"}},
		Images:     []string{"hello:v2"},
	}}}
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, state)
	require.ErrorIs(t, err, deploy.ErrNothingToDeploy, "a deploy of what runs does nothing")
	assert.Empty(t, plan.Batches, "a deploy of what runs does nothing")
	assert.Empty(t, plan.Steps())
	assert.Equal(t, "Nothing to deploy: every host already runs hello v2, image hello:v2\n", plan.String())
}

func TestPlanOverItsOwnRelease(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*deploy.App)
	}{
		{"runs no migration", func(a *deploy.App) {}},
		{"boots no accessory that runs", func(a *deploy.App) {
			a.Accessories = map[string]deploy.Accessory{"cache": {Image: "redis:7", Roles: []string{"web"},
				Volumes: []string{"cache:/data"}, Files: map[string]string{"/etc/cache.conf": "maxmemory 1gb"}}}
		}},
		{"delivers no build", func(a *deploy.App) { a.Build = image.Go{Package: "./cmd/hello"} }},
		{"pulls nothing through the registry", func(a *deploy.App) {
			a.Registry = &deploy.Registry{Username: "deploy", PasswordSecret: "REGISTRY_TOKEN"}
		}},
		{"for a destination", func(a *deploy.App) { a.Destination = "staging" }},
		{"with hooks", func(a *deploy.App) {
			a.Hooks = deploy.Hooks{PreDeploy: func(context.Context, deploy.HookContext) error { return nil }}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := helloApp()
			tc.edit(&a)
			plan, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, deploy.StateRunning(a, "v2"))
			require.ErrorIs(t, err, deploy.ErrNothingToDeploy)
			assert.Nil(t, plan.Migrate, "no migration")
			assert.Empty(t, plan.Steps())
			assert.Equal(t, "v2", plan.Version)
		})
	}
}

func TestPlanSkipsTheWaitNextToABatchThatRunsTheRelease(t *testing.T) {
	a := helloApp()
	a.Migrate = nil
	state := deploy.StateRunning(a, "v2")
	// The first batch's host runs v1 still: only it changes.
	state.Hosts["203.0.113.10"] = deploy.StateRunning(a, "v1").Hosts["203.0.113.10"]
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, state)
	require.NoError(t, err)
	require.Len(t, plan.Batches, 3)
	assert.NotEmpty(t, plan.Batches[0].Steps)
	assert.Empty(t, plan.Batches[1].Steps)
	assert.Empty(t, plan.Batches[2].Steps)
	for i := range plan.Batches {
		assert.False(t, plan.WaitsBefore(i), "no wait before batch %d", i+1)
	}
	assert.NotContains(t, plan.String(), "Wait ")
	assert.Contains(t, plan.String(), "Batch 2 of 3 (203.0.113.11, 203.0.113.12):\n  already running v2\n")

	fresh, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, deploy.State{})
	require.NoError(t, err)
	assert.Equal(t, []bool{false, true, true}, []bool{fresh.WaitsBefore(0), fresh.WaitsBefore(1), fresh.WaitsBefore(2)},
		"a wait between batches that both boot")
}

func TestPlanPrintsEverythingADeployDoes(t *testing.T) {
	nop := func(context.Context, deploy.HookContext) error { return nil }
	a := deploy.App{
		Service:  "shop",
		Image:    "ghcr.io/acme/shop",
		Build:    image.Go{Package: "./cmd/shop"},
		Registry: &deploy.Registry{Username: "deploy", PasswordSecret: "REGISTRY_TOKEN"},
		Roles: deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10"),
			Proxy: &deploy.Proxy{AppPort: 8080, Health: health.HTTP{Path: "/healthz"}}}},
		Volumes: []string{"shop-data:/data"},
		Hooks:   deploy.Hooks{PreDeploy: nop, PreAppBoot: nop, PostAppBoot: nop, PostDeploy: nop, PreConnect: nop},
		Accessories: map[string]deploy.Accessory{
			"cache": {Image: "ghcr.io/acme/cache:7", Roles: []string{"web"}, Volumes: []string{"cache:/data"},
				Files: map[string]string{"/etc/cache.conf": "requirepass hunter2", "/etc/cache.d/extra.conf": ""}},
			"sidecar": {Image: "acme/sidecar:1", Build: image.Go{Package: "./cmd/sidecar"}, Roles: []string{"web"}},
		},
	}
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, deploy.State{})
	require.NoError(t, err)
	out := plan.String()
	for _, want := range []string{
		"to 1 host in 1 batch\n",
		"volumes shop-data:/data",
		"(volumes cache:/data; files /etc/cache.conf /etc/cache.d/extra.conf)",
		"Hook PreDeploy\n",
		"hook PreAppBoot\n",
		"hook PostAppBoot\n",
		"Hook PostDeploy\n",
		"build image ghcr.io/acme/shop:v1 on this machine, push it to its registry for 1 host to pull",
		"deliver image ghcr.io/acme/shop:v1: the host pulls it from its registry",
		"deliver image ghcr.io/acme/cache:7: the host pulls it from its registry",
		"build image acme/sidecar:1 on this machine, send it over SSH to 1 host",
		"deliver image acme/sidecar:1 over SSH (only the layers the host lacks)",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "hunter2", "an accessory file's content is never printed")
	assert.NotContains(t, out, "PreConnect", "it runs on connecting, before any plan")
	assert.NotContains(t, out, "1 hosts")
	assert.NotContains(t, out, "1 batches")
	golden(t, "plan_everything", out)

	t.Run("accessories have a column of their own", func(t *testing.T) {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "boot accessory") {
				fields := strings.Fields(line)
				require.GreaterOrEqual(t, len(fields), 3, line)
				assert.Contains(t, []string{"cache", "sidecar"}, fields[1], "the accessory's column follows the host: %s", line)
				assert.Equal(t, "boot", fields[2], "the role column is empty: %s", line)
			}
			if strings.Contains(line, "start shop-web-v1") {
				assert.Equal(t, columnOf(out, "boot accessory shop-cache"), columnOf(out, "start shop-web-v1"),
					"a role's step lines up with an accessory's")
			}
		}
	})
}

// columnOf is the column at which text starts on its line in out.
func columnOf(out, text string) int {
	i := strings.Index(out, text)
	return i - strings.LastIndex(out[:i], "\n") - 1
}

func TestPlanBatches(t *testing.T) {
	hosts := deploy.Hosts("h1", "h2", "h3", "h4", "h5")
	cases := []struct {
		name string
		boot deploy.Boot
		want [][]string
	}{
		{"no limit boots the primary first, then the rest at once", deploy.Boot{}, [][]string{{"h1"}, {"h2", "h3", "h4", "h5"}}},
		{"limit 1 boots one by one", deploy.Boot{Limit: 1}, [][]string{{"h1"}, {"h2"}, {"h3"}, {"h4"}, {"h5"}}},
		{"limit 2 boots the primary alone first", deploy.Boot{Limit: 2}, [][]string{{"h1"}, {"h2", "h3"}, {"h4", "h5"}}},
		{"a limit as large as the hosts still boots the primary first", deploy.Boot{Limit: 5}, [][]string{{"h1"}, {"h2", "h3", "h4", "h5"}}},
		{"40 percent of 5 is 2", deploy.Boot{LimitPercent: 40}, [][]string{{"h1"}, {"h2", "h3"}, {"h4", "h5"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := deploy.App{Service: "hello", Image: "hello", Boot: tc.boot,
				Roles: deploy.Roles{"web": {Servers: hosts, Proxy: &deploy.Proxy{}}}}
			plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, deploy.State{})
			require.NoError(t, err)
			var got [][]string
			for _, b := range plan.Batches {
				got = append(got, b.Hosts)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestPlanRejectsABadApp(t *testing.T) {
	a := helloApp()
	a.Service = ""
	_, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, deploy.State{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "service:")
}
