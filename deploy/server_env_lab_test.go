package deploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/secret"
)

// TestServerEnvReachesOnlyThatHostsContainer deploys one web role on two
// lab hosts, the second with an env of its own (Server.Env, Kamal's env
// tags): each host's container serves its own APP_VERSION, a one-off
// command on the second host sees that host's env, its container has the
// server's secret, which is in no output or audit line, and changing the
// server's env replaces only that host's container.
func TestServerEnvReachesOnlyThatHostsContainer(t *testing.T) {
	l := lab.Require(t, 2)
	hosts := l.Hosts[:2]
	service := "kamalmap-env"
	lab.CleanupService(t, hosts, service)
	a := testApp(service, hosts)
	a.Env = deploy.Env{Clear: map[string]string{"APP_VERSION": "plain"}}
	web := a.Roles["web"]
	web.Servers[1].Env = deploy.Env{Clear: map[string]string{"APP_VERSION": "tagged"}, Secret: []string{"KAMALMAP_TOKEN"}}
	token := fmt.Sprintf("tok-%08x", rand.Uint32())
	t.Setenv("KAMALMAP_TOKEN", token)
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
	res, err = s.Exec(ctx, deploy.ExecOptions{Cmd: []string{"/testapp", "getenv", "KAMALMAP_TOKEN"}, Host: hosts[1].Addr, Reuse: true}, &out)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, secret.Redacted, strings.TrimSpace(s.Redact(string(res[0].Stdout))), "the container has the server's secret, which the session redacts")
	assert.NotContains(t, out.String(), token, "the server's secret is in no output")
	audit, err := hosts[1].Dial(t).Run(ctx, "cat "+deploy.AuditPath(a), nil)
	require.NoError(t, err)
	assert.NotContains(t, string(audit.Stdout), token, "nor in the audit log")

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
