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
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/internal/lab"
)

// TestAccessoryLifecycle: an accessory whose image lives in a registry
// other than the app's (the app has none: its image goes over SSH) is
// pulled with the accessory's own login where the host lacks it, and
// refused, naming the registry, when pulled anonymously; then every
// lifecycle operation works by name on the lab host: details, logs,
// exec, stop, start, reboot, remove (which keeps the volume and says
// so), and an unknown name lists the accessories.
func TestAccessoryLifecycle(t *testing.T) {
	l := lab.Require(t, 1)
	reg := lab.RequireRegistry(t, l)
	service := fmt.Sprintf("accessory-%d", rand.Uint32()%1_000_000)
	// Registered before CleanupService, so it runs after the containers
	// that mount the volume are gone.
	t.Cleanup(func() { removeVolume(l.Hosts[0], service+"-cache") })
	lab.CleanupService(t, l.Hosts[:1], service)
	a := testApp(service, l.Hosts[:1])
	h := l.Hosts[0]
	e := h.Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ref := reg.Addr + "/" + service + "/cache:r1"
	t.Cleanup(func() { removeImages(t, l, reg.Addr+"/"+service+"/cache") })
	volume := service + "-cache"
	t.Setenv("CACHE_REGISTRY_PASSWORD", reg.Password)
	t.Setenv("CACHE_TOKEN", "tok-5e1f-accessory")
	cache := deploy.Accessory{
		Image:    ref,
		Build:    image.Go{Package: "../internal/lab/testapp", Binary: "/testapp"},
		Registry: &deploy.Registry{Username: reg.Username, PasswordSecret: "CACHE_REGISTRY_PASSWORD"},
		Roles:    []string{"web"},
		Env:      deploy.Env{Clear: map[string]string{"PORT": "3001", "APP_VERSION": "cache"}, Secret: []string{"CACHE_TOKEN"}},
		Volumes:  []string{volume + ":/data"},
	}
	a.Accessories = map[string]deploy.Accessory{"cache": cache}
	name := deploy.AccessoryName(a, "cache")

	// A first deploy builds the accessory and pushes it to its registry,
	// with its own login; the host pulls it.
	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "deliver-image")

	// The image is then only in the registry: an accessory that is not
	// built and that the host lacks is pulled.
	require.NoError(t, s.AccessoryRemove(ctx, "cache"))
	require.NoError(t, e.ImageRemove(ctx, ref, true))
	cache.Build = nil
	a.Accessories = map[string]deploy.Accessory{"cache": cache}
	out = syncBuffer{}
	s = connect(t, a, &out)
	state, err := s.Observe(ctx)
	require.NoError(t, err)
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
	require.NoError(t, err)
	assert.Contains(t, plan.String(), "deliver image "+ref+": the host pulls it from its registry\n", "with the accessory's login:\n%s", plan)
	require.NoError(t, s.AccessoryBoot(ctx, "cache"), out.String())
	c, err := e.Inspect(ctx, name)
	require.NoError(t, err)
	assert.True(t, c.Running(), "booted from the pulled image:\n%s", out.String())
	assert.Contains(t, out.String(), "(pulled ")

	// Anonymously, the lab registry (which requires its login) refuses
	// the pull, and nothing is booted.
	anon := cache
	anon.Registry = nil
	a.Accessories = map[string]deploy.Accessory{"cache": anon}
	require.NoError(t, s.AccessoryRemove(ctx, "cache"))
	require.NoError(t, e.ImageRemove(ctx, ref, true))
	var aout syncBuffer
	sa := connect(t, a, &aout)
	state, err = sa.Observe(ctx)
	require.NoError(t, err)
	plan, err = deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
	require.NoError(t, err)
	assert.Contains(t, plan.String(), "deliver image "+ref+": the host pulls it from its registry, anonymously")
	err = sa.AccessoryBoot(ctx, "cache")
	require.Error(t, err, "the lab registry wants a login")
	t.Logf("anonymous pull: %v", err)
	assert.Contains(t, err.Error(), reg.Addr)
	assert.Contains(t, err.Error(), "accessories.cache.registry", "says where the login goes")
	_, err = e.Inspect(ctx, name)
	assert.ErrorIs(t, err, engine.ErrNotFound, "nothing booted")
	assert.NotContains(t, aout.String(), reg.Password)

	// Back to the login: the lifecycle, by name.
	a.Accessories = map[string]deploy.Accessory{"cache": cache}
	out = syncBuffer{}
	s = connect(t, a, &out)
	require.NoError(t, s.AccessoryBoot(ctx, "cache"), out.String())

	details, err := s.AccessoryDetails(ctx, "cache")
	require.NoError(t, err)
	require.Len(t, details, 1)
	assert.Equal(t, h.Addr, details[0].Host)
	assert.Equal(t, engine.StateRunning, details[0].State)
	assert.Equal(t, ref, details[0].Image)

	var logs syncBuffer
	require.Eventually(t, func() bool {
		logs = syncBuffer{}
		return s.Logs(ctx, deploy.LogOptions{Roles: []string{"cache"}}, &logs) == nil && strings.Contains(logs.String(), "listening on :3001")
	}, 10*time.Second, 200*time.Millisecond, "logs -role=cache: %s", logs.String())
	assert.Regexp(t, h.Addr+`\s+cache\s+\| `, logs.String(), "prefixed with host and accessory")

	var xout syncBuffer
	res, err := s.AccessoryExec(ctx, "cache", []string{"/testapp", "getenv", "CACHE_TOKEN"}, &xout)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.NoError(t, res[0].Err)
	assert.NotContains(t, xout.String(), "tok-5e1f-accessory", "the secret's value is redacted in exec output")
	assert.Contains(t, xout.String(), h.Addr)

	require.NoError(t, s.AccessoryStop(ctx, "cache"))
	c, err = e.Inspect(ctx, name)
	require.NoError(t, err)
	assert.False(t, c.Running(), "stopped")
	require.NoError(t, s.AccessoryStart(ctx, "cache"))
	c, err = e.Inspect(ctx, name)
	require.NoError(t, err)
	assert.True(t, c.Running(), "started again")

	before := c.ID
	require.NoError(t, s.AccessoryReboot(ctx, "cache"), out.String())
	c, err = e.Inspect(ctx, name)
	require.NoError(t, err)
	assert.True(t, c.Running())
	assert.NotEqual(t, before, c.ID, "a new container")

	require.NoError(t, s.AccessoryRemove(ctx, "cache"))
	_, err = e.Inspect(ctx, name)
	assert.ErrorIs(t, err, engine.ErrNotFound, "removed")
	_, err = e.VolumeMountpoint(ctx, volume)
	assert.NoError(t, err, "the volume is kept")
	assert.Contains(t, out.String(), "kept the volumes "+volume)

	err = s.AccessoryStop(ctx, "nope")
	require.ErrorIs(t, err, deploy.ErrUnknownAccessory)
	assert.ErrorContains(t, err, `unknown accessory "nope"; the app's accessories: cache`)
	err = s.Logs(ctx, deploy.LogOptions{Roles: []string{"nope"}}, &logs)
	assert.ErrorContains(t, err, `unknown role or accessory "nope"; the app's roles and accessories: web, cache`)
	assert.NotContains(t, out.String(), "tok-5e1f-accessory")
	assert.NotContains(t, out.String(), reg.Password)
	t.Logf("session output:\n%s", out.String())
}

// removeVolume removes a test's volume from h, once nothing mounts it.
func removeVolume(h lab.Host, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, e, err := h.Connect(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	defer e.Close()
	e.VolumeRemove(ctx, name, true)
}
