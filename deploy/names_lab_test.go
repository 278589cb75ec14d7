package deploy_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
)

// Service "X" with role "web-admin" and service "X-web" with role
// "admin" are both X-web-admin. On a shared host the second to deploy
// is refused before it changes anything, and the first keeps its route.
func TestNameCollisionOnAHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base, l := labApp(t, 1)
	h := l.Hosts[0]
	svc := fmt.Sprintf("kamaldeps%d", rand.Uint32()%1_000_000)
	lab.CleanupService(t, l.Hosts, svc)
	lab.CleanupService(t, l.Hosts, svc+"-web")

	app := func(service, role string) deploy.App {
		a := base
		r := base.Roles["web"]
		px := *r.Proxy
		px.Hosts = []string{service + "." + role + ".test"}
		r.Proxy = &px
		a.Service, a.Roles = service, deploy.Roles{role: r}
		return a
	}
	first := app(svc+"-web", "admin")
	second := app(svc, "web-admin")
	name := svc + "-web-admin"
	require.Equal(t, deploy.ProxyService(first, "admin"), deploy.ProxyService(second, "web-admin"), "the two apps' names collide")

	_, err := connect(t, first, io.Discard).Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err)
	assert.Contains(t, get(t, h.Addr, first.Roles["admin"].Proxy.Hosts[0], "/"), "v1")

	s := connect(t, second, io.Discard)
	_, err = s.Deploy(ctx, deploy.Release{Version: "v2"})
	require.ErrorIs(t, err, deploy.ErrNameCollision)
	assert.Contains(t, err.Error(), h.Addr)
	assert.Contains(t, err.Error(), fmt.Sprintf(`role "web-admin" of app %q and role "admin" of app %q are both named %s`, svc, svc+"-web", name))
	_, err = s.Observe(ctx)
	require.ErrorIs(t, err, deploy.ErrNameCollision, "so does what plans and rollbacks read")

	// The host is as it was: the first app serves, the second started nothing.
	state, err := connect(t, first, io.Discard).Observe(ctx)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%s-v1:%d", name, lab.TestAppPort), state.Hosts[h.Addr].Proxy.Services[name])
	assert.Contains(t, get(t, h.Addr, first.Roles["admin"].Proxy.Hosts[0], "/"), "v1")
	cs, err := h.Engine(t).List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: svc}})
	require.NoError(t, err)
	assert.Empty(t, cs, "the refused app started no container")

	// The first app still deploys over its own containers.
	_, err = connect(t, first, io.Discard).Deploy(ctx, deploy.Release{Version: "v2"})
	require.NoError(t, err)
	assert.Contains(t, get(t, h.Addr, first.Roles["admin"].Proxy.Hosts[0], "/"), "v2")
}
