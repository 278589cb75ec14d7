package deploy_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/health"
)

// balancedApp is a web role on three hosts behind a balancer on a
// fourth, with automatic TLS on the balancer.
func balancedApp(hosts ...string) deploy.App {
	if len(hosts) == 0 {
		hosts = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}
	}
	return deploy.App{
		Service: "shop",
		Image:   "ghcr.io/acme/shop",
		Roles: deploy.Roles{"web": {
			Servers: deploy.Hosts(hosts...),
			Proxy: &deploy.Proxy{Hosts: []string{"shop.example.com"}, AppPort: 3000, Health: health.HTTP{Path: "/up"},
				Balancer: &deploy.Balancer{Servers: deploy.Hosts("10.0.0.9"), TLS: true}},
		}},
		Boot: deploy.Boot{Limit: 1},
	}
}

// servingState is every web host of a running v1, and the balancer's
// route to targets ("" for no balancer proxy at all).
func servingState(a deploy.App, targets string) deploy.State {
	s := deploy.StateRunning(a, "v1")
	for h, hs := range s.Hosts {
		for i := range hs.Containers {
			hs.Containers[i].Created = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		}
		s.Hosts[h] = hs
	}
	if targets == "" {
		delete(s.Hosts, "10.0.0.9")
	} else {
		s.Hosts["10.0.0.9"].Proxy.Services["shop-web"] = targets
	}
	return s
}

func balancerSteps(p deploy.Plan) []deploy.Step {
	var out []deploy.Step
	for _, st := range p.Steps() {
		if st.Kind == deploy.StepBalancerDeploy {
			out = append(out, st)
		}
	}
	return out
}

func TestPlanBalancer(t *testing.T) {
	t.Run("a fresh deploy boots the balancer's proxy and routes it to every web host last", func(t *testing.T) {
		p, err := deploy.NewPlan(balancedApp(), deploy.Release{Version: "v2"}, deploy.State{})
		require.NoError(t, err)
		assert.Contains(t, p.Prepare, deploy.Step{Kind: deploy.StepBootProxy, Host: "10.0.0.9", Container: "kamal-proxy", Image: deploy.DefaultProxyImage})
		assert.Equal(t, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, p.Hosts(), "the balancer boots no release")
		bs := balancerSteps(p)
		require.Len(t, bs, 1)
		assert.Equal(t, p.Finish[0], bs[0], "after every batch")
		assert.Equal(t, []string{"kamal-proxy", "deploy", "shop-web", "--target=10.0.0.1:80", "--target=10.0.0.2:80", "--target=10.0.0.3:80",
			"--host=shop.example.com", "--tls", "--health-check-path=/up", "--health-check-interval=1s", "--health-check-timeout=5s",
			"--deploy-timeout=30s", "--drain-timeout=30s"}, bs[0].Proxy.Args())
		golden(t, "plan_balancer_fresh", p.String())
	})
	t.Run("a web host's route answers for its own address and passes X-Forwarded headers on, without TLS", func(t *testing.T) {
		p, err := deploy.NewPlan(balancedApp(), deploy.Release{Version: "v2"}, deploy.State{})
		require.NoError(t, err)
		web := p.Batches[1].StepsOn("10.0.0.2")
		require.Equal(t, deploy.StepProxyDeploy, web[1].Kind)
		assert.Equal(t, []string{"shop.example.com", "10.0.0.2"}, web[1].Proxy.Hosts)
		assert.False(t, web[1].Proxy.TLS)
		require.NotNil(t, web[1].Proxy.ForwardHeaders)
		assert.True(t, *web[1].Proxy.ForwardHeaders)
	})
	t.Run("a rolling deploy over the same hosts leaves the balancer alone", func(t *testing.T) {
		a := balancedApp()
		p, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, servingState(a, "10.0.0.3:80,10.0.0.1:80,10.0.0.2:80"))
		require.NoError(t, err)
		assert.Empty(t, balancerSteps(p), "same targets in another order")
		for _, st := range p.Prepare {
			assert.NotEqual(t, deploy.StepBootProxy, st.Kind)
		}
	})
	t.Run("a balancer's proxy that differs is rebooted before the batches", func(t *testing.T) {
		a := balancedApp()
		st := servingState(a, "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80")
		st.Hosts["10.0.0.9"].Proxy.Fingerprint = nil
		st.Hosts["10.0.0.9"].Proxy.Image = "basecamp/kamal-proxy:v0.9.0"
		p, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, st)
		require.NoError(t, err)
		assert.Contains(t, p.Prepare, deploy.Step{Kind: deploy.StepRebootProxy, Host: "10.0.0.9", Container: "kamal-proxy",
			Image: deploy.DefaultProxyImage, Reasons: []string{"image changed"}})
		assert.Empty(t, balancerSteps(p), "its routes are kept")
	})
	t.Run("nothing to deploy when the release runs and the balancer's list is right", func(t *testing.T) {
		a := balancedApp()
		_, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, deploy.StateRunning(a, "v1"))
		assert.ErrorIs(t, err, deploy.ErrNothingToDeploy)
	})
	t.Run("a host added to the role joins the balancer once its batch serves", func(t *testing.T) {
		a := balancedApp("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")
		p, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, servingState(balancedApp(), "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80"))
		require.NoError(t, err)
		bs := balancerSteps(p)
		require.Len(t, bs, 1)
		assert.Equal(t, []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}, bs[0].Old)
		assert.Equal(t, []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"}, bs[0].Proxy.Targets)
		var booted []string
		for _, st := range p.Steps() {
			if st.Kind == deploy.StepStart {
				booted = append(booted, st.Host)
			}
		}
		assert.Equal(t, []string{"10.0.0.4"}, booted, "only the new host boots")
		golden(t, "plan_balancer_add", p.String())
	})
	t.Run("a host removed from the role is drained, its containers left running", func(t *testing.T) {
		a := balancedApp("10.0.0.1", "10.0.0.3")
		p, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, servingState(balancedApp(), "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80"))
		require.NoError(t, err, "a plan that only changes the balancer is not nothing to deploy")
		bs := balancerSteps(p)
		require.Len(t, bs, 1)
		assert.Equal(t, []string{"10.0.0.1:80", "10.0.0.3:80"}, bs[0].Proxy.Targets)
		assert.Contains(t, p.String(), "drains 10.0.0.2:80; a host no longer in the role keeps its containers")
		golden(t, "plan_balancer_remove", p.String())
	})
}

func TestValidateBalancer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(px *deploy.Proxy, r *deploy.Role)
		field string
		fix   string
	}{
		{"refuses a balancer that is one of the role's hosts", func(px *deploy.Proxy, r *deploy.Role) {
			px.Balancer.Servers = deploy.Hosts("10.0.0.2")
		}, "roles.web.proxy.balancer.servers[0].host", "put the balancer on another server"},
		{"refuses TLS on both the web hosts and the balancer", func(px *deploy.Proxy, r *deploy.Role) {
			px.TLS = true
		}, "roles.web.proxy.tls", "TLS terminates on the balancer"},
		{"refuses a custom certificate on the web hosts", func(px *deploy.Proxy, r *deploy.Role) {
			px.TLSCertificate, px.TLSPrivateKey = "CERT", "KEY"
		}, "roles.web.proxy.tls", "set balancer.tls instead"},
		{"refuses automatic TLS on two balancers", func(px *deploy.Proxy, r *deploy.Role) {
			px.Balancer.Servers = deploy.Hosts("10.0.0.8", "10.0.0.9")
		}, "roles.web.proxy.balancer.tls", "keep one balancer server"},
		{"refuses automatic TLS without a host name", func(px *deploy.Proxy, r *deploy.Role) {
			px.Hosts = nil
		}, "roles.web.proxy.balancer.tls", "needs at least one host name"},
		{"refuses automatic TLS for a wildcard", func(px *deploy.Proxy, r *deploy.Role) {
			px.Balancer.Hosts = []string{"*.example.com"}
		}, "roles.web.proxy.balancer.hosts[0]", "wildcard"},
		{"refuses a balancer without servers", func(px *deploy.Proxy, r *deploy.Role) {
			px.Balancer.Servers = nil
		}, "roles.web.proxy.balancer.servers", "must list the balancer's server"},
		{"refuses a bad target port", func(px *deploy.Proxy, r *deploy.Role) {
			px.Balancer.TargetPort = 70000
		}, "roles.web.proxy.balancer.targetPort", ""},
		{"refuses a redirect without TLS", func(px *deploy.Proxy, r *deploy.Role) {
			px.Balancer.TLS, px.Balancer.SSLRedirect = false, deploy.Bool(true)
		}, "roles.web.proxy.balancer.sslRedirect", "needs TLS on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := balancedApp()
			r := a.Roles["web"]
			tc.edit(r.Proxy, &r)
			a.Roles["web"] = r
			err := a.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.field)
			assert.Contains(t, err.Error(), tc.fix)
			_, perr := deploy.NewPlan(a, deploy.Release{Version: "v2"}, deploy.State{})
			assert.Error(t, perr, "no plan for a bad app")
		})
	}
	t.Run("accepts the balanced app", func(t *testing.T) {
		require.NoError(t, balancedApp().Validate())
	})
}

func TestBalancerTargets(t *testing.T) {
	a := balancedApp()
	assert.Equal(t, []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}, deploy.BalancerTargets(a, "web"))
	a.Roles["web"].Proxy.HTTPPort = 8080
	assert.Equal(t, []string{"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"}, deploy.BalancerTargets(a, "web"), "the web hosts' proxy port")
	a.Roles["web"].Proxy.Balancer.TargetPort = 81
	assert.Equal(t, "10.0.0.1:81", deploy.BalancerTargets(a, "web")[0])
	assert.Contains(t, a.HostNames(), "10.0.0.9", "the session connects to the balancer")
	assert.False(t, strings.Contains(strings.Join(deploy.BalancerTargets(balancedApp(), "missing"), ""), ":"))
}

func TestRemovePlanTakesTheBalancersRoute(t *testing.T) {
	balancer := deploy.HostInventory{
		Containers: []engine.Container{ctr("kamal-proxy", "sha256:e", nil)},
		Images:     []engine.Image{{ID: "sha256:e", Tags: []string{"basecamp/kamal-proxy:v0.9.2"}}},
		Proxy:      true,
		Routes:     map[string]string{"shop-web": "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80", "blog-web": "blog-web-v1:80"},
	}
	r, err := deploy.RemovePlan(balancedApp(), map[string]deploy.HostInventory{"10.0.0.9": balancer})
	require.NoError(t, err)
	i := slices.IndexFunc(r.Hosts, func(h deploy.HostRemoval) bool { return h.Host == "10.0.0.9" })
	require.GreaterOrEqual(t, i, 0, "remove knows the balancer host")
	assert.Equal(t, []string{"shop-web"}, r.Hosts[i].Routes)
	assert.False(t, r.Hosts[i].Proxy, "another app's route remains")
}
