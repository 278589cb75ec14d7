package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
)

// check -online against a lab host that runs the app: SSH, Docker's
// version, kamal-proxy's version, the lock, the disk and the delivery,
// each on a line of its own, changing nothing.
func TestCheckOnlineReportsEachHost(t *testing.T) {
	app, l := labApp(t, 1)
	host := l.Hosts[0].Addr
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := connect(t, app, &syncBuffer{})
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"}) // kamal-proxy runs there now
	require.NoError(t, err)
	require.NoError(t, s.Lock(ctx, ""))
	t.Cleanup(func() { s.Unlock(context.Background()) })

	rep, err := deploy.Check(ctx, app, deploy.CheckOptions{Version: "v99", Online: true})
	t.Logf("report:\n%s", rep)
	require.Error(t, err, "v99 cannot be pulled")
	assert.Len(t, rep.Failed(), 1, "the delivery alone fails: a held lock is a warning")

	byName := map[string]deploy.CheckResult{}
	for _, c := range rep.Checks {
		if c.Host != "" {
			assert.Equal(t, host, c.Host)
			byName[c.Name] = c
		}
	}
	assert.Equal(t, deploy.CheckOK, byName["ssh"].Status)
	assert.Equal(t, deploy.CheckOK, byName["docker"].Status, byName["docker"].Detail)
	assert.Regexp(t, `^Docker Engine \d+\.\d+\S* \(API 1\.\d+, linux/\w+; at least 20\.10\.9\)$`, byName["docker"].Detail)
	assert.Equal(t, deploy.CheckOK, byName["kamal-proxy"].Status, byName["kamal-proxy"].Detail)
	assert.Equal(t, "v0.9.2 (running, image "+lab.ProxyImage+")", byName["kamal-proxy"].Detail)
	assert.Equal(t, deploy.CheckWarn, byName["lock"].Status)
	assert.Contains(t, byName["lock"].Detail, "held by tester since")
	assert.Contains(t, []deploy.CheckStatus{deploy.CheckOK, deploy.CheckWarn}, byName["disk"].Status)
	assert.Regexp(t, `^\d+(\.\d+)? [KMGT]iB free on /`, byName["disk"].Detail)
	assert.Equal(t, deploy.CheckFailed, byName["delivery"].Status, "v99 is not on the host, and the lab reaches no registry: %s", byName["delivery"].Detail)

	rep, err = deploy.Check(ctx, app, deploy.CheckOptions{Version: "v1", Online: true})
	require.NoError(t, err, "%s", rep)
	for _, c := range rep.Checks {
		if c.Name == "delivery" {
			assert.Equal(t, lab.TestAppImage+":v1 is on the host already: nothing to pull", c.Detail)
		}
	}
}

// A host that does not answer fails its own checks and only those.
func TestCheckOnlineNamesAnUnreachableHost(t *testing.T) {
	app := checkApp(map[string]string{"SECRET_KEY_BASE": "key-base-value", "API_TOKEN": "api-token-value"})
	app.Hooks.PreConnect = nil
	rep, err := deploy.Check(context.Background(), app, deploy.CheckOptions{Version: "v1", Online: true,
		Options: deploy.Options{ConnectTimeout: 500 * time.Millisecond}})
	require.Error(t, err)
	assert.False(t, rep.Invalid(), "an unreachable host is not a bad config")
	var ssh []string
	for _, c := range rep.Failed() {
		assert.Equal(t, "ssh", c.Name)
		ssh = append(ssh, c.Host)
	}
	assert.Equal(t, []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}, ssh)
}

// An image from a registry: the host's route to it is checked from the
// host, and the registry's password is resolved by name and shown nowhere.
func TestCheckOnlineReachesTheRegistryFromTheHost(t *testing.T) {
	app, l := labApp(t, 1)
	reg := lab.RequireRegistry(t, l)
	app.Image = reg.Addr + "/" + app.Service
	app.Registry = &deploy.Registry{Username: reg.Username, PasswordSecret: "REGISTRY_PASSWORD", Insecure: true}
	app.Secrets = mapSource(map[string]string{"REGISTRY_PASSWORD": reg.Password})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	rep, err := deploy.Check(ctx, app, deploy.CheckOptions{Version: "v1", Online: true})
	t.Logf("report:\n%s", rep)
	require.NoError(t, err)
	assert.NotContains(t, rep.String(), reg.Password)
	var delivery string
	for _, c := range rep.Checks {
		switch c.Name {
		case "secrets":
			assert.Equal(t, "1 secret resolved: REGISTRY_PASSWORD", c.Detail)
		case "delivery":
			delivery = c.Detail
		}
	}
	assert.Equal(t, "pulls "+app.Image+":v1: the host reaches "+reg.Addr, delivery)
}
