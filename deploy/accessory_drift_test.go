package deploy_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
)

// cacheApp is a web app on one host with one accessory, "cache".
func cacheApp() deploy.App {
	a := writerApp()
	a.Databases = nil
	a.Accessories = map[string]deploy.Accessory{"cache": {
		Image: "ghcr.io/acme/cache:7", Roles: []string{"web"}, Volumes: []string{"cache:/data"},
		Env:   deploy.Env{Clear: map[string]string{"LOG_LEVEL": "info"}, Secret: []string{"CACHE_TOKEN"}},
		Files: map[string]string{"/etc/cache.conf": "maxmemory 1gb"},
	}}
	return a
}

func TestAccessoryDrift(t *testing.T) {
	const host = "203.0.113.10"
	cases := []struct {
		name    string
		change  func(a *deploy.App)
		stopped bool
		want    []string // the reboot's reasons; nil: nothing to do
	}{
		{"an unchanged accessory is left alone", func(a *deploy.App) {}, false, nil},
		{"a new image reboots it", func(a *deploy.App) { setCache(a, func(c *deploy.Accessory) { c.Image = "ghcr.io/acme/cache:8" }) }, false, []string{"image changed"}},
		{"a changed env value reboots it", func(a *deploy.App) {
			setCache(a, func(c *deploy.Accessory) { c.Env.Clear = map[string]string{"LOG_LEVEL": "debug"} })
		}, false, []string{"env LOG_LEVEL changed"}},
		{"a changed file reboots it (the sidecar's bucket lives in its config)", func(a *deploy.App) {
			setCache(a, func(c *deploy.Accessory) { c.Files = map[string]string{"/etc/cache.conf": "maxmemory 2gb"} })
		}, false, []string{"file /etc/cache.conf changed"}},
		{"a new command, port and memory limit each say so", func(a *deploy.App) {
			setCache(a, func(c *deploy.Accessory) {
				c.Cmd = []string{"cache", "-v"}
				c.Ports = []string{"6379:6379"}
				c.Options.Memory = 256 << 20
			})
		}, false, []string{"cmd changed", "memory changed", "ports changed"}},
		{"a stopped accessory that drifted is rebooted, not started as it was", func(a *deploy.App) {
			setCache(a, func(c *deploy.Accessory) { c.Image = "ghcr.io/acme/cache:8" })
		}, true, []string{"image changed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := cacheApp()
			state := deploy.StateRunning(before, "v1")
			if tc.stopped {
				stopAccessory(state, host)
			}
			a := cacheApp()
			tc.change(&a)
			plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
			var reboots []deploy.Step
			for _, st := range plan.Prepare {
				if st.Kind == deploy.StepRebootAccessory {
					reboots = append(reboots, st)
				}
			}
			if tc.want == nil {
				require.ErrorIs(t, err, deploy.ErrNothingToDeploy)
				assert.Empty(t, reboots)
				return
			}
			require.NoError(t, err)
			require.Len(t, reboots, 1, "one reboot:\n%s", plan)
			assert.Equal(t, tc.want, reboots[0].Reasons)
			assert.Equal(t, "cache", reboots[0].Role)
			assert.Equal(t, deploy.AccessoryName(a, "cache"), reboots[0].Container)
			assert.Contains(t, plan.String(), "reboot accessory hello-cache (")
			for _, reason := range tc.want {
				assert.Contains(t, plan.String(), reason)
			}
			assert.Empty(t, plan.Batches[0].Steps, "the app's own containers are not touched")
		})
	}

	t.Run("a new image the host lacks is pulled before the reboot", func(t *testing.T) {
		state := deploy.StateRunning(cacheApp(), "v1")
		a := cacheApp()
		setCache(&a, func(c *deploy.Accessory) { c.Image = "ghcr.io/acme/cache:8" })
		plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
		require.NoError(t, err)
		var got []string
		for _, st := range plan.Prepare {
			if st.Role == "cache" {
				got = append(got, st.Kind.String())
			}
		}
		assert.Equal(t, []string{"deliver-image", "reboot-accessory"}, got)
		assert.Contains(t, plan.String(), "deliver image ghcr.io/acme/cache:8: the host pulls it from its registry, anonymously")
	})

	t.Run("an image the host lists by its full name is not pulled again", func(t *testing.T) {
		a := cacheApp()
		setCache(&a, func(c *deploy.Accessory) { c.Image = "redis" })
		state := deploy.State{Hosts: map[string]deploy.HostState{host: {Images: []string{"docker.io/library/redis:latest"}}}}
		plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
		require.NoError(t, err)
		for _, st := range plan.Prepare {
			assert.False(t, st.Role == "cache" && st.Kind == deploy.StepDeliverImage, "no pull of redis:\n%s", plan)
		}
	})

	t.Run("Drift: report leaves it running and says why in the plan", func(t *testing.T) {
		state := deploy.StateRunning(cacheApp(), "v1")
		a := cacheApp()
		setCache(&a, func(c *deploy.Accessory) { c.Image = "ghcr.io/acme/cache:8"; c.Drift = deploy.DriftReport })
		plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
		require.ErrorIs(t, err, deploy.ErrNothingToDeploy, "nothing runs: the drift is only reported")
		require.Len(t, plan.Drifted, 1)
		assert.Equal(t, []string{"image changed"}, plan.Drifted[0].Reasons)
		assert.Contains(t, plan.String(), "Drifted, not rebooted (Drift: report")
		assert.Contains(t, plan.String(), "hello-cache: image changed")
	})

	t.Run("a container made before fingerprints is taken as it is", func(t *testing.T) {
		state := deploy.StateRunning(cacheApp(), "v1")
		hs := state.Hosts[host]
		for i := range hs.Containers {
			hs.Containers[i].Fingerprint = nil
		}
		a := cacheApp()
		setCache(&a, func(c *deploy.Accessory) { c.Image = "ghcr.io/acme/cache:8" })
		_, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
		assert.ErrorIs(t, err, deploy.ErrNothingToDeploy)
	})

	t.Run("the fingerprint holds no env value, file content or secret", func(t *testing.T) {
		label := deploy.AccessoryFingerprint(cacheApp(), "cache", deploy.SecretDigests{"CACHE_TOKEN": "0123456789ab"}).Label()
		assert.NotContains(t, label, "info")
		assert.NotContains(t, label, "maxmemory")
		assert.Contains(t, label, "secret.CACHE_TOKEN=0123456789ab", "a secret is its keyed digest")
	})

	t.Run("a bad Drift names the field", func(t *testing.T) {
		a := cacheApp()
		setCache(&a, func(c *deploy.Accessory) { c.Drift = 7 })
		err := a.Validate()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "accessories.cache.drift")
		assert.False(t, errors.Is(err, deploy.ErrNothingToDeploy))
	})
}

func setCache(a *deploy.App, change func(c *deploy.Accessory)) {
	c := a.Accessories["cache"]
	change(&c)
	a.Accessories = map[string]deploy.Accessory{"cache": c}
}

func stopAccessory(state deploy.State, host string) {
	hs := state.Hosts[host]
	for i := range hs.Containers {
		if hs.Containers[i].Accessory != "" {
			hs.Containers[i].Running = false
		}
	}
	state.Hosts[host] = hs
}
