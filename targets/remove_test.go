package targets_test

import (
	"context"
	"testing"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/targets"
)

func TestRemoveTargetNeedsConfirm(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app := labApp(t)
	l := lab.Require(t, 1)
	app.Service = "limits-" + app.Service
	lab.CleanupService(t, l.Hosts, app.Service)
	h := l.Hosts[0]
	e := h.Engine(t)
	app.Image = "limits/" + app.Service // a repository of its own: remove never untags the lab's images
	require.NoError(t, e.ImageTag(ctx, lab.TestAppImage+":v1", app.Image+":v1"))
	t.Cleanup(func() { e.ImageRemove(context.Background(), app.Image+":v1", false) })
	var out syncWriter
	targets.Use(targets.Config{App: app, Options: deploy.Options{Output: &out}})
	t.Cleanup(func() { targets.Use(targets.Config{}) })
	require.NoError(t, targets.Deploy(ctx, ptr("v1"), nil))

	out.Reset()
	err := targets.Remove(ctx, nil, nil)
	assert.Equal(t, targets.ExitFailed, mg.ExitStatus(err), "%v", err)
	assert.Contains(t, err.Error(), "pass -confirm to remove")
	assert.Contains(t, out.String(), "Remove "+app.Service+" from 1 host:")
	cs, err := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: app.Service}})
	require.NoError(t, err)
	assert.Len(t, cs, 1, "without -confirm nothing is removed")

	require.NoError(t, targets.Remove(ctx, ptr(true), nil))
	assert.Contains(t, out.String(), "Remove "+app.Service+": done")
	cs, err = e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: app.Service}})
	require.NoError(t, err)
	assert.Empty(t, cs, "with -confirm the app's container is gone")
	_, err = e.ImageInspect(ctx, app.Image+":v1")
	assert.ErrorIs(t, err, engine.ErrNotFound, "and its image tag")
}
