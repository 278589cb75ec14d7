package deploy_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/secret"
)

var fingerprintKey = []byte("a fingerprint key of 32 bytes...")

// deployedState is the state after a of rel was deployed on empty hosts:
// StateRunning, each role container labelled with the fingerprint the
// plan gave its start step, and an ID.
func deployedState(t *testing.T, a deploy.App, rel deploy.Release) deploy.State {
	t.Helper()
	p, err := deploy.NewPlan(a, rel, deploy.State{})
	require.NoError(t, err)
	made := map[string]deploy.Fingerprint{}
	for _, st := range p.Steps() {
		if st.Kind == deploy.StepStart || st.Kind == deploy.StepHandoffStart {
			require.NotEmpty(t, st.Fingerprint, "a start step says what defines its container")
			made[st.Host+"/"+st.Container] = st.Fingerprint
		}
	}
	s := deploy.StateRunning(a, rel.Version)
	for h, hs := range s.Hosts {
		for i, c := range hs.Containers {
			if f, ok := made[h+"/"+c.Name]; ok {
				hs.Containers[i].Fingerprint = deploy.ParseFingerprint(f.Label())
				hs.Containers[i].ID = "3f2a1b9c" + strings.Repeat("0", 56)
			}
		}
	}
	return s
}

// replaced lists "host role container (reasons)" for each start step of p.
func replaced(p deploy.Plan) []string {
	var out []string
	for _, st := range p.Steps() {
		if st.Kind == deploy.StepStart || st.Kind == deploy.StepHandoffStart {
			out = append(out, st.Host+" "+st.Role+" "+st.Container+" ("+strings.Join(st.Reasons, ", ")+")")
		}
	}
	return out
}

func TestPlanReplacesWhatChanged(t *testing.T) {
	a := helloApp()
	rel := deploy.Release{Version: "v1", Secrets: deploy.DigestSecrets(fingerprintKey, secret.Values{"SECRET_KEY_BASE": "s3cr3t-old"})}
	state := deployedState(t, a, rel)

	t.Run("changes nothing when nothing changed", func(t *testing.T) {
		_, err := deploy.NewPlan(a, rel, state)
		require.ErrorIs(t, err, deploy.ErrNothingToDeploy)
	})
	t.Run("replaces every role's containers after an env value changed", func(t *testing.T) {
		b := helloApp()
		b.Env.Clear["LOG_LEVEL"] = "debug"
		p, err := deploy.NewPlan(b, rel, state)
		require.NoError(t, err)
		assert.Equal(t, []string{
			"203.0.113.10 web hello-web-v1 (env LOG_LEVEL added)",
			"203.0.113.11 web hello-web-v1 (env LOG_LEVEL added)",
			"203.0.113.12 web hello-web-v1 (env LOG_LEVEL added)",
			"203.0.113.13 jobs hello-jobs-v1 (env LOG_LEVEL added)",
		}, replaced(p))
	})
	t.Run("replaces only the role whose memory changed, through the gated path", func(t *testing.T) {
		b := helloApp()
		web := b.Roles["web"]
		web.Options.Memory = 256 << 20
		b.Roles["web"] = web
		p, err := deploy.NewPlan(b, rel, state)
		require.NoError(t, err)
		assert.Equal(t, []string{
			"203.0.113.10 web hello-web-v1 (memory changed)",
			"203.0.113.11 web hello-web-v1 (memory changed)",
			"203.0.113.12 web hello-web-v1 (memory changed)",
		}, replaced(p))
		steps := p.Batches[0].StepsOn("203.0.113.10")
		assert.Equal(t, []string{"start", "proxy-deploy", "stop-old", "proxy-deploy"}, kinds(steps))
		assert.Equal(t, "hello-web-v1-replaced-3f2a1b9c", steps[0].Aside)
		assert.NotEmpty(t, steps[1].Aside, "the gated switch goes to the new container by its ID")
		assert.Empty(t, steps[3].Aside, "then, the old one stopped, to its name")
		assert.False(t, steps[0].Reuse, "a container that differs is made again, not started")
		assert.Equal(t, []string{"hello-web-v1-replaced-3f2a1b9c"}, steps[2].Old, "the old one is stopped under its aside name")
	})
	t.Run("replaces the containers whose secret was rotated, and prints no value", func(t *testing.T) {
		rotated := rel
		rotated.Secrets = deploy.DigestSecrets(fingerprintKey, secret.Values{"SECRET_KEY_BASE": "s3cr3t-new"})
		p, err := deploy.NewPlan(a, rotated, state)
		require.NoError(t, err)
		assert.Len(t, replaced(p), 4)
		assert.Contains(t, replaced(p), "203.0.113.13 jobs hello-jobs-v1 (secret SECRET_KEY_BASE rotated)")
		golden(t, "plan_replace", p.String())
		for _, st := range p.Steps() {
			assert.NotContains(t, st.Fingerprint.Label(), "s3cr3t")
		}
		assert.NotContains(t, p.String(), "s3cr3t")
	})
	t.Run("says secrets were not compared when it has no digests", func(t *testing.T) {
		p, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
		require.ErrorIs(t, err, deploy.ErrNothingToDeploy)
		assert.Equal(t, []string{"SECRET_KEY_BASE"}, p.Uncompared)
		assert.Contains(t, p.String(), "Secret values not compared (no digest key, as in an offline plan): SECRET_KEY_BASE")
	})
	t.Run("replaces a container whose image changed under the same tag", func(t *testing.T) {
		s := deployedState(t, a, rel)
		hs := s.Hosts["203.0.113.13"]
		hs.Containers[0].ImageID = "sha256:old"
		hs.ImageIDs = map[string]string{"ghcr.io/acme/hello:v1": "sha256:rebuilt"}
		s.Hosts["203.0.113.13"] = hs
		p, err := deploy.NewPlan(a, rel, s)
		require.NoError(t, err)
		assert.Equal(t, []string{"203.0.113.13 jobs hello-jobs-v1 (image changed)"}, replaced(p))
	})
	t.Run("takes a container without a fingerprint as it is", func(t *testing.T) {
		b := helloApp()
		b.Env.Clear["LOG_LEVEL"] = "debug"
		_, err := deploy.NewPlan(b, rel, deploy.StateRunning(a, "v1"))
		require.ErrorIs(t, err, deploy.ErrNothingToDeploy, "an upgrade of Slipway restarts nothing")
	})
	t.Run("makes a retained container that differs again instead of starting it", func(t *testing.T) {
		s := deployedState(t, a, rel)
		hs := s.Hosts["203.0.113.13"]
		hs.Containers[0].Running = false
		hs.Containers = append(hs.Containers, running("v2", "jobs", 0))
		s.Hosts["203.0.113.13"] = hs
		b := helloApp()
		b.Env.Clear["LOG_LEVEL"] = "debug"
		p, err := deploy.NewPlan(b, rel, s)
		require.NoError(t, err)
		steps := p.Batches[len(p.Batches)-1].StepsOn("203.0.113.13")
		require.NotEmpty(t, steps)
		assert.False(t, steps[0].Reuse)
		assert.Equal(t, "hello-jobs-v1-replaced-3f2a1b9c", steps[0].Aside)
		assert.Equal(t, []string{"hello-jobs-v2"}, steps[len(steps)-1].Old, "the stopped one is set aside, the running one stopped")
	})
	t.Run("changes what defines a container only with what the executor applies", func(t *testing.T) {
		b := helloApp()
		b.Env.Clear["DATABASE_PATH"] = "/data/hello.db" // the same value again
		_, err := deploy.NewPlan(b, rel, state)
		require.ErrorIs(t, err, deploy.ErrNothingToDeploy)
	})
}

func TestAsideName(t *testing.T) {
	assert.Equal(t, "hello-web-v1-replaced-3f2a1b9c", deploy.AsideName("hello-web-v1", "3f2a1b9cdeadbeef"))
}

func TestPlanReplacesAWriterByHandoff(t *testing.T) {
	a := writerApp()
	a.Roles = maps.Clone(a.Roles)
	delete(a.Roles, "jobs")
	rel := deploy.Release{Version: "v1"}
	state := deployedState(t, a, rel)
	a.Env.Clear["LOG_LEVEL"] = "debug"
	p, err := deploy.NewPlan(a, rel, state)
	require.NoError(t, err)
	steps := p.Batches[0].StepsOn("203.0.113.10")
	assert.Equal(t, []string{"handoff-pause", "handoff-stop", "handoff-start", "handoff-proxy", "handoff-resume"}, kinds(steps),
		"one writer at a time: the old one stops before the new one starts")
	stop, start := steps[1], steps[2]
	assert.Equal(t, "hello-web-v1-replaced-3f2a1b9c", stop.Aside, "the old one gives up its name as it stops")
	assert.Equal(t, []string{"hello-web-v1-replaced-3f2a1b9c"}, stop.Old)
	assert.Equal(t, []string{"env LOG_LEVEL added"}, start.Reasons)
	assert.False(t, start.Reuse)
}
