package deploy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
)

func TestStateRunning(t *testing.T) {
	a := helloApp()
	a.Destination = "staging"
	a.Accessories = map[string]deploy.Accessory{"cache": {Image: "redis:7", Servers: deploy.Hosts("203.0.113.20")}}
	s := deploy.StateRunning(a, "v2")

	t.Run("runs every role's container on its servers", func(t *testing.T) {
		web := s.Containers(a, "203.0.113.11", "web")
		require.Len(t, web, 1)
		assert.Equal(t, deploy.Container{Name: "hello-web-staging-v2", Role: "web", Destination: "staging", Version: "v2", Running: true}, web[0])
		jobs := s.Containers(a, "203.0.113.13", "jobs")
		require.Len(t, jobs, 1)
		assert.Equal(t, "hello-jobs-staging-v2", jobs[0].Name)
	})
	t.Run("routes each web host's service to the release", func(t *testing.T) {
		px := s.Hosts["203.0.113.10"].Proxy
		require.NotNil(t, px)
		assert.True(t, px.Running)
		assert.Equal(t, map[string]string{"hello-web-staging": "hello-web-staging-v2:3000"}, px.Services)
		assert.Nil(t, s.Hosts["203.0.113.13"].Proxy, "a worker host has no proxy")
	})
	t.Run("holds the release's image and the accessory", func(t *testing.T) {
		assert.Equal(t, []string{"ghcr.io/acme/hello:v2"}, s.Hosts["203.0.113.13"].Images)
		cache := s.Hosts["203.0.113.20"]
		require.Len(t, cache.Containers, 1)
		assert.Equal(t, deploy.Container{Name: "hello-cache-staging", Destination: "staging", Accessory: "cache", Running: true,
			Fingerprint: deploy.AccessoryFingerprint(a, "cache", nil)}, cache.Containers[0])
		assert.Equal(t, []string{"redis:7"}, cache.Images)
	})
	t.Run("is a state NewPlan has nothing to do for", func(t *testing.T) {
		_, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, s)
		require.ErrorIs(t, err, deploy.ErrNothingToDeploy)
		require.NoError(t, s.Validate(a))
	})
	t.Run("is the state a next release replaces", func(t *testing.T) {
		p, err := deploy.NewPlan(a, deploy.Release{Version: "v3"}, s)
		require.NoError(t, err)
		var stops int
		for _, st := range p.Steps() {
			if st.Kind == deploy.StepStopOld {
				stops++
			}
			assert.NotEqual(t, deploy.StepBootProxy, st.Kind, "the proxy runs on %s", st.Host)
			assert.NotEqual(t, deploy.StepBootAccessory, st.Kind, "the accessory runs on %s", st.Host)
		}
		assert.Equal(t, 4, stops, "every role's old container stops, on each of its hosts")
	})
}

func TestProxyTarget(t *testing.T) {
	a := helloApp()
	assert.Equal(t, "hello-web-v2:3000", deploy.ProxyTarget(a, "web", "v2"))
	a.Roles["web"].Proxy.AppPort = 0
	assert.Equal(t, "hello-web-v2:80", deploy.ProxyTarget(a, "web", "v2"), "DefaultAppPort")
}

func TestStateValidate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		services map[string]string
		want     string // "" when valid
	}{
		{"takes the service's container:port", map[string]string{"hello-web": "hello-web-v1:3000"}, ""},
		{"leaves other apps' services alone", map[string]string{"hello-web": "hello-web-v1:3000", "other-web": "whatever"}, ""},
		{"takes no entry at all", nil, ""},
		{"rejects a target without its port", map[string]string{"hello-web": "hello-web-v1"},
			`hosts[203.0.113.10].proxy.services[hello-web]: "hello-web-v1" is not "container:port"`},
		{"rejects a port that is no number", map[string]string{"hello-web": "hello-web-v1:http"}, `"hello-web-v1:http" is not "container:port"`},
		{"rejects a port out of range", map[string]string{"hello-web": "hello-web-v1:70000"}, `is not "container:port"`},
		{"rejects a key that is the role", map[string]string{"web": "hello-web-v1:3000"},
			`hosts[203.0.113.10].proxy.services is keyed by the role "web"; key it by the kamal-proxy service "hello-web"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := helloApp()
			s := deploy.State{Hosts: map[string]deploy.HostState{"203.0.113.10": {
				Containers: []deploy.Container{running("v1", "web", 0)},
				Proxy:      &deploy.ProxyState{Running: true, Services: tc.services},
			}}}
			err := s.Validate(a)
			_, planErr := deploy.NewPlan(a, deploy.Release{Version: "v2"}, s)
			if tc.want == "" {
				require.NoError(t, err)
				require.NoError(t, planErr)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			require.Error(t, planErr, "NewPlan refuses the state rather than restart what runs")
			assert.Contains(t, planErr.Error(), tc.want)
		})
	}
}
