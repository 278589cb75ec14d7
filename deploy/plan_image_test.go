package deploy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/image"
)

func imageApp() deploy.App {
	return deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10", "203.0.113.11"), Proxy: &deploy.Proxy{AppPort: 3000}}},
	}
}

func kindsOf(steps []deploy.Step) []deploy.StepKind {
	var ks []deploy.StepKind
	for _, st := range steps {
		if st.Kind == deploy.StepBuildImage || st.Kind == deploy.StepDeliverImage || st.Kind == deploy.StepEnsureImage {
			ks = append(ks, st.Kind)
		}
	}
	return ks
}

func TestPlanImageSteps(t *testing.T) {
	withImage := deploy.State{Hosts: map[string]deploy.HostState{
		"203.0.113.10": {Images: []string{"ghcr.io/acme/hello:v2"}},
		"203.0.113.11": {Images: []string{"ghcr.io/acme/hello:v2"}},
	}}
	retained := deploy.State{Hosts: map[string]deploy.HostState{
		"203.0.113.10": {Containers: []deploy.Container{{Name: "hello-web-v2", Role: "web", Version: "v2"}}},
		"203.0.113.11": {Containers: []deploy.Container{{Name: "hello-web-v2", Role: "web", Version: "v2"}}},
	}}
	build, deliver, ensure := deploy.StepBuildImage, deploy.StepDeliverImage, deploy.StepEnsureImage
	for _, tc := range []struct {
		name  string
		build bool
		reg   bool
		state deploy.State
		want  []deploy.StepKind
	}{
		{"builds once, then delivers to every host", true, false, deploy.State{}, []deploy.StepKind{build, deliver, deliver}},
		{"delivers a build even where the tag exists (the image ID decides)", true, false, withImage, []deploy.StepKind{build, deliver, deliver}},
		{"builds nothing for a rollback to retained containers", true, false, retained, nil},
		{"pulls from the registry where the image is missing", false, true, deploy.State{}, []deploy.StepKind{deliver, deliver}},
		{"pulls nothing where the image is present", false, true, withImage, nil},
		{"only ensures the image without a build or registry", false, false, deploy.State{}, []deploy.StepKind{ensure, ensure}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := imageApp()
			if tc.build {
				a.Build = image.Go{Package: "./cmd/hello"}
			}
			if tc.reg {
				a.Registry = &deploy.Registry{Username: "deploy", PasswordSecret: "REGISTRY_TOKEN"}
			}
			p, err := deploy.NewPlan(a, deploy.Release{Version: "v2"}, tc.state)
			require.NoError(t, err)
			assert.Equal(t, tc.want, kindsOf(p.Prepare))
			if tc.build && len(tc.want) > 0 {
				assert.Equal(t, deploy.StepBuildImage, p.Prepare[0].Kind, "the build comes before any host step")
				assert.Empty(t, p.Prepare[0].Host, "the build runs on this machine")
			}
			assert.NotContains(t, p.String(), "REGISTRY_TOKEN=")
		})
	}
}
