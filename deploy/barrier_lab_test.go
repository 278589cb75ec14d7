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
	"github.com/slipwayhq/slipway/internal/lab"
)

// The barrier: with no boot limit, a release whose primary role fails its
// gate never reaches the worker role on the other hosts.
func TestAWorkerKeepsItsReleaseWhenThePrimaryGateFails(t *testing.T) {
	a, l := labApp(t, 3)
	a.Service = "limits-barrier" + strings.TrimPrefix(a.Service, "t")
	hosts := l.Hosts[:3]
	lab.CleanupService(t, hosts, a.Service)
	web := a.Roles["web"]
	web.Servers = web.Servers[:1] // the primary host, h1
	web.Proxy.Hosts = []string{a.Service + ".test"}
	web.Proxy.DeployTimeout = 2 * time.Second
	a.Roles = deploy.Roles{
		"web":    web,
		"worker": {Servers: testApp(a.Service, hosts[1:]).Roles["web"].Servers}, // h2 and h3
	}
	a.Boot = deploy.Boot{} // no limit: before the barrier, one batch of every host
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var out syncBuffer
	_, err := connect(t, a, &out).Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	bad := a
	failing := bad.Roles["web"]
	failing.Env = deploy.Env{Clear: map[string]string{"UP_FAIL": "1"}} // v2's /up answers 503
	bad.Roles = deploy.Roles{"web": failing, "worker": a.Roles["worker"]}
	s := connect(t, bad, &out)
	state, err := s.Observe(ctx)
	require.NoError(t, err)
	plan, err := deploy.NewPlan(bad, deploy.Release{Version: "v2"}, state)
	require.NoError(t, err)
	require.Len(t, plan.Batches, 2, "the primary host boots in a batch of its own:\n%s", plan)
	assert.Equal(t, []string{hosts[0].Addr}, plan.Batches[0].Hosts)
	assert.Contains(t, plan.String(), "primary: the others boot once it is healthy")

	_, err = s.Apply(ctx, plan)
	require.ErrorIs(t, err, deploy.ErrGateFailed, out.String())
	assert.Contains(t, err.Error(), "later batches were not touched")

	for _, h := range hosts[1:] {
		cs, err := h.Engine(t).List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: a.Service}})
		require.NoError(t, err)
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
			if c.Name == deploy.ContainerName(a, "worker", "v1") {
				assert.True(t, c.Running(), "the worker on %s still runs v1", h.Name)
			}
		}
		assert.Contains(t, names, deploy.ContainerName(a, "worker", "v1"), "on %s", h.Name)
		assert.NotContains(t, names, deploy.ContainerName(a, "worker", "v2"), "no v2 worker was made on %s", h.Name)
	}
	assert.Equal(t, deploy.ProxyTarget(a, "web", "v1"), route(t, ctx, a, hosts[0]).Target, "the web role still serves v1")
	t.Logf("the failed deploy: %s", strings.SplitN(err.Error(), "\n", 2)[0])
}
