package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
)

// TestServerEnvReachesOnlyThatHostsContainer deploys one web role on two
// lab hosts, the second with an env of its own (Server.Env, Kamal's env
// tags): each host's container serves its own APP_VERSION, a one-off
// command on the second host sees that host's env, and changing it
// replaces only that host's container.
func TestServerEnvReachesOnlyThatHostsContainer(t *testing.T) {
	l := lab.Require(t, 2)
	hosts := l.Hosts[:2]
	service := "kamalmap-env"
	lab.CleanupService(t, hosts, service)
	a := testApp(service, hosts)
	a.Env = deploy.Env{Clear: map[string]string{"APP_VERSION": "plain"}}
	web := a.Roles["web"]
	web.Servers[1].Env = deploy.Env{Clear: map[string]string{"APP_VERSION": "tagged"}}
	a.Roles["web"] = web
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vhost := service + ".test"

	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	assert.Equal(t, "plain\n", get(t, hosts[0].Addr, vhost, "/"))
	assert.Equal(t, "tagged\n", get(t, hosts[1].Addr, vhost, "/"))

	res, err := s.Exec(ctx, deploy.ExecOptions{Cmd: []string{"getenv", "APP_VERSION"}, Host: hosts[1].Addr}, &out)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, "tagged", strings.TrimSpace(string(res[0].Stdout)), "a one-off container on that host has its env")

	web.Servers[1].Env.Clear["APP_VERSION"] = "tagged-2"
	var again syncBuffer
	rep, err := connect(t, a, &again).Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, again.String())
	var started []string
	for _, st := range rep.Steps {
		if st.Step.Kind == deploy.StepStart {
			started = append(started, st.Step.Host)
			assert.Equal(t, []string{"env APP_VERSION changed"}, st.Step.Reasons)
		}
	}
	assert.Equal(t, []string{hosts[1].Addr}, started, "only the host whose env changed is replaced")
	assert.Equal(t, "plain\n", get(t, hosts[0].Addr, vhost, "/"))
	assert.Equal(t, "tagged-2\n", get(t, hosts[1].Addr, vhost, "/"))
}
