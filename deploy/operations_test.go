package deploy_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/secret"
)

func TestOperationsOnARunningRelease(t *testing.T) {
	const value = "s3cr3t-ops-9c41d"
	a, l := labApp(t, 2)
	a.Env = deploy.Env{Secret: []string{"SOME_SECRET"}}
	t.Setenv("SOME_SECRET", value)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	hosts := a.HostNames()
	vhost := a.Service + ".test"
	// Every line Logs and Exec write starts with its host and role.
	prefixed := regexp.MustCompile(`^(\S+) +web +\| (.*)$`)
	byHost := func(text string) map[string][]string {
		t.Helper()
		lines := map[string][]string{}
		for _, line := range outputLines(text) {
			m := prefixed.FindStringSubmatch(line)
			require.NotNil(t, m, "line %q has its host and role", line)
			lines[m[1]] = append(lines[m[1]], m[2])
		}
		return lines
	}

	t.Run("details show the running version and its route", func(t *testing.T) {
		d, err := s.Details(ctx)
		require.NoError(t, err)
		t.Logf("\n%s", d)
		require.Len(t, d.Hosts, 2)
		for i, h := range d.Hosts {
			assert.Equal(t, hosts[i], h.Host)
			require.Len(t, h.Containers, 1)
			c := h.Containers[0]
			assert.Equal(t, "v1", c.Version)
			assert.Equal(t, engine.StateRunning, c.State)
			assert.True(t, c.Serving, "kamal-proxy routes to %s on %s", c.Name, h.Host)
			assert.Positive(t, c.Uptime(d.Time))
			require.NotNil(t, h.Proxy)
			assert.Equal(t, engine.StateRunning, h.Proxy.State)
			require.Len(t, h.Proxy.Routes, 1, "only this app's route")
			assert.Equal(t, a.Service+"-web", h.Proxy.Routes[0].Service)
			assert.Equal(t, a.Service+"-web-v1:3000", h.Proxy.Routes[0].Target)
			assert.Contains(t, h.Proxy.Routes[0].Host, vhost)
		}
		assert.Nil(t, d.Lock)
		text := d.String()
		assert.Contains(t, text, "Lock: free")
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(hosts[1])+` +web +v1 +running +- +up \S+ +`+a.Service+`-web-v1 \(serving\)$`, text)
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(hosts[0])+` +running +`+a.Service+`-web +`+regexp.QuoteMeta(vhost)+` +`+a.Service+`-web-v1:3000 +running$`, text)

		require.NoError(t, s.Lock(ctx, "v9"))
		d, err = s.Details(ctx)
		require.NoError(t, s.Unlock(ctx))
		require.NoError(t, err)
		require.NotNil(t, d.Lock)
		assert.Equal(t, "tester", d.Lock.Performer)
		assert.Contains(t, d.String(), "Lock: held by tester since")
		assert.Contains(t, d.String(), "deploying v9")
	})

	t.Run("logs tail every host, each line prefixed with its host", func(t *testing.T) {
		for _, h := range hosts {
			get(t, h, vhost, "/tail-probe")
		}
		// The engine takes a container's output into its log a moment
		// after the response is sent: read until every probe is there.
		var w syncBuffer
		var lines map[string][]string
		var err error
		require.Eventually(t, func() bool {
			w = syncBuffer{}
			if err = s.Logs(ctx, deploy.LogOptions{Tail: 2}, &w); err != nil {
				return true
			}
			lines = byHost(w.String())
			for _, h := range hosts {
				if !strings.Contains(strings.Join(lines[h], "\n"), "GET /tail-probe") {
					return false
				}
			}
			return true
		}, 10*time.Second, 200*time.Millisecond, "every host's probe reaches its log")
		require.NoError(t, err)
		t.Logf("\n%s", w.String())
		require.Len(t, lines, 2)
		for _, h := range hosts {
			assert.Len(t, lines[h], 2, "the last 2 lines of %s", h)
			assert.Contains(t, strings.Join(lines[h], "\n"), "GET /tail-probe", "%s's own request", h)
		}

		w = syncBuffer{}
		require.NoError(t, s.Logs(ctx, deploy.LogOptions{Tail: 1, Hosts: hosts[1:]}, &w))
		assert.Equal(t, []string{hosts[1]}, keys(byHost(w.String())), "only the chosen host")
		assert.ErrorContains(t, s.Logs(ctx, deploy.LogOptions{Roles: []string{"jobs"}}, &w), `unknown role or accessory "jobs"; the app's roles and accessories: web`)
	})

	t.Run("follow writes new lines until the context ends", func(t *testing.T) {
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		var w syncBuffer
		done := make(chan error, 1)
		go func() { done <- s.Logs(fctx, deploy.LogOptions{Tail: 1, Follow: true}, &w) }()
		for _, h := range hosts {
			get(t, h, vhost, "/follow-probe")
		}
		require.Eventually(t, func() bool {
			n := 0
			for _, h := range hosts {
				if strings.Contains(strings.Join(byHost(w.String())[h], "\n"), "GET /follow-probe") {
					n++
				}
			}
			return n == len(hosts)
		}, 5*time.Second, 20*time.Millisecond, "every host's new line arrives:\n%s", &w)
		stop()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(3 * time.Second):
			t.Fatal("follow went on after the context ended")
		}
	})

	t.Run("exec runs in the running container of every host", func(t *testing.T) {
		var w syncBuffer
		res, err := s.Exec(ctx, deploy.ExecOptions{Cmd: []string{"/testapp", "version"}, Reuse: true}, &w)
		require.NoError(t, err)
		require.Len(t, res, 2)
		for i, r := range res {
			assert.Equal(t, hosts[i], r.Host)
			assert.Equal(t, a.Service+"-web-v1", r.Container)
			assert.Equal(t, "v1\n", string(r.Stdout))
			assert.Zero(t, r.ExitCode)
		}
		assert.Equal(t, map[string][]string{hosts[0]: {"v1"}, hosts[1]: {"v1"}}, byHost(w.String()))
	})

	t.Run("a one-off container gets the secrets, and no output shows them", func(t *testing.T) {
		var sessionOut, w syncBuffer
		x := connect(t, a, &sessionOut)
		res, err := x.Exec(ctx, deploy.ExecOptions{Cmd: []string{"getenv", "SOME_SECRET"}}, &w)
		require.NoError(t, err, sessionOut.String())
		require.Len(t, res, 1, "a one-off runs on one host")
		assert.Equal(t, a.PrimaryHost(), res[0].Host)
		assert.Equal(t, "v1", res[0].Version)
		assert.Equal(t, value+"\n", string(res[0].Stdout), "the result holds the command's own output")
		assert.Equal(t, map[string][]string{a.PrimaryHost(): {secret.Redacted}}, byHost(w.String()))
		assert.Contains(t, sessionOut.String(), "exec")
		assert.NotContains(t, sessionOut.String(), value)
		assert.NotContains(t, w.String(), value)

		left, err := l.Hosts[0].Engine(t).List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelExec: a.Service}})
		require.NoError(t, err)
		assert.Empty(t, left, "the one-off container was removed")
	})

	t.Run("a non-zero exit is reported per host", func(t *testing.T) {
		var w syncBuffer
		res, err := s.Exec(ctx, deploy.ExecOptions{Cmd: []string{"fail"}, Host: hosts[1]}, &w)
		var exit *deploy.ExitError
		require.True(t, errors.As(err, &exit), "an *ExitError, got %v", err)
		assert.Equal(t, deploy.ExitError{Host: hosts[1], Program: "fail", Code: 2}, *exit)
		require.Len(t, res, 1)
		assert.Equal(t, 2, res[0].ExitCode)
		assert.Equal(t, map[string][]string{hosts[1]: {"failing on purpose"}}, byHost(w.String()))
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(hosts[1])+` +web +exec .* FAILED\n +fail exited 2 on `, out.String())
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
