package deploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/internal/lab"
)

// TestSetupOnLabHosts runs server:setup's SDK call twice on two lab hosts
// where Docker runs and kamal-proxy is up: the first run only makes the
// app's network (nothing installed, the proxy left alone), the second
// finds nothing to do and changes nothing. The lab's hosts share this
// machine's root filesystem, so the install path is never run here: the
// golden plans and the runner's unit test cover it.
func TestSetupOnLabHosts(t *testing.T) {
	l := lab.Require(t, 6)
	hosts := l.Hosts[4:6]
	service := fmt.Sprintf("console-setup-%d", rand.Uint32()%1_000_000)
	a := testApp(service, hosts)
	a.Network = service + "-net"
	lab.CleanupService(t, hosts, service)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, h := range hosts {
			cmd := fmt.Sprintf("docker -H unix://%s network rm %s", h.DockerSocket, a.Network)
			if _, err := h.Dial(t).Run(ctx, cmd, nil); err != nil {
				t.Logf("remove network %s on %s: %v", a.Network, h, err)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	proxyStarted := map[string]time.Time{}
	for _, h := range hosts {
		px, err := h.Engine(t).Inspect(ctx, proxy.DefaultContainer)
		require.NoError(t, err, "the lab's kamal-proxy runs on %s", h)
		proxyStarted[h.Addr] = px.StartedAt
	}

	checks, err := deploy.CheckServers(ctx, a, deploy.Options{})
	require.NoError(t, err)
	require.Len(t, checks, 2)
	for i, c := range checks {
		assert.Equal(t, hosts[i].Addr, c.Host)
		assert.Equal(t, "root", c.User)
		assert.True(t, c.Root)
		assert.Equal(t, deploy.DockerRunning, c.Docker, "%+v", c)
		assert.NotEmpty(t, c.Engine)
		assert.False(t, c.Network, "the app's own network is new")
		assert.True(t, c.Proxy)
	}

	var first syncBuffer
	plan, err := deploy.Setup(ctx, a, deploy.Options{Output: &first, Performer: "tester"})
	require.NoError(t, err, first.String())
	t.Logf("first run:\n%s", &first)
	for _, h := range plan.Hosts {
		assert.Empty(t, h.Commands, "Docker runs, so nothing is installed on %s", h.Check.Host)
		require.Len(t, h.Steps, 1, "only the network on %s", h.Check.Host)
		assert.Equal(t, deploy.StepEnsureNetwork, h.Steps[0].Kind)
	}
	assert.Contains(t, first.String(), "Set up 2 hosts for "+service)
	assert.Regexp(t, hosts[0].Addr+` +ensure-network +`+a.Network+` .* ok`, first.String())
	assert.Contains(t, first.String(), "set up 2 hosts in ")

	var second syncBuffer
	again, err := deploy.Setup(ctx, a, deploy.Options{Output: &second, Performer: "tester"})
	require.NoError(t, err, second.String())
	t.Logf("second run:\n%s", &second)
	assert.Zero(t, again.Changes())
	assert.Equal(t, fmt.Sprintf("Nothing to set up for %s: on 2 hosts Docker runs, network %s exists and kamal-proxy runs where a role needs it\n",
		service, a.Network), second.String(), "the second run prints the plan and changes nothing")

	for _, h := range hosts {
		e := h.Engine(t)
		ok, err := e.NetworkExists(ctx, a.Network)
		require.NoError(t, err)
		assert.True(t, ok, "the network is on %s", h)
		px, err := e.Inspect(ctx, proxy.DefaultContainer)
		require.NoError(t, err)
		assert.Equal(t, proxyStarted[h.Addr], px.StartedAt, "kamal-proxy on %s was not restarted", h)
	}
}
