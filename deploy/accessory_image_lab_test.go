package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/internal/lab"
)

// An accessory whose image is built from source reaches a host that has
// never held it: built once here, delivered over SSH like the app's
// image, then booted. A later deploy, with the accessory running, builds
// nothing for it.
func TestAccessoryImageIsBuiltAndDelivered(t *testing.T) {
	a, h := handoffApp(t)
	l := lab.Require(t, 1)
	repo := "slipway/" + a.Service + "-sidecar"
	t.Cleanup(func() { removeImages(t, l, repo) })
	a.Accessories = map[string]deploy.Accessory{"sidecar": {
		Image: repo + ":s1",
		Roles: []string{"web"},
		Build: image.Go{Package: "../internal/lab/testapp", Binary: "/testapp"},
		Env:   deploy.Env{Clear: map[string]string{"APP_VERSION": "sidecar", "PORT": "3001"}},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := h.Engine(t)
	_, err := e.ImageInspect(ctx, repo+":s1")
	require.Error(t, err, "the host does not hold the sidecar's image yet")

	var out syncBuffer
	s := connect(t, a, &out)
	state, err := s.Observe(ctx)
	require.NoError(t, err)
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
	require.NoError(t, err)
	t.Logf("plan:\n%s", plan)
	assert.Contains(t, plan.String(), "build image "+repo+":s1 on this machine")
	assert.Contains(t, plan.String(), "deliver image "+repo+":s1")

	rep, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	var built, delivered bool
	for _, r := range rep.Steps {
		built = built || r.Step.Kind == deploy.StepBuildImage && r.Step.Role == "sidecar" && r.Err == nil
		delivered = delivered || r.Step.Kind == deploy.StepDeliverImage && r.Step.Role == "sidecar" && r.Step.Host == h.Addr && r.Err == nil
	}
	assert.True(t, built, "the sidecar's image was built:\n%s", out.String())
	assert.True(t, delivered, "and delivered to %s:\n%s", h.Addr, out.String())
	c, err := e.Inspect(ctx, deploy.AccessoryName(a, "sidecar"))
	require.NoError(t, err)
	assert.True(t, c.Running(), "the sidecar runs from the delivered image")
	assert.Equal(t, repo+":s1", c.Image)

	rep, err = s.Deploy(ctx, deploy.Release{Version: "v2"})
	require.NoError(t, err, out.String())
	for _, r := range rep.Steps {
		assert.NotEqual(t, "sidecar", r.Step.Role, "the running sidecar needs nothing: %s", r.Step.Kind)
	}
}
