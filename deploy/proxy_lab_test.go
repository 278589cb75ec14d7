package deploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/targets"
)

func ptrTo[T any](v T) *T { return &v }

// proxyTestTag is the second tag of the lab's kamal-proxy image the
// reboot test moves to: the same build under a new name, as a security
// release of kamal-proxy would arrive.
const proxyTestTag = "basecamp/kamal-proxy:slipway-proxy-test"

// gap is one host's requests that failed while its proxy rebooted.
type gap struct {
	host     string
	requests int           // every request to the host
	failed   int           // requests refused or failed
	run      int           // the longest run of consecutive failures
	runFor   time.Duration // from the first failure of that run to the end of its last
}

// gaps measures, per host, the failures in hits, in the order the
// requests were sent.
func gaps(hits []hit, hosts []string) []gap {
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].at.Before(hits[j].at) })
	var out []gap
	for _, h := range hosts {
		g := gap{host: h}
		var cur int
		var start time.Time
		for _, x := range hits {
			if x.host != h {
				continue
			}
			g.requests++
			if x.err == nil {
				cur = 0
				continue
			}
			g.failed++
			if cur == 0 {
				start = x.at
			}
			cur++
			if cur >= g.run {
				g.run, g.runFor = cur, x.at.Sub(start)
			}
		}
		out = append(out, g)
	}
	return out
}

// TestProxyImageChangeRebootsTheProxyHostByHost moves the fault hosts'
// kamal-proxy to a second tag of its image under a bounded load: the
// plan says why, each host reboots in turn with its routes kept, and
// the test prints how long each host refused requests. Only on h7 and
// h8: a reboot there cannot break the other tests' routes on h1..h6.
func TestProxyImageChangeRebootsTheProxyHostByHost(t *testing.T) {
	l := lab.Require(t, lab.SuiteHosts)
	hosts := []lab.Host{l.FaultHost(t, "h7"), l.FaultHost(t, "h8")}
	service := fmt.Sprintf("proxy-reboot%d", rand.Uint32()%100_000)
	a := testApp(service, hosts)
	lab.CleanupService(t, hosts, service)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	// The same build under a second tag; the hosts go back to the lab's
	// tag (a reboot by the App as it was) before the tag is removed.
	for _, h := range hosts {
		e := h.Engine(t)
		require.NoError(t, e.ImageTag(ctx, lab.ProxyImage, proxyTestTag))
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer ccancel()
		for _, h := range hosts {
			if c, e, err := h.Connect(cctx); err == nil {
				e.ImageRemove(cctx, proxyTestTag, false)
				e.Close()
				c.Close()
			}
		}
	})
	t.Cleanup(func() { // through the proxy:reboot target, with the App as it was
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer ccancel()
		var back syncBuffer
		targets.Use(targets.Config{App: a, Options: deploy.Options{Output: &back, Performer: "tester"}})
		defer targets.Use(targets.Config{})
		if err := (targets.Proxy{}).Reboot(cctx, nil, nil); err != nil {
			t.Errorf("put the lab's proxy image back: %v\n%s", err, back.String())
		}
		t.Logf("proxy:reboot back to %s:\n%s", lab.ProxyImage, back.String())
		assert.Regexp(t, hosts[0].Addr+` +rebooted: no new connection for \d+\.\d\ds, \d+ routes? kept`, back.String())
	})

	moved := a.Clone()
	moved.Roles["web"].Proxy.Image = proxyTestTag
	s2 := connect(t, moved, &out)
	state, err := s2.Observe(ctx)
	require.NoError(t, err)
	plan, err := deploy.NewPlan(moved, deploy.Release{Version: "v1"}, state)
	require.NoError(t, err, "a proxy that differs is not nothing to deploy")
	t.Logf("plan:\n%s", plan)
	var reboots []deploy.Step
	for _, st := range plan.Steps() {
		if st.Kind == deploy.StepRebootProxy {
			reboots = append(reboots, st)
		}
	}
	require.Len(t, reboots, 2, "one reboot per proxy host")
	for _, st := range reboots {
		assert.Equal(t, []string{"image changed"}, st.Reasons, st.Host)
		assert.Equal(t, proxyTestTag, st.Image)
	}
	assert.Contains(t, plan.String(), "reboot kamal-proxy "+proxyTestTag+" (image changed)")

	addrs := []string{hosts[0].Addr, hosts[1].Addr}
	ld := startLoad(addrs, service+".test", 4, 40_000, 90*time.Second)
	time.Sleep(500 * time.Millisecond)
	rep, err := s2.Deploy(ctx, deploy.Release{Version: "v1"})
	time.Sleep(500 * time.Millisecond)
	hits := ld.finish()
	require.NoError(t, err, out.String())
	t.Logf("deploy output:\n%s", out.String())

	// One host at a time: the second reboot begins after the first ended.
	var done []deploy.StepResult
	for _, r := range rep.Steps {
		if r.Step.Kind == deploy.StepRebootProxy {
			require.NoError(t, r.Err)
			done = append(done, r)
		}
	}
	require.Len(t, done, 2)
	sort.Slice(done, func(i, j int) bool { return done[i].Start.Before(done[j].Start) })
	assert.False(t, done[1].Start.Before(done[0].Start.Add(done[0].Duration)), "the reboots overlapped")

	for _, g := range gaps(hits, addrs) {
		t.Logf("proxy reboot gap on %s: %d requests, %d failed, longest run %d failures over %s",
			g.host, g.requests, g.failed, g.run, g.runFor.Round(time.Millisecond))
		assert.Greater(t, g.requests, g.failed, "the host served through the rest of the deploy")
	}
	last := hits[len(hits)-1]
	assert.NoError(t, last.err, "requests succeed once the proxies are back")

	for _, h := range hosts {
		e := h.Engine(t)
		c, err := e.Inspect(ctx, proxy.DefaultContainer)
		require.NoError(t, err)
		assert.Equal(t, proxyTestTag, c.Image, h.Name)
		assert.True(t, c.Running(), h.Name)
		assert.Equal(t, deploy.ProxyFingerprint(proxy.Boot{Image: proxyTestTag}).Label(), c.Labels[deploy.LabelFingerprint])
		assert.Equal(t, deploy.ProxyTarget(a, "web", "v1"), route(t, ctx, a, h).Target, "the route survived on %s", h.Name)
		cs, err := e.List(ctx, engine.ListOptions{All: true})
		require.NoError(t, err)
		for _, c := range cs {
			assert.False(t, strings.HasPrefix(c.Name, "kamal-proxy-"), "%s left on %s", c.Name, h.Name)
		}
	}

	state, err = s2.Observe(ctx)
	require.NoError(t, err)
	_, err = deploy.NewPlan(moved, deploy.Release{Version: "v1"}, state)
	assert.ErrorIs(t, err, deploy.ErrNothingToDeploy, "a rebooted proxy matches the App")

	var logs syncBuffer
	require.NoError(t, s2.ProxyLogs(ctx, deploy.ProxyLogOptions{Since: done[0].Start}, &logs))
	var tail syncBuffer
	targets.Use(targets.Config{App: moved, Options: deploy.Options{Output: &tail}})
	require.NoError(t, (targets.Proxy{}).Logs(ctx, ptrTo(5), nil, ptrTo(hosts[1].Addr), nil))
	targets.Use(targets.Config{})
	lines := strings.Split(strings.TrimSpace(tail.String()), "\n")
	assert.Len(t, lines, 5, "proxy:logs -tail=5 -host=%s", hosts[1].Addr)
	for _, line := range lines {
		assert.True(t, strings.HasPrefix(line, hosts[1].Addr), "only %s: %q", hosts[1].Addr, line)
	}
	for _, h := range hosts {
		started := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(h.Addr) + `\s+kamal-proxy\s+\| .*"msg":"Server started"`)
		assert.True(t, started.MatchString(logs.String()), "the new proxy's own lines on %s, prefixed by its host", h.Name)
	}

	details, err := s2.ProxyDetails(ctx)
	require.NoError(t, err)
	t.Logf("proxy details:\n%s", details)
	for _, d := range details {
		assert.Empty(t, d.Drift, d.Host)
		assert.True(t, slices.ContainsFunc(d.Routes, func(r proxy.Route) bool { return r.Service == deploy.ProxyService(a, "web") }))
	}
}

// TestProxyRebootThatFailsStartsTheOldProxyAgain reboots h7's proxy into
// an image that holds no kamal-proxy (the test app's): the new container
// never answers on kamal-proxy's socket, so the reboot fails, the old
// proxy is started again under its own name with its routes, and nothing
// of the attempt is left behind.
func TestProxyRebootThatFailsStartsTheOldProxyAgain(t *testing.T) {
	l := lab.Require(t, lab.SuiteHosts)
	h := l.FaultHost(t, "h7")
	service := fmt.Sprintf("proxy-back%d", rand.Uint32()%100_000)
	a := testApp(service, []lab.Host{h})
	lab.CleanupService(t, []lab.Host{h}, service)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	_, err := connect(t, a, &out).Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	before, err := h.Engine(t).Inspect(ctx, proxy.DefaultContainer)
	require.NoError(t, err)

	broken := a.Clone()
	broken.Roles["web"].Proxy.Image = lab.TestAppImage + ":v1"
	_, err = connect(t, broken, &out).RebootProxy(ctx, deploy.ProxyRebootOptions{})
	require.Error(t, err)
	t.Logf("the failure: %v", err)
	assert.Contains(t, err.Error(), "the new proxy did not answer")
	assert.Contains(t, err.Error(), "the old proxy was started again")

	after, err := h.Engine(t).Inspect(ctx, proxy.DefaultContainer)
	require.NoError(t, err)
	assert.Equal(t, before.ID, after.ID, "the old proxy, under its own name")
	assert.True(t, after.Running())
	assert.Equal(t, deploy.ProxyTarget(a, "web", "v1"), route(t, ctx, a, h).Target, "its routes kept")
	cs, err := h.Engine(t).List(ctx, engine.ListOptions{All: true})
	require.NoError(t, err)
	for _, c := range cs {
		assert.False(t, strings.HasPrefix(c.Name, "kamal-proxy-"), "%s left behind", c.Name)
	}
	ld := startLoad([]string{h.Addr}, service+".test", 2, 200, 10*time.Second)
	assert.Empty(t, failures(ld.finish()), "the old proxy serves")
}
