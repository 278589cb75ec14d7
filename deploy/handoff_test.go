package deploy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/replicate"
)

// writerApp is hello with its database declared: web writes it on one
// host and deploys by handoff; jobs writes nothing and keeps start-first.
func writerApp() deploy.App {
	a := helloApp()
	a.Migrate = nil
	a.Boot = deploy.Boot{}
	web := a.Roles["web"]
	web.Servers = deploy.Hosts("203.0.113.10")
	a.Roles["web"] = web
	a.Databases = []deploy.Database{{Path: "/data/hello.db", Role: "web"}}
	return a
}

// over is a state where every host of a runs version, and the proxy
// points at it.
func over(a deploy.App, version string, extra ...deploy.Container) deploy.State {
	state := deploy.State{Hosts: map[string]deploy.HostState{}}
	for _, role := range []string{"web", "jobs"} {
		for _, srv := range a.Roles[role].Servers {
			hs := state.Hosts[srv.Host]
			hs.Containers = append(hs.Containers, running(version, role, time.Hour))
			hs.Containers = append(hs.Containers, extra...)
			hs.Images = []string{a.Image + ":v1", a.Image + ":v2"}
			if role == "web" {
				hs.Proxy = &deploy.ProxyState{Running: true, Services: map[string]string{"hello-web": "hello-web-" + version + ":3000"}}
			}
			state.Hosts[srv.Host] = hs
		}
	}
	return state
}

func kinds(steps []deploy.Step) []string {
	var out []string
	for _, st := range steps {
		out = append(out, st.Kind.String())
	}
	return out
}

func TestPlanHandoff(t *testing.T) {
	noProxy := func(a *deploy.App) {
		web := a.Roles["web"]
		web.Proxy = nil
		web.Health = health.TCP{Port: 3000}
		a.Roles["web"] = web
	}
	cases := []struct {
		name    string
		edit    func(*deploy.App)
		state   func(deploy.App) deploy.State
		version string
		want    []string
	}{
		{"pauses, stops the old writer, starts and gates the new one, then resumes",
			nil, func(a deploy.App) deploy.State { return over(a, "v1") }, "v2",
			[]string{"handoff-pause", "handoff-stop", "handoff-start", "handoff-proxy", "handoff-resume"}},
		{"without a proxy stops the old writer, then starts and gates the new one",
			noProxy, func(a deploy.App) deploy.State { return over(a, "v1") }, "v2",
			[]string{"handoff-stop", "handoff-start", "handoff-gate"}},
		{"on a fresh host there is no writer to hand off from",
			nil, func(deploy.App) deploy.State { return deploy.State{} }, "v2",
			[]string{"start", "proxy-deploy"}},
		{"a database that opts for start-first starts the new container first",
			func(a *deploy.App) {
				a.Databases[0].StartFirst = true
				a.Databases[0].Replication = deploy.ReplicateSidecar
				a.Databases[0].Replica = &replicate.Replica{S3: &replicate.S3{Bucket: "hello-litestream"}}
			},
			func(a deploy.App) deploy.State { return over(a, "v1") }, "v2",
			[]string{"start", "proxy-deploy", "stop-old"}},
		{"a rollback hands off to the retained container",
			nil, func(a deploy.App) deploy.State { return over(a, "v2", stopped("v1", "web", 2*time.Hour)) }, "v1",
			[]string{"handoff-pause", "handoff-stop", "handoff-start", "handoff-proxy", "handoff-resume"}},
		{"a host already serving the release does nothing",
			nil, func(a deploy.App) deploy.State { return over(a, "v2") }, "v2",
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := writerApp()
			if tc.edit != nil {
				tc.edit(&a)
			}
			plan, err := deploy.NewPlan(a, deploy.Release{Version: tc.version}, tc.state(a))
			if tc.want == nil { // every host serves the release: the plan is empty
				require.ErrorIs(t, err, deploy.ErrNothingToDeploy)
				assert.Empty(t, plan.Steps())
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, plan.Batches)
			assert.Equal(t, tc.want, kinds(plan.Batches[0].StepsOn("203.0.113.10")))
		})
	}

	t.Run("the handoff's steps carry what undoes them", func(t *testing.T) {
		a := writerApp()
		plan, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, over(a, "v1"))
		require.NoError(t, err)
		steps := plan.Batches[0].StepsOn("203.0.113.10")
		require.Len(t, steps, 5)
		assert.Equal(t, deploy.DefaultMaxPause, steps[0].MaxPause)
		assert.Equal(t, "hello-web", steps[0].Proxy.Name)
		for _, st := range steps {
			assert.Equal(t, []string{"hello-web-v1"}, st.Old, "%s", st.Kind)
			assert.Equal(t, "hello-web-v2", st.Container, "%s", st.Kind)
		}
		assert.Equal(t, "hello-web-v2:3000", steps[3].Proxy.Target)
		assert.Equal(t, []string{"SECRET_KEY_BASE"}, steps[2].Secrets)
	})
	t.Run("a role without a database keeps start-first", func(t *testing.T) {
		a := writerApp()
		plan, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, over(a, "v1"))
		require.NoError(t, err)
		require.Len(t, plan.Batches, 2, "the worker's host waits for the primary's")
		assert.Equal(t, []string{"start", "gate", "stop-old"}, kinds(plan.Batches[1].StepsOn("203.0.113.13")))
	})
	t.Run("a rollback's handoff starts the retained container", func(t *testing.T) {
		a := writerApp()
		plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, over(a, "v2", stopped("v1", "web", 2*time.Hour)))
		require.NoError(t, err)
		assert.True(t, plan.Batches[0].StepsOn("203.0.113.10")[2].Reuse)
	})
	t.Run("prints the handoff as its own steps", func(t *testing.T) {
		a := writerApp()
		a.Accessories = map[string]deploy.Accessory{"litestream": {
			Image: "acme/litestream:0.5.18", Roles: []string{"web"},
			Build: image.Go{Package: "./cmd/litestream"},
		}}
		plan, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, over(a, "v1"))
		require.NoError(t, err)
		golden(t, "plan_handoff", plan.String())
	})
}

func TestValidateMaxPause(t *testing.T) {
	cases := []struct {
		name    string
		db      bool
		px      deploy.Proxy
		problem string
	}{
		{"the default holds requests past the default deploy timeout", true, deploy.Proxy{}, ""},
		{"a negative pause is refused", false, deploy.Proxy{MaxPause: -time.Second}, "roles.web.proxy.maxPause: must not be negative"},
		{"a pause beyond the limit is refused", false, deploy.Proxy{MaxPause: time.Hour}, "roles.web.proxy.maxPause: must be at most 5m0s"},
		{"a handoff's pause must outlast the gate", true, deploy.Proxy{MaxPause: 10 * time.Second, DeployTimeout: 10 * time.Second},
			"roles.web.proxy.maxPause: must exceed deployTimeout (10s)"},
		{"a role that writes no database may pause briefly", false, deploy.Proxy{MaxPause: time.Second}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := writerApp()
			if !tc.db {
				a.Databases = nil
			}
			web := a.Roles["web"]
			px := tc.px
			px.AppPort = 3000
			web.Proxy = &px
			a.Roles["web"] = web
			err := a.Validate()
			if tc.problem == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.problem)
		})
	}
}

func TestPlanAccessoryImages(t *testing.T) {
	const img = "ghcr.io/acme/cache:7"
	cases := []struct {
		name     string
		build    bool
		registry bool
		image    string
		present  bool
		running  bool
		want     []string
	}{
		{"a build is built once and delivered", true, false, img, false, false, []string{"build-image", "deliver-image"}},
		{"a build is delivered even where the tag exists", true, false, img, true, false, []string{"build-image", "deliver-image"}},
		{"an image in the app's registry is pulled with its login", false, true, img, false, false, []string{"deliver-image"}},
		{"an image in another registry is pulled anonymously, never sent the login", false, true, "docker.io/library/redis:7", false, false, []string{"deliver-image (anonymous)"}},
		{"an image with no build or registry is pulled anonymously", false, false, img, false, false, []string{"deliver-image (anonymous)"}},
		{"an image on the host needs nothing", false, true, img, true, false, nil},
		{"a running accessory needs no image", true, true, img, false, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := writerApp()
			acc := deploy.Accessory{Image: tc.image, Roles: []string{"jobs"}}
			if tc.build {
				acc.Build = image.Go{Package: "./cmd/cache"}
			}
			if tc.registry {
				a.Registry = &deploy.Registry{Username: "ci", PasswordSecret: "REGISTRY_PASSWORD"}
			}
			a.Accessories = map[string]deploy.Accessory{"cache": acc}
			state := over(a, "v1")
			hs := state.Hosts["203.0.113.13"]
			if tc.present {
				hs.Images = append(hs.Images, tc.image)
			}
			if tc.running {
				hs.Containers = append(hs.Containers, deploy.Container{Name: deploy.AccessoryName(a, "cache"), Running: true})
			}
			state.Hosts["203.0.113.13"] = hs
			plan, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, state)
			require.NoError(t, err)
			var got []string
			for _, st := range plan.Prepare {
				if st.Role == "cache" && st.Kind != deploy.StepBootAccessory {
					kind := st.Kind.String()
					if st.Anonymous {
						kind += " (anonymous)"
						assert.True(t, st.ThroughRegistry, "an anonymous delivery is a pull")
					}
					got = append(got, kind)
					assert.Equal(t, tc.image, st.Image)
					if st.Kind == deploy.StepBuildImage {
						assert.Empty(t, st.Host, "built once, on this machine")
					} else {
						assert.Equal(t, "203.0.113.13", st.Host)
					}
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
