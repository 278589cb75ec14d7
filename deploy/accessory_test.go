package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
)

func TestAccessoryBootsOnceAndKeepsRunning(t *testing.T) {
	a, l := labApp(t, 1)
	a.Volumes = []string{a.Service + "-data:/data"}
	a.Accessories = map[string]deploy.Accessory{"sidecar": {
		Image:   lab.TestAppImage + ":v3",
		Roles:   []string{"web"},
		Env:     deploy.Env{Clear: map[string]string{"PORT": "4000"}, Secret: []string{"SIDECAR_TOKEN"}},
		Volumes: []string{a.Service + "-data:/data"},
	}}
	t.Setenv("SIDECAR_TOKEN", "tok-9c1d")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	e := l.Hosts[0].Engine(t)
	name := deploy.AccessoryName(a, "sidecar")
	first, err := e.Inspect(ctx, name)
	require.NoError(t, err)
	assert.True(t, first.Running())
	res, err := e.Exec(ctx, name, []string{"/testapp", "getenv", "SIDECAR_TOKEN"}, engineExec())
	require.NoError(t, err)
	assert.Equal(t, "tok-9c1d\n", string(res.Stdout))

	_, err = s.Deploy(ctx, deploy.Release{Version: "v2"})
	require.NoError(t, err, out.String())
	again, err := e.Inspect(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, first.StartedAt, again.StartedAt, "a deploy leaves a running accessory alone")
	assert.NotContains(t, out.String(), "tok-9c1d")
}
