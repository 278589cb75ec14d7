package deploy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/health"
)

// overlayEverything changes every part of the App it can reach, in place.
func overlayEverything(a *App) {
	a.Service = "other"
	web := a.Roles["web"]
	web.Servers[0].Host = "10.9.9.9"
	web.Servers[0].Labels["zone"] = "b"
	web.Servers[0].KeyFiles[0] = "/other/key"
	web.Servers[0].Jump.Host = "other-bastion"
	web.Proxy.Hosts[0] = "staging.example.com"
	web.Proxy.AppPort = 4000
	web.Options.ExtraHosts[0] = "db:10.9.9.9"
	web.Env.Clear["MODE"] = "staging"
	web.Env.Secret[0] = "STAGING_TOKEN"
	web.Labels["tier"] = "staging"
	web.Cmd[0] = "/other"
	a.Roles["web"] = web
	a.Roles["jobs"].Health.(health.Command).Cmd[0] = "/other-check"
	delete(a.Roles, "jobs")
	a.Roles["extra"] = Role{Servers: Hosts("10.9.9.8")}
	a.Env.Clear["DATABASE_PATH"] = "/data/staging.db"
	a.Env.Secret[0] = "STAGING_KEY"
	a.Volumes[0] = "staging-data:/data"
	a.Labels["app"] = "staging"
	a.Migrate.Cmd[0] = "/other"
	a.Secrets.(CommandSecrets).Command[0] = "other-pm"
	a.Destinations["new"] = nil
}

// destinationApp is an App with every kind of map, slice and pointer set.
func destinationApp() App {
	return App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: Roles{
			"web": {
				Servers: []Server{{
					Host: "10.0.0.1", Labels: map[string]string{"zone": "a"}, KeyFiles: []string{"/key"},
					Jump: &Server{Host: "bastion"},
				}},
				Proxy:   &Proxy{Hosts: []string{"hello.example.com"}, AppPort: 3000},
				Options: ContainerOptions{ExtraHosts: []string{"db:10.0.0.9"}},
				Env:     Env{Clear: map[string]string{"MODE": "web"}, Secret: []string{"WEB_TOKEN"}},
				Labels:  map[string]string{"tier": "web"},
				Cmd:     []string{"/hello", "serve"},
			},
			"jobs": {Servers: Hosts("10.0.0.2"), Health: health.Command{Cmd: []string{"/check"}}},
		},
		Env:     Env{Clear: map[string]string{"DATABASE_PATH": "/data/hello.db"}, Secret: []string{"SECRET_KEY_BASE"}},
		Volumes: []string{"hello-data:/data"},
		Labels:  map[string]string{"app": "hello"},
		Migrate: &Migrate{Cmd: []string{"/hello", "migrate"}},
		Secrets: CommandSecrets{Command: []string{"pm", "{name}"}},
		Destinations: map[string]func(*App){
			"staging":    overlayEverything,
			"production": nil,
		},
	}
}

func TestForDestination(t *testing.T) {
	t.Run("applies the overlay and names the destination", func(t *testing.T) {
		a := destinationApp()
		got, err := a.ForDestination("staging")
		require.NoError(t, err)
		assert.Equal(t, "staging", got.Destination)
		assert.Equal(t, "other", got.Service)
		assert.Equal(t, "10.9.9.9", got.Roles["web"].Servers[0].Host)
		assert.Equal(t, "staging.example.com", got.Roles["web"].Proxy.Hosts[0])
		assert.Contains(t, got.Roles, "extra")
		assert.NotContains(t, got.Roles, "jobs")
	})

	t.Run("leaves the base App unchanged", func(t *testing.T) {
		a := destinationApp()
		_, err := a.ForDestination("staging")
		require.NoError(t, err)
		want := destinationApp()
		// Funcs cannot be compared; everything else must be as it was.
		assert.Equal(t, sortedKeys(want.Destinations), sortedKeys(a.Destinations))
		a.Destinations, want.Destinations = nil, nil
		assert.Equal(t, want, a)
	})

	t.Run("changes nothing but the destination for a nil overlay", func(t *testing.T) {
		a := destinationApp()
		got, err := a.ForDestination("production")
		require.NoError(t, err)
		assert.Equal(t, "production", got.Destination)
		got.Destination, got.Destinations, a.Destinations = "", nil, nil
		assert.Equal(t, a, got)
	})

	t.Run("returns a copy of the base for no destination", func(t *testing.T) {
		a := destinationApp()
		got, err := a.ForDestination("")
		require.NoError(t, err)
		assert.Empty(t, got.Destination)
		overlayEverything(&got)
		want := destinationApp()
		a.Destinations, want.Destinations = nil, nil
		assert.Equal(t, want, a)
	})

	t.Run("lists the known destinations for an unknown one", func(t *testing.T) {
		_, err := destinationApp().ForDestination("prod")
		require.EqualError(t, err, `unknown destination "prod"; known destinations: production, staging`)

		_, err = App{}.ForDestination("prod")
		require.EqualError(t, err, `unknown destination "prod": the app has no destinations`)
	})

	t.Run("copies a cycle of bastions without looping", func(t *testing.T) {
		a := validApp()
		b := &Server{Host: "bastion"}
		b.Jump = b
		a.Roles["jobs"].Servers[0].Jump = b
		c := a.Clone()
		c.Roles["jobs"].Servers[0].Jump.Host = "changed"
		assert.Equal(t, "bastion", b.Host)
	})
}
