package targets_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/targets"
)

func labApp(t *testing.T) deploy.App {
	l := lab.Require(t, 1)
	h := l.Hosts[0]
	service := fmt.Sprintf("tg%d", rand.Uint32()%1_000_000)
	lab.CleanupService(t, l.Hosts, service)
	return deploy.App{
		Service: service,
		Image:   lab.TestAppImage,
		Roles: deploy.Roles{"web": {
			Servers: []deploy.Server{{Host: h.Addr, KeyFiles: []string{h.KeyFile}, KnownHosts: h.KnownHosts, DockerSocket: h.DockerSocket}},
			Proxy: &deploy.Proxy{Hosts: []string{service + ".test"}, AppPort: lab.TestAppPort, DeployTimeout: 2 * time.Second,
				Health: health.HTTP{Path: "/up", Interval: 100 * time.Millisecond}},
		}},
	}
}

func ptr[T any](v T) *T { return &v }

func TestExitCodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app := labApp(t)
	use := func(a deploy.App) { targets.Use(targets.Config{App: a, Options: deploy.Options{Output: io.Discard}}) }

	t.Run("a deploy that succeeds exits 0", func(t *testing.T) {
		use(app)
		require.NoError(t, targets.Deploy(ctx, ptr("v1"), nil))
	})

	t.Run("a failing gate has its own exit code", func(t *testing.T) {
		bad := app
		bad.Env = deploy.Env{Clear: map[string]string{"UP_FAIL": "1"}}
		use(bad)
		err := targets.Deploy(ctx, ptr("v2"), nil)
		assert.Equal(t, targets.ExitGateFailed, mg.ExitStatus(err), "%v", err)
	})

	t.Run("a held lock has its own exit code", func(t *testing.T) {
		use(app)
		require.NoError(t, targets.Lock{}.Acquire(ctx, ptr("maintenance"), nil))
		err := targets.Deploy(ctx, ptr("v2"), nil)
		assert.Equal(t, targets.ExitLocked, mg.ExitStatus(err), "%v", err)
		assert.Contains(t, err.Error(), "maintenance")
		require.NoError(t, targets.Lock{}.Release(ctx, nil, nil))
	})

	t.Run("a bad config has its own exit code", func(t *testing.T) {
		bad := app
		bad.Service = "Not Valid"
		use(bad)
		err := targets.Deploy(ctx, ptr("v2"), nil)
		assert.Equal(t, targets.ExitInvalid, mg.ExitStatus(err), "%v", err)
	})
}

// `mage -l` in the example app lists every ready target with its line.
func TestMageListsTheTargets(t *testing.T) {
	cmd := exec.Command("go", "run", "mage.go", "-l")
	cmd.Dir = "../examples/hello"
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("mage -l:\n%s", out)
	for _, target := range []string{"deploy", "check", "plan", "rollback", "versions", "details", "logs", "exec",
		"lock:status", "lock:acquire", "lock:release", "prune", "audit", "proxy:reboot", "proxy:logs", "proxy:details", "server:setup", "remove",
		"accessory:boot", "accessory:reboot", "accessory:stop", "accessory:start", "accessory:logs", "accessory:exec", "accessory:details", "accessory:remove"} {
		assert.Regexp(t, `(?m)^  `+target+`\s+\S`, string(out), "lists %s with a description", target)
	}
	assert.False(t, strings.Contains(string(out), "use "), "configuration funcs are not targets")
}

// A target that fails on several hosts ends its output with the hosts
// grouped by reason, and its error, which Mage prints after that, says
// so in one line rather than listing them again.
func TestFailuresOnSeveralHostsAreListedOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := lab.Require(t, 3)
	app := labApp(t)
	var servers []deploy.Server
	for _, h := range l.Hosts[:3] {
		// Port 1: nothing listens there, so every dial is refused.
		servers = append(servers, deploy.Server{Host: h.Addr, Port: 1, KeyFiles: []string{h.KeyFile}, KnownHosts: h.KnownHosts, DockerSocket: h.DockerSocket})
	}
	web := app.Roles["web"]
	web.Servers = servers
	app.Roles["web"] = web
	const token = "tok-several-hosts-4b1d"
	t.Setenv("SEVERAL_TOKEN", token)
	app.Env = deploy.Env{Secret: []string{"SEVERAL_TOKEN"}}
	var out strings.Builder
	targets.Use(targets.Config{App: app, Options: deploy.Options{Output: &out}})

	err := targets.Deploy(ctx, ptr("v1"), nil)
	require.Error(t, err)
	assert.Equal(t, targets.ExitFailed, mg.ExitStatus(err), "%v", err)
	assert.Contains(t, out.String(), "Failed on 3 of 3 hosts:", "the output ends with the grouped failures")
	assert.Contains(t, out.String(), "connection refused")
	assert.Contains(t, err.Error(), `3 of 3 hosts failed (each host's reason is above, under "Failed on 3 of 3 hosts")`)
	assert.NotContains(t, err.Error(), "connection refused", "the reasons stand once, in the output")
	assert.NotContains(t, out.String(), token, "no secret in the output")
	assert.NotContains(t, err.Error(), token, "no secret in the error")
	t.Logf("output:\n%s\nerror: %v", out.String(), err)
}
