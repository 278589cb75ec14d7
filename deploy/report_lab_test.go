package deploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/internal/lab"
)

// TestFailuresOnManyHostsAreGrouped fails the same way on two of six lab
// hosts, first unreachable (a closed SSH port), then failing their gate
// (the test app's UP_FAIL, set on those servers alone), and reads the
// end of the output and the returned error: one line naming both hosts
// and their one reason, after the summary table. The app logs a secret
// at boot (LEAK_ENV), which is in the gate's diagnostics: it is in
// neither the output nor the error.
func TestFailuresOnManyHostsAreGrouped(t *testing.T) {
	l := lab.Require(t, 6)
	hosts := l.Hosts[:6]
	image := lab.RequireTestAppSource(t, hosts)
	version := strings.TrimPrefix(image, lab.TestAppImage+":")
	service := fmt.Sprintf("out%d", rand.Uint32()%1_000_000)
	lab.CleanupService(t, hosts, service)
	token := fmt.Sprintf("outtok-%016x", rand.Uint64())
	t.Setenv("OUT_TOKEN", token)

	// app is the test app on the six hosts, with edit applied to a copy
	// of its servers.
	app := func(edit func(servers []deploy.Server)) deploy.App {
		a := testApp(service, hosts)
		a.Env = deploy.Env{Secret: []string{"OUT_TOKEN"}, Clear: map[string]string{"LEAK_ENV": "OUT_TOKEN"}}
		web := a.Roles["web"]
		web.Servers = append([]deploy.Server(nil), web.Servers...)
		web.Proxy.DeployTimeout = 4 * time.Second
		web.Proxy.Health = health.HTTP{Path: "/up", Interval: 100 * time.Millisecond, Timeout: time.Second, Deadline: 4 * time.Second}
		edit(web.Servers)
		a.Roles = deploy.Roles{"web": web}
		return a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("two unreachable hosts read as one reason", func(t *testing.T) {
		a := app(func(servers []deploy.Server) {
			servers[1].Port, servers[4].Port = 2, 2 // nothing listens there: refused at once
		})
		var out syncBuffer
		_, err := deploy.Connect(ctx, a, deploy.Options{Output: &out})
		require.Error(t, err)
		t.Logf("error:\n%s\noutput:\n%s", err, out.String())

		var he *deploy.HostsError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 6, he.Hosts)
		groups := he.Groups()
		require.Len(t, groups, 1, "one reason: %v", groups)
		assert.Equal(t, []string{hosts[1].Addr, hosts[4].Addr}, groups[0].Hosts)
		assert.Contains(t, groups[0].Reason, "<host>:2", "each host's own address reads as <host>")
		assert.Contains(t, groups[0].Reason, "connection refused")

		line := hosts[1].Addr + ", " + hosts[4].Addr + ": " + groups[0].Reason
		assert.Equal(t, "connect: 2 of 6 hosts failed:\n  "+line, err.Error())
		assert.True(t, strings.HasSuffix(out.String(), "\nFailed on 2 of 6 hosts:\n  "+line+"\n"), "the output ends with the grouped failure:\n%s", out.String())
	})

	gated := app(func(servers []deploy.Server) {
		for _, i := range []int{2, 4} {
			servers[i].Env = deploy.Env{Clear: map[string]string{"UP_FAIL": "1"}}
		}
	})

	t.Run("two hosts failing their gate are grouped after the summary, the secret nowhere", func(t *testing.T) {
		a := gated
		var out syncBuffer
		_, err := connect(t, a, &out).Deploy(ctx, deploy.Release{Version: version})
		require.Error(t, err)
		text := out.String()
		t.Logf("error:\n%s\noutput:\n%s", err, text)

		require.ErrorIs(t, err, deploy.ErrGateFailed, "the sentinel is seen through the hosts' errors")
		var be *deploy.BootError
		require.ErrorAs(t, err, &be)
		var he *deploy.HostsError
		require.ErrorAs(t, err, &he)
		require.Len(t, he.Errs, 2)
		assert.Equal(t, hosts[2].Addr, he.Errs[0].Host)
		assert.Equal(t, hosts[4].Addr, he.Errs[1].Host)

		// The gate is kamal-proxy's deploy's; the container's log lines
		// after the first line differ by their times, so one host's stand
		// for both.
		both := regexp.QuoteMeta(hosts[2].Addr+", "+hosts[4].Addr+": proxy-deploy: ") + `.*did not become healthy.*\n    as on ` + regexp.QuoteMeta(hosts[2].Addr) + `:\n`
		assert.Regexp(t, `(?m)^  `+both, err.Error(), "the error names both hosts once, with their one reason")
		summary := strings.Index(text, "\nHOST ")
		failed := regexp.MustCompile(`\nFailed on 2 of \d hosts:\n  ` + both).FindStringIndex(text)
		require.NotNil(t, failed, "the output says which hosts failed and why, grouped")
		assert.Greater(t, failed[0], summary, "after the summary table")
		assert.GreaterOrEqual(t, summary, 0)
		assert.Equal(t, 1, strings.Count(text, "\nFailed on "), "once, though Deploy and Apply both return it")

		for where, s := range map[string]string{"output": text, "error": err.Error(), "a host's error": he.Errs[0].Error(), "the boot error": be.Error()} {
			assert.NotContains(t, s, token, "the secret is not in the %s", where)
			assert.NotContains(t, s, token[:10], "nor a part of it, in the %s", where)
		}
		assert.Contains(t, text, "OUT_TOKEN=[redacted]", "the app did log it, and the log is in the diagnostics")
	})

	t.Run("exec on every host ends with a row per host, then the two without a release grouped", func(t *testing.T) {
		var out, cmdOut syncBuffer
		res, err := connect(t, gated, &out).Exec(ctx, deploy.ExecOptions{Cmd: []string{"/testapp", "getenv", "OUT_TOKEN"}, Reuse: true}, &cmdOut)
		text := out.String()
		t.Logf("error:\n%s\noutput:\n%s\ncommand output:\n%s", err, text, cmdOut.String())
		require.ErrorIs(t, err, deploy.ErrNotRunning)
		require.Len(t, res, 6)
		assert.Equal(t, fmt.Sprintf("2 of 6 hosts failed:\n  %s, %s: no running container of role web on <host>: deploy first", hosts[2].Addr, hosts[4].Addr), err.Error())
		for i, h := range hosts {
			result := "ok"
			if i == 2 || i == 4 {
				result = "FAILED"
			}
			assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(h.Addr)+` +web +\S+ +`+result+` +\d+\.\d\ds$`, text, "a row for %s", h.Name)
		}
		assert.True(t, strings.HasSuffix(text, fmt.Sprintf("\nFailed on 2 of 6 hosts:\n  %s, %s: no running container of role web on <host>: deploy first\n", hosts[2].Addr, hosts[4].Addr)), "the output ends with the grouped failure")
		assert.Equal(t, 4, strings.Count(cmdOut.String(), "[redacted]"), "the four hosts that ran it printed the secret, redacted")
		assert.NotContains(t, cmdOut.String()+text+err.Error(), token)
	})
}
