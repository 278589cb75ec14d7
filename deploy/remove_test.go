package deploy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
)

func removeApp() deploy.App {
	return deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10", "203.0.113.11"),
			Proxy: &deploy.Proxy{AppPort: 3000}}},
		Volumes: []string{"hello-data:/data"},
		Accessories: map[string]deploy.Accessory{"cache": {Image: "valkey/valkey:8", Servers: deploy.Hosts("203.0.113.10"),
			Volumes: []string{"cache-data:/data"}}},
	}
}

// ctr is a container on a host's slipway network, with labels.
func ctr(name, imageID string, labels map[string]string) engine.Container {
	return engine.Container{Name: name, ImageID: imageID, Labels: labels, IPs: map[string]string{"slipway": "172.18.0.2"}}
}

func TestRemovePlan(t *testing.T) {
	web := func(version string) map[string]string {
		return map[string]string{deploy.LabelService: "hello", deploy.LabelRole: "web", deploy.LabelVersion: version}
	}
	staging := ctr("hello-web-staging-v1", "sha256:b", map[string]string{deploy.LabelService: "hello", deploy.LabelRole: "web", deploy.LabelDestination: "staging"})
	staging.Image = "ghcr.io/acme/hello:v1" // made from v1, since retagged: v1 and v2 are one image now
	shared := deploy.HostInventory{         // the first host: another app and another destination share it
		Containers: []engine.Container{
			ctr("hello-web-v2", "sha256:b", web("v2")),
			ctr("hello-web-v1", "sha256:a2", web("v1")),
			ctr("shop-worker", "sha256:f", map[string]string{deploy.LabelService: "shop", deploy.LabelRole: "worker"}),
			ctr("hello-cache", "sha256:c", map[string]string{deploy.LabelService: "hello", deploy.LabelAccessory: "cache"}),
			ctr("hello-migrate-v3", "sha256:b", map[string]string{deploy.LabelMigrate: "hello", deploy.LabelVersion: "v3"}),
			staging,
			ctr("shop-web-v1", "sha256:d", map[string]string{deploy.LabelService: "shop", deploy.LabelRole: "web"}),
			ctr("kamal-proxy", "sha256:e", nil),
		},
		Images: []engine.Image{
			{ID: "sha256:a2", Tags: []string{"ghcr.io/acme/hello:v0"}},
			{ID: "sha256:b", Tags: []string{"ghcr.io/acme/hello:v1", "ghcr.io/acme/hello:v2", "ghcr.io/acme/hello:v3"}},
			{ID: "sha256:f", Tags: []string{"ghcr.io/acme/hello:v9"}},
			{ID: "sha256:c", Tags: []string{"valkey/valkey:8"}},
			{ID: "sha256:d", Tags: []string{"ghcr.io/acme/shop:v1"}},
			{ID: "sha256:e", Tags: []string{"basecamp/kamal-proxy:v0.9.2"}},
		},
		Proxy:  true,
		Routes: map[string]string{"hello-web": "hello-web-v2:3000", "hello-web-staging": "hello-web-staging-v1:3000", "shop-web": "shop-web-v1:3000"},
	}
	alone := deploy.HostInventory{ // the second host runs only this app
		Containers: []engine.Container{ctr("hello-web-v2", "sha256:b", web("v2")), ctr("kamal-proxy", "sha256:e", nil)},
		Images: []engine.Image{{ID: "sha256:b", Tags: []string{"ghcr.io/acme/hello:v2"}},
			{ID: "sha256:e", Tags: []string{"basecamp/kamal-proxy:v0.9.2"}}},
		Proxy:  true,
		Routes: map[string]string{"hello-web": "hello-web-v2:3000"},
	}
	r, err := deploy.RemovePlan(removeApp(), map[string]deploy.HostInventory{"203.0.113.10": shared, "203.0.113.11": alone})
	require.NoError(t, err)
	require.Len(t, r.Hosts, 2)

	t.Run("a shared host loses only this app's and this destination's", func(t *testing.T) {
		h := r.Hosts[0]
		assert.Equal(t, "203.0.113.10", h.Host)
		assert.Equal(t, []string{"hello-web"}, h.Routes)
		assert.Equal(t, []string{"hello-cache", "hello-migrate-v3", "hello-web-v1", "hello-web-v2"}, h.Containers,
			"every version, the accessory and a migration leftover")
		assert.False(t, h.Proxy, "kamal-proxy stays for the other routes")
		assert.Equal(t, "other apps' routes remain: hello-web-staging, shop-web", h.ProxyKept)
		assert.Equal(t, []string{"ghcr.io/acme/hello:v0", "ghcr.io/acme/hello:v2", "ghcr.io/acme/hello:v3", "valkey/valkey:8"}, h.Images,
			"hello:v1 stays: the staging container was made from it; v9 is the last tag of an image another app runs; shop's and kamal-proxy's are not the app's")
		assert.Empty(t, h.Network)
		assert.Equal(t, "other containers are attached: hello-web-staging-v1, kamal-proxy, shop-web-v1, shop-worker", h.NetworkKept)
		assert.Equal(t, []string{"cache-data", "hello-data"}, h.Volumes, "volumes are listed as kept")
	})
	t.Run("a host of this app alone loses kamal-proxy and the network too", func(t *testing.T) {
		h := r.Hosts[1]
		assert.Equal(t, []string{"hello-web"}, h.Routes)
		assert.Equal(t, []string{"hello-web-v2"}, h.Containers)
		assert.True(t, h.Proxy)
		assert.Equal(t, []string{"ghcr.io/acme/hello:v2"}, h.Images)
		assert.Equal(t, "slipway", h.Network)
	})
	t.Run("a stopped kamal-proxy stays while other apps run on the host", func(t *testing.T) {
		stopped := shared
		stopped.Routes = nil
		r, err := deploy.RemovePlan(removeApp(), map[string]deploy.HostInventory{"203.0.113.10": stopped})
		require.NoError(t, err)
		assert.False(t, r.Hosts[0].Proxy)
		assert.Contains(t, r.Hosts[0].ProxyKept, "it is stopped, so its routes cannot be read, and other apps run here: ")
		assert.Contains(t, r.Hosts[0].ProxyKept, "shop-web-v1")
	})
	t.Run("prints what goes and what stays", func(t *testing.T) {
		out := r.String()
		t.Logf("\n%s", out)
		for _, want := range []string{
			"Remove hello from 2 hosts:\n",
			"203.0.113.10:\n  remove kamal-proxy routes hello-web\n  stop and remove containers hello-cache, hello-migrate-v3, hello-web-v1, hello-web-v2\n",
			"  keep kamal-proxy: other apps' routes remain: hello-web-staging, shop-web\n",
			"  keep volumes cache-data, hello-data: they hold data; remove one by hand on the host with `docker volume rm cache-data`\n",
			"203.0.113.11:\n",
			"  remove kamal-proxy (no other app's route remains)\n",
			"  remove network slipway (nothing else is attached)\n",
			"Last: remove the deploy lock .slipway/locks/hello-lock on 203.0.113.10; the audit log stays on each host at ~/.slipway/audit/hello-audit.log\n",
		} {
			assert.Contains(t, out, want)
		}
	})
	t.Run("a destination removes only its own", func(t *testing.T) {
		a := removeApp()
		a.Destination = "staging"
		r, err := deploy.RemovePlan(a, map[string]deploy.HostInventory{"203.0.113.10": shared})
		require.NoError(t, err)
		assert.Equal(t, []string{"hello-web-staging"}, r.Hosts[0].Routes)
		assert.Equal(t, []string{"hello-web-staging-v1"}, r.Hosts[0].Containers)
		assert.Contains(t, r.String(), "Remove hello (destination staging; other destinations are left alone)")
	})
	t.Run("a bad app is refused", func(t *testing.T) {
		a := removeApp()
		a.Service = ""
		_, err := deploy.RemovePlan(a, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "service:")
	})
}
