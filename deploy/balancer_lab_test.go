package deploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
)

// balancerLab is the balancer's part of the lab: h9 the balancer, h10,
// h11 and h12 the web hosts, h13 the host added later.
func balancerLab(t *testing.T, service string) (balancer lab.Host, web []lab.Host, extra lab.Host) {
	l := lab.Require(t, lab.SuiteHosts)
	lab.CleanupService(t, l.Hosts[8:13], service)
	return l.Hosts[8], l.Hosts[9:12], l.Hosts[12]
}

// balancedLabApp is the test app on web behind a balancer on b, each
// web host's containers reporting the host's name (Server.Env
// APP_VERSION), so that a load through the balancer counts its answers
// by host.
func balancedLabApp(service string, b lab.Host, web []lab.Host) deploy.App {
	a := testApp(service, web)
	r := a.Roles["web"]
	for i, h := range web {
		r.Servers[i].Env = deploy.Env{Clear: map[string]string{"APP_VERSION": h.Name}}
	}
	bal := testApp(service, []lab.Host{b}).Roles["web"].Servers
	r.Proxy.Balancer = &deploy.Balancer{Servers: bal}
	a.Roles["web"] = r
	a.Boot = deploy.Boot{Limit: 1}
	a.Env = deploy.Env{Secret: []string{"LBAPP_TOKEN"}}
	return a
}

// throughBalancer is a bounded load loop through the balancer only.
func throughBalancer(b lab.Host, vhost string, limit int, maxTime time.Duration) *lab.Load {
	return lab.StartLoad([]string{"http://" + b.Addr + "/"}, vhost, 8, limit, maxTime, 5*time.Second)
}

// loadLimit and loadTime bound each load loop of the balancer test;
// each phase ends its loop itself (Finish) well before either.
const (
	loadLimit = 200_000
	loadTime  = 2 * time.Minute
)

// during runs fn under a load through the balancer and goes on a second
// after fn returns, so the requests after its last switch count too,
// and then until at least atLeast requests have ended (a fast deploy is
// over before a load of that many requests). It returns the hits and when fn
// returned, and fails the test if the load stopped by itself before
// then.
func during(t *testing.T, b lab.Host, vhost string, atLeast int, fn func()) ([]lab.Hit, time.Time) {
	t.Helper()
	start := time.Now()
	load := throughBalancer(b, vhost, loadLimit, loadTime)
	fn()
	end := time.Now()
	time.Sleep(time.Second)
	for load.Count() < atLeast && time.Since(start) < loadTime/2 {
		time.Sleep(20 * time.Millisecond)
	}
	hits := load.Finish()
	require.NotEmpty(t, hits)
	require.Less(t, len(hits), loadLimit, "the load ran until the end")
	require.True(t, hits[len(hits)-1].At.After(end), "the load ran past the deploy")
	t.Logf("load: %d requests, %d of them sent while the deploy ran (%s)", len(hits), sentBefore(hits, end), end.Sub(start).Round(10*time.Millisecond))
	return hits, end
}

// sentBefore counts the hits sent before t.
func sentBefore(hits []lab.Hit, t time.Time) int {
	n := 0
	for _, h := range hits {
		if h.At.Before(t) {
			n++
		}
	}
	return n
}

// servedAfter counts the answers of hits sent after t, by host.
func servedAfter(hits []lab.Hit, t time.Time) map[string]int {
	var after []lab.Hit
	for _, h := range hits {
		if h.At.After(t) {
			after = append(after, h)
		}
	}
	counts, _ := byHost(after)
	return counts
}

// byHost counts a load's answers by the host that gave them, and its failures.
func byHost(hits []lab.Hit) (map[string]int, []lab.Hit) {
	counts := map[string]int{}
	var failed []lab.Hit
	for _, h := range hits {
		if h.Err != nil {
			failed = append(failed, h)
			continue
		}
		counts[strings.TrimSpace(string(h.Body))]++
	}
	return counts, failed
}

// balancerTargetsOn reads the balancer's route for the app, as Observe does.
func balancerTargetsOn(t *testing.T, ctx context.Context, s *deploy.Session, a deploy.App, b lab.Host) []string {
	t.Helper()
	st, err := s.Observe(ctx)
	require.NoError(t, err)
	ps := st.Hosts[b.Addr].Proxy
	require.NotNil(t, ps, "the balancer runs kamal-proxy")
	targets := strings.Split(ps.Services[deploy.ProxyService(a, "web")], ",")
	slices.Sort(targets)
	return targets
}

func targetsOf(hosts ...lab.Host) []string {
	var out []string
	for _, h := range hosts {
		out = append(out, h.Addr+":80")
	}
	slices.Sort(out)
	return out
}

func balancerSteps0(rep *deploy.Report) []deploy.StepResult {
	var out []deploy.StepResult
	for _, r := range rep.Steps {
		if r.Step.Kind == deploy.StepBalancerDeploy {
			out = append(out, r)
		}
	}
	return out
}

// startedOn lists the hosts a deploy started a container on.
func startedOn(rep *deploy.Report) []string {
	var hosts []string
	for _, r := range rep.Steps {
		if r.Step.Kind == deploy.StepStart && !slices.Contains(hosts, r.Step.Host) {
			hosts = append(hosts, r.Step.Host)
		}
	}
	return hosts
}

// TestBalancerInFrontOfThreeWebHosts puts h9 in front of h10, h11 and
// h12 and, under load through h9 only, rolls a release out one host at
// a time and back, fails one host's gate, brings it back, adds h13 and
// removes h11: no request fails, and every web host answers.
func TestBalancerInFrontOfThreeWebHosts(t *testing.T) {
	service := fmt.Sprintf("lbapp%d", rand.Uint32()%10_000)
	b, web, h13 := balancerLab(t, service)
	token := fmt.Sprintf("lbtok-%08x", rand.Uint32())
	t.Setenv("LBAPP_TOKEN", token)
	a := balancedLabApp(service, b, web)
	vhost := service + ".test"
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var out syncBuffer
	t.Cleanup(func() {
		assert.NotContains(t, out.String(), token, "the secret is in no output")
		if t.Failed() {
			t.Log(out.String())
		}
	})

	s := connect(t, a, &out)
	rep, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	require.Len(t, balancerSteps0(rep), 1, "a fresh deploy routes the balancer once")
	assert.Equal(t, targetsOf(web...), balancerTargetsOn(t, ctx, s, a, b))

	t.Run("a rolling deploy and its rollback drop nothing and every web host serves", func(t *testing.T) {
		hits, _ := during(t, b, vhost, 5000, func() {
			rep, err := s.Deploy(ctx, deploy.Release{Version: "v2"})
			require.NoError(t, err, out.String())
			require.Len(t, rep.Plan.Batches, 3, "Boot.Limit 1: one host at a time")
			assert.Empty(t, balancerSteps0(rep), "the balancer's list is already right")
			rep, err = s.Rollback(ctx, "v1")
			require.NoError(t, err, out.String())
			assert.Empty(t, balancerSteps0(rep), "a rollback leaves the balancer's list as it is")
		})
		counts, failed := byHost(hits)
		t.Logf("rolling deploy v2 and rollback to v1 through %s: %d requests, %d failed, by host %v", b.Name, len(hits), len(failed), counts)
		require.GreaterOrEqual(t, len(hits), 5000)
		assert.Empty(t, failed)
		for _, h := range web {
			assert.Positive(t, counts[h.Name], "%s answered through the balancer", h.Name)
		}
	})

	t.Run("a host whose release fails its gate is drained and the others keep serving", func(t *testing.T) {
		bad := balancedLabApp(service, b, web)
		bad.Roles["web"].Servers[2].Env.Clear["UP_FAIL"] = "1"
		hits, end := during(t, b, vhost, 0, func() {
			_, err := connect(t, bad, &out).Deploy(ctx, deploy.Release{Version: "v2"})
			require.ErrorIs(t, err, deploy.ErrGateFailed)
			assert.Contains(t, err.Error(), "drained from the balancer")
			t.Logf("the failed deploy says:\n%v", err)
		})
		assert.Equal(t, targetsOf(web[0], web[1]), balancerTargetsOn(t, ctx, s, a, b), "%s is out", web[2].Name)
		counts, failed := byHost(hits)
		after := servedAfter(hits, end)
		t.Logf("deploy failing on %s through %s: %d requests, %d failed, by host %v; in the second after it returned %v", web[2].Name, b.Name, len(hits), len(failed), counts, after)
		assert.Empty(t, failed)
		assert.Zero(t, after[web[2].Name], "the drained host gets no request once the deploy returned")
		assert.Positive(t, after[web[0].Name])
		assert.Positive(t, after[web[1].Name])

		hits, end = during(t, b, vhost, 0, func() {
			rep, err := s.Deploy(ctx, deploy.Release{Version: "v2"})
			require.NoError(t, err, out.String())
			require.Len(t, balancerSteps0(rep), 1, "the next deploy that succeeds on it puts it back")
		})
		assert.Equal(t, targetsOf(web...), balancerTargetsOn(t, ctx, s, a, b))
		assert.Positive(t, servedAfter(hits, end)[web[2].Name], "%s serves through the balancer again", web[2].Name)
		counts, failed = byHost(hits)
		t.Logf("deploy that puts %s back: %d requests, %d failed, by host %v", web[2].Name, len(hits), len(failed), counts)
		assert.Empty(t, failed)
	})

	t.Run("adding a fourth host and removing one change the balancer's targets", func(t *testing.T) {
		four := balancedLabApp(service, b, append(slices.Clone(web), h13))
		s4 := connect(t, four, &out)
		hits, _ := during(t, b, vhost, 0, func() {
			rep, err := s4.Deploy(ctx, deploy.Release{Version: "v2"})
			require.NoError(t, err, out.String())
			require.Len(t, balancerSteps0(rep), 1)
			assert.Equal(t, []string{h13.Addr}, startedOn(rep), "only the added host boots: the others' routes are as they were")
		})
		assert.Equal(t, targetsOf(append(slices.Clone(web), h13)...), balancerTargetsOn(t, ctx, s4, four, b))
		counts, failed := byHost(hits)
		t.Logf("adding %s: %d requests, %d failed, by host %v", h13.Name, len(hits), len(failed), counts)
		assert.Empty(t, failed)
		assert.Positive(t, counts[h13.Name], "the added host serves through the balancer")

		three := balancedLabApp(service, b, []lab.Host{web[0], web[2], h13})
		s3 := connect(t, three, &out)
		hits, end := during(t, b, vhost, 0, func() {
			rep, err := s3.Deploy(ctx, deploy.Release{Version: "v2"})
			require.NoError(t, err, out.String())
			require.Len(t, balancerSteps0(rep), 1)
			assert.Contains(t, rep.Plan.String(), "drains "+web[1].Addr+":80")
			assert.Empty(t, startedOn(rep), "a removal boots nothing (the primary stays: removing it would move the fingerprint key, see the README)")
		})
		assert.Equal(t, targetsOf(web[0], web[2], h13), balancerTargetsOn(t, ctx, s3, three, b))
		counts, failed = byHost(hits)
		after := servedAfter(hits, end)
		t.Logf("removing %s: %d requests, %d failed, by host %v; in the second after %v", web[1].Name, len(hits), len(failed), counts, after)
		assert.Empty(t, failed)
		assert.Zero(t, after[web[1].Name], "the removed host gets no more requests")
		assert.Positive(t, after[h13.Name])
	})

	t.Run("details shows the balancer's route and its targets", func(t *testing.T) {
		d, err := connect(t, a, &out).Details(ctx)
		require.NoError(t, err)
		i := slices.IndexFunc(d.Hosts, func(h deploy.HostDetails) bool { return h.Host == b.Addr })
		require.GreaterOrEqual(t, i, 0)
		require.NotNil(t, d.Hosts[i].Proxy)
		require.Len(t, d.Hosts[i].Proxy.Routes, 1)
		route := d.Hosts[i].Proxy.Routes[0]
		assert.Equal(t, deploy.ProxyService(a, "web"), route.Service)
		got := strings.Split(route.Target, ",")
		slices.Sort(got)
		assert.Equal(t, targetsOf(web[0], web[2], h13), got)
		assert.Contains(t, d.String(), route.Target)
	})

	audit, err := b.Dial(t).Run(ctx, "cat "+deploy.AuditPath(a), nil)
	require.NoError(t, err)
	assert.Contains(t, string(audit.Stdout), "balancer-deploy", "the balancer's steps are audited on it")
	assert.NotContains(t, string(audit.Stdout), token, "the secret is in no audit line")
}
