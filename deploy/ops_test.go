package deploy_test

import (
	"bytes"
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

func TestVersionsAndPrune(t *testing.T) {
	a, l := labApp(t, 2)
	a.Image = ownImages(t, l, 2, a.Service)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	for _, v := range []string{"v1", "v2", "v3"} {
		_, err := s.Deploy(ctx, deploy.Release{Version: v})
		require.NoError(t, err, out.String())
	}
	hosts := a.HostNames()

	t.Run("versions lists every retained version per host, newest first", func(t *testing.T) {
		vs, err := s.Versions(ctx)
		require.NoError(t, err)
		require.Len(t, vs, 6)
		for i, host := range hosts {
			got := vs[3*i : 3*i+3]
			for j, want := range []string{"v3", "v2", "v1"} {
				assert.Equal(t, host, got[j].Host)
				assert.Equal(t, "web", got[j].Role)
				assert.Equal(t, want, got[j].Version)
				assert.Equal(t, deploy.ContainerName(a, "web", want), got[j].Container)
				assert.Equal(t, a.Image+":"+want, got[j].Image)
				assert.Equal(t, j == 0, got[j].Running(), "%s runs only v3", host)
				if j > 0 {
					assert.True(t, got[j-1].Created.After(got[j].Created), "%s lists newest first", host)
				}
			}
		}
		assert.Equal(t, []string{"v3", "v2", "v1"}, deploy.RetainedVersions(a, vs))

		var table bytes.Buffer
		require.NoError(t, deploy.PrintVersions(&table, a, vs))
		t.Logf("\n%s", table.String())
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(hosts[1])+` +web +v1 +exited +\d{4}-`, table.String())
		assert.Contains(t, table.String(), "Retained on every host: v3, v2, v1")
	})

	t.Run("prune keeps Retain stopped containers and never the running one", func(t *testing.T) {
		a1 := a
		a1.Retain = 1
		var pout syncBuffer
		p := connect(t, a1, &pout)
		rep, err := p.Prune(ctx)
		require.NoError(t, err, pout.String())
		t.Logf("\n%s", pout.String())

		var gone, images []string
		for _, c := range rep.Containers {
			gone = append(gone, c.Host+" "+c.Container)
		}
		for _, img := range rep.Images {
			images = append(images, img.Host+" "+img.Ref)
		}
		assert.ElementsMatch(t, []string{hosts[0] + " " + a.Service + "-web-v1", hosts[1] + " " + a.Service + "-web-v1"}, gone)
		assert.ElementsMatch(t, []string{hosts[0] + " " + a.Image + ":v1", hosts[1] + " " + a.Image + ":v1"}, images)

		vs, err := p.Versions(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"v3", "v2"}, deploy.RetainedVersions(a1, vs))
		for _, v := range vs {
			assert.Equal(t, v.Version == "v3", v.Running(), "%s %s", v.Host, v.Version)
		}
		for i, h := range l.Hosts[:2] {
			e := h.Engine(t)
			_, err := e.ImageInspect(ctx, a.Image+":v1")
			assert.ErrorIs(t, err, engine.ErrNotFound, "the unused image is gone from %s", h.Name)
			for _, v := range []string{"v2", "v3"} {
				_, err := e.ImageInspect(ctx, a.Image+":"+v)
				assert.NoError(t, err, "%s keeps the image of %s, which a container uses", h.Name, v)
			}
			assert.Equal(t, "v3\n", get(t, hosts[i], a.Service+".test", "/"), "%s still serves v3", h.Name)
		}

		audit, err := p.Audit(ctx, 0)
		require.NoError(t, err)
		for _, host := range hosts {
			var steps []string
			for _, e := range audit[host] {
				if strings.HasPrefix(e.Step, "prune") {
					assert.Equal(t, "tester", e.Performer)
					assert.Equal(t, "ok", e.Result)
					steps = append(steps, e.Step+" "+e.Version+" "+e.Container)
				}
			}
			assert.ElementsMatch(t, []string{"prune v1 " + a.Service + "-web-v1", "prune-image v1 "}, steps, "the audit log of %s", host)
		}
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(hosts[1])+` +web +prune +`+a.Service+`-web-v1 .* ok$`, pout.String())
		lock, err := p.LockStatus(ctx)
		require.NoError(t, err)
		assert.Nil(t, lock, "prune released the lock")

		rep, err = p.Prune(ctx)
		require.NoError(t, err)
		assert.Empty(t, rep.Containers, "a second prune finds nothing to remove")
		assert.Empty(t, rep.Images)
	})
}

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
		var w syncBuffer
		require.NoError(t, s.Logs(ctx, deploy.LogOptions{Tail: 2}, &w))
		t.Logf("\n%s", w.String())
		lines := byHost(w.String())
		require.Len(t, lines, 2)
		for _, h := range hosts {
			assert.Len(t, lines[h], 2, "the last 2 lines of %s", h)
			assert.Contains(t, strings.Join(lines[h], "\n"), "GET /tail-probe", "%s's own request", h)
		}

		w = syncBuffer{}
		require.NoError(t, s.Logs(ctx, deploy.LogOptions{Tail: 1, Hosts: hosts[1:]}, &w))
		assert.Equal(t, []string{hosts[1]}, keys(byHost(w.String())), "only the chosen host")
		assert.ErrorContains(t, s.Logs(ctx, deploy.LogOptions{Roles: []string{"jobs"}}, &w), `unknown role "jobs"`)
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
