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
	"github.com/slipwayhq/slipway/internal/lab"
)

// TestAccessoryDriftOnTheLab: a changed env value of a running accessory
// reboots it in the next deploy of the same version, and only it; with
// Drift: report the deploy leaves it and says so; a new container that
// does not stay up is taken away and the old one runs again; and a
// deploy with nothing changed touches nothing.
func TestAccessoryDriftOnTheLab(t *testing.T) {
	l := lab.Require(t, 1)
	service := fmt.Sprintf("accessory-%d", rand.Uint32()%1_000_000)
	lab.CleanupService(t, l.Hosts[:1], service)
	a := testApp(service, l.Hosts[:1])
	e := l.Hosts[0].Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Setenv("SIDE_TOKEN", "tok-77ab-drift")
	side := deploy.Accessory{Image: lab.TestAppImage + ":v1", Roles: []string{"web"},
		Env: deploy.Env{Clear: map[string]string{"PORT": "3002", "APP_VERSION": "side-1"}, Secret: []string{"SIDE_TOKEN"}}}
	with := func(change func(*deploy.Accessory)) deploy.App {
		acc := side
		acc.Env.Clear = map[string]string{"PORT": "3002", "APP_VERSION": "side-1"}
		change(&acc)
		b := a
		b.Accessories = map[string]deploy.Accessory{"side": acc}
		return b
	}
	name := deploy.AccessoryName(a, "side")
	deployed := func(app deploy.App) (string, *deploy.Report) {
		var out syncBuffer
		rep, err := connect(t, app, &out).Deploy(ctx, deploy.Release{Version: "v1"})
		require.NoError(t, err, out.String())
		return out.String(), rep
	}
	inspect := func() (id string, running bool) {
		c, err := e.Inspect(ctx, name)
		require.NoError(t, err)
		return c.ID, c.Running()
	}

	deployed(with(func(*deploy.Accessory) {}))
	first, _ := inspect()

	out, _ := deployed(with(func(*deploy.Accessory) {}))
	assert.Contains(t, out, "nothing to deploy")
	id, _ := inspect()
	assert.Equal(t, first, id, "nothing changed, nothing touched")

	out, _ = deployed(with(func(c *deploy.Accessory) { c.Env.Clear["APP_VERSION"] = "side-2"; c.Drift = deploy.DriftReport }))
	assert.Contains(t, out, "drifted, not rebooted (Drift: report): env APP_VERSION changed")
	id, _ = inspect()
	assert.Equal(t, first, id, "Drift: report leaves it")

	out, rep := deployed(with(func(c *deploy.Accessory) { c.Env.Clear["APP_VERSION"] = "side-2" }))
	assert.Contains(t, out, "reboot-accessory")
	assert.Contains(t, out, "(env APP_VERSION changed)")
	for _, r := range rep.Steps {
		assert.NotEqual(t, deploy.StepStart, r.Step.Kind, "the app's container is not touched")
	}
	second, running := inspect()
	assert.NotEqual(t, first, second)
	assert.True(t, running)
	res, err := e.Exec(ctx, name, []string{"/testapp", "getenv", "APP_VERSION"}, engineExec())
	require.NoError(t, err)
	assert.Equal(t, "side-2\n", string(res.Stdout))

	// A new container that exits at once: the old one is put back.
	bad := with(func(c *deploy.Accessory) { c.Env.Clear["APP_VERSION"] = "side-3"; c.Env.Clear["EXIT_AFTER"] = "100ms" })
	var bout syncBuffer
	_, err = connect(t, bad, &bout).Deploy(ctx, deploy.Release{Version: "v1"})
	require.Error(t, err, bout.String())
	t.Logf("failed reboot: %v", err)
	assert.ErrorContains(t, err, "the old container runs again")
	id, running = inspect()
	assert.Equal(t, second, id, "the old container is back under its name")
	assert.True(t, running)
	_, err = e.Inspect(ctx, name+"-rebooting")
	assert.Error(t, err, "nothing left aside")
	assert.NotContains(t, out+bout.String(), "tok-77ab-drift")
	c, err := e.Inspect(ctx, name)
	require.NoError(t, err)
	assert.NotContains(t, c.Labels[deploy.LabelFingerprint], "tok-77ab-drift")
	assert.NotContains(t, c.Labels[deploy.LabelFingerprint], "side-2", "no env value in the label")
}
