package deploy_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// proxyReboots returns the plan's StepRebootProxy steps, by host.
func proxyReboots(p deploy.Plan) map[string]deploy.Step {
	out := map[string]deploy.Step{}
	for _, st := range p.Steps() {
		if st.Kind == deploy.StepRebootProxy {
			out[st.Host] = st
		}
	}
	return out
}

func TestPlanRebootsAProxyThatDiffers(t *testing.T) {
	a := helloApp()
	running := deploy.StateRunning(a, "v2")
	web := []string{"203.0.113.10", "203.0.113.11", "203.0.113.12"}

	t.Run("leaves a proxy that matches alone", func(t *testing.T) {
		_, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, running)
		assert.ErrorIs(t, err, deploy.ErrNothingToDeploy)
	})

	for _, tc := range []struct {
		name    string
		change  func(*deploy.Proxy)
		reasons []string
	}{
		{"a new image", func(p *deploy.Proxy) { p.Image = "basecamp/kamal-proxy:v0.9.3" }, []string{"image changed"}},
		{"a new HTTP port", func(p *deploy.Proxy) { p.HTTPPort = 8080 }, []string{"http-port changed"}},
		{"metrics turned on", func(p *deploy.Proxy) { p.MetricsPort = 9090 }, []string{"metrics-port changed"}},
		{"bind addresses and debug logs", func(p *deploy.Proxy) { p.BindIPs, p.Debug = []string{"10.0.0.5"}, true },
			[]string{"bind-ips changed", "debug changed"}},
		{"a log cap", func(p *deploy.Proxy) { p.LogMaxSize = "50m" }, []string{"log-max-size changed"}},
	} {
		t.Run("reboots for "+tc.name+", saying why, before the host's other steps", func(t *testing.T) {
			b := helloApp()
			tc.change(b.Roles["web"].Proxy)
			plan, err := deploy.NewPlan(b, deploy.Release{Version: "v2"}, running)
			require.NoError(t, err, "a proxy that differs is not nothing to deploy")
			reboots := proxyReboots(plan)
			require.Len(t, reboots, 3, "every web host, not the worker's")
			for _, h := range web {
				assert.Equal(t, tc.reasons, reboots[h].Reasons, h)
			}
			assert.Equal(t, deploy.StepRebootProxy, plan.Batches[0].StepsOn("203.0.113.10")[0].Kind)
			assert.Contains(t, plan.String(), "reboot kamal-proxy "+reboots[web[0]].Image+" ("+strings.Join(tc.reasons, ", ")+")")
		})
	}

	t.Run("reboots a proxy made before fingerprints only when its image differs", func(t *testing.T) {
		old := deploy.StateRunning(a, "v2")
		for _, h := range web {
			old.Hosts[h].Proxy.Fingerprint = nil
		}
		_, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, old)
		assert.ErrorIs(t, err, deploy.ErrNothingToDeploy, "same image: taken as it is")
		for _, h := range web {
			old.Hosts[h].Proxy.Image = "basecamp/kamal-proxy:v0.8.7"
		}
		plan, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, old)
		require.NoError(t, err)
		assert.Equal(t, []string{"image changed"}, proxyReboots(plan)["203.0.113.11"].Reasons)
	})

	t.Run("boots a stopped proxy instead of rebooting it", func(t *testing.T) {
		b := helloApp()
		b.Roles["web"].Proxy.Image = "basecamp/kamal-proxy:v0.9.3"
		stopped := deploy.StateRunning(a, "v2")
		stopped.Hosts["203.0.113.10"].Proxy.Running = false
		plan, err := deploy.NewPlan(b, deploy.Release{Version: "v2"}, stopped)
		require.NoError(t, err)
		assert.NotContains(t, proxyReboots(plan), "203.0.113.10")
		assert.Contains(t, plan.String(), "203.0.113.10             boot kamal-proxy basecamp/kamal-proxy:v0.9.3")
	})
}

func TestProxyFingerprintIsStable(t *testing.T) {
	b := proxy.Boot{Network: "slipway"}
	assert.Equal(t, deploy.ProxyFingerprint(b).Label(), deploy.ProxyFingerprint(proxy.Boot{Network: "other"}).Label(),
		"the network is the booting app's, not the proxy's")
	assert.Equal(t, deploy.ProxyFingerprint(b), deploy.ProxyFingerprint(proxy.Boot{Image: proxy.DefaultImage, HTTPPort: 80, HTTPSPort: 443, LogMaxSize: proxy.DefaultLogMaxSize}),
		"defaults spelled out are the defaults")
	assert.NotContains(t, deploy.ProxyFingerprint(b).Label(), "debug", "an option left off is no part")
}
