package targets_test

import (
	"context"
	"testing"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/secret"
	"github.com/slipwayhq/slipway/targets"
)

// offlineApp has hosts in TEST-NET-1 (192.0.2.0/24), which nothing
// answers, and a PreConnect hook that records a connection attempt.
func offlineApp(dialled *bool, found map[string]string) deploy.App {
	return deploy.App{
		Service: "offshop",
		Image:   "ghcr.io/acme/offshop",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("192.0.2.1", "192.0.2.2"), Proxy: &deploy.Proxy{AppPort: 3000}}},
		Env:     deploy.Env{Clear: map[string]string{"PORT": "3000"}, Secret: []string{"SECRET_KEY_BASE", "SMTP_PASSWORD"}},
		Volumes: []string{"offshop-data:/data"},
		Secrets: secret.Func(func(_ context.Context, name string) (string, error) {
			if v, ok := found[name]; ok {
				return v, nil
			}
			return "", &secret.MissingError{Name: name, Where: "not in .slipway/secrets"}
		}),
		Hooks:        deploy.Hooks{PreConnect: func(context.Context, deploy.HookContext) error { *dialled = true; return nil }},
		Destinations: map[string]func(*deploy.App){"staging": nil},
	}
}

// `mage check -version=bad/version -destination=prod` with a secret
// missing: all three on the screen at once, exit 2, no host dialled, and
// the one secret that resolved is named, never shown.
func TestCheckReportsEveryConfigProblemAndExitsInvalid(t *testing.T) {
	const value = "found-value-that-must-not-show"
	dialled := false
	var out syncWriter
	targets.Use(targets.Config{App: offlineApp(&dialled, map[string]string{"SECRET_KEY_BASE": value}), Options: deploy.Options{Output: &out}})
	t.Cleanup(func() { targets.Use(targets.Config{}) })

	for _, online := range []bool{false, true} {
		out.Reset()
		err := targets.Check(context.Background(), ptr("bad/version"), ptr("prod"), ptr(online))
		require.Error(t, err)
		t.Logf("check -online=%v:\n%s", online, out.String())
		assert.Equal(t, targets.ExitInvalid, mg.ExitStatus(err), "%v", err)
		for _, text := range []string{out.String(), err.Error()} {
			assert.Regexp(t, `(?m)^config +version +FAIL version: must be letters, digits`, text)
			assert.Regexp(t, `(?m)^config +destination +FAIL unknown destination "prod"; known destinations: staging$`, text)
			assert.Regexp(t, `(?m)^config +secrets +FAIL 1 secret missing: SMTP_PASSWORD; SMTP_PASSWORD: not in .slipway/secrets$`, text)
			assert.NotContains(t, text, value)
		}
	}
	assert.False(t, dialled, "no host is dialled, even with -online")
}

func TestCheckPassesOffline(t *testing.T) {
	dialled := false
	var out syncWriter
	app := offlineApp(&dialled, map[string]string{"SECRET_KEY_BASE": "a", "SMTP_PASSWORD": "b"})
	targets.Use(targets.Config{App: app, Options: deploy.Options{Output: &out}})
	t.Cleanup(func() { targets.Use(targets.Config{}) })
	require.NoError(t, targets.Check(context.Background(), ptr("v1"), ptr("staging"), nil))
	assert.Regexp(t, `(?m)^config +secrets +ok +2 secrets resolved: SECRET_KEY_BASE, SMTP_PASSWORD$`, out.String())
	assert.Regexp(t, `(?m)^config +plan +ok +\d+ steps on 2 hosts`, out.String())
	assert.False(t, dialled)
}

// `mage plan -offline` prints the plan of a first deploy with no host
// reachable: its servers are in TEST-NET-1.
func TestPlanOffline(t *testing.T) {
	dialled := false
	var out syncWriter
	targets.Use(targets.Config{App: offlineApp(&dialled, nil), Options: deploy.Options{Output: &out}})
	t.Cleanup(func() { targets.Use(targets.Config{}) })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, targets.Plan(ctx, ptr("v1"), ptr("staging"), ptr(true)))
	t.Logf("plan -offline:\n%s", out.String())
	want, err := deploy.NewPlan(mustDestination(t, offlineApp(&dialled, nil), "staging"), deploy.Release{Version: "v1"}, deploy.State{})
	require.NoError(t, err)
	assert.Equal(t, want.String(), out.String(), "the plan against empty hosts")
	assert.Contains(t, out.String(), "192.0.2.1")
	assert.Contains(t, out.String(), "192.0.2.2")
	assert.False(t, dialled, "no host is dialled")

	err = targets.Plan(ctx, ptr("v1"), ptr("prod"), ptr(true))
	assert.Equal(t, targets.ExitInvalid, mg.ExitStatus(err), "an unknown destination offline too: %v", err)
}

func mustDestination(t *testing.T, a deploy.App, name string) deploy.App {
	t.Helper()
	d, err := a.ForDestination(name)
	require.NoError(t, err)
	return d
}

// exec refuses what would expand on this machine before dialling: the
// operator is told to single-quote it for the container's shell.
func TestExecRefusesAnExpansionBeforeAnyHost(t *testing.T) {
	dialled := false
	targets.Use(targets.Config{App: offlineApp(&dialled, nil), Options: deploy.Options{Output: &syncWriter{}}})
	t.Cleanup(func() { targets.Use(targets.Config{}) })
	err := targets.Exec(context.Background(), "echo $HOME", nil, nil, nil, nil, nil)
	assert.Equal(t, targets.ExitInvalid, mg.ExitStatus(err), "%v", err)
	assert.Contains(t, err.Error(), "$HOME would be expanded on this machine, not in the container: single-quote it")
	assert.False(t, dialled)
}
