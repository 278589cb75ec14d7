package deploy_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
)

func TestHooksRunInOrder(t *testing.T) {
	a, l := labApp(t, 2)
	a.Boot = deploy.Boot{Limit: 1}
	var mu sync.Mutex
	var calls []string
	hook := func(name string) func(context.Context, deploy.HookContext) error {
		return func(_ context.Context, h deploy.HookContext) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, name+" "+strings.Join(h.Hosts, ",")+" "+h.Version)
			return nil
		}
	}
	a.Hooks = deploy.Hooks{PreConnect: hook("pre-connect"), PreDeploy: hook("pre-deploy"),
		PreAppBoot: hook("pre-app-boot"), PostAppBoot: hook("post-app-boot"), PostDeploy: hook("post-deploy")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := connect(t, a, &syncBuffer{}).Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err)
	h1, h2 := l.Hosts[0].Addr, l.Hosts[1].Addr
	assert.Equal(t, []string{
		"pre-connect " + h1 + "," + h2 + " ",
		"pre-deploy " + h1 + "," + h2 + " v1",
		"pre-app-boot " + h1 + " v1", "post-app-boot " + h1 + " v1",
		"pre-app-boot " + h2 + " v1", "post-app-boot " + h2 + " v1",
		"post-deploy " + h1 + "," + h2 + " v1",
	}, calls)

	t.Run("a failing pre-deploy hook stops the deploy before any host changes", func(t *testing.T) {
		b := a
		b.Hooks = deploy.Hooks{PreDeploy: func(context.Context, deploy.HookContext) error { return errors.New("tests are red") }}
		_, err := connect(t, b, &syncBuffer{}).Deploy(ctx, deploy.Release{Version: "v2"})
		require.ErrorContains(t, err, "tests are red")
		assert.ErrorContains(t, err, "no host was changed")
		_, err = l.Hosts[0].Engine(t).Inspect(ctx, a.Service+"-web-v2")
		assert.Error(t, err, "v2 never started")
	})
}
