package deploy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// A container as Slipway labels it.
func labelled(name, service, role, destination, accessory string) engine.Container {
	l := map[string]string{LabelService: service}
	if role != "" {
		l[LabelRole] = role
	}
	if destination != "" {
		l[LabelDestination] = destination
	}
	if accessory != "" {
		l[LabelAccessory] = accessory
	}
	return engine.Container{Name: name, Labels: l}
}

func TestNameCollision(t *testing.T) {
	const host = "203.0.113.10"
	shop := App{Service: "shop", Roles: Roles{"web-admin": {Servers: Hosts(host)}, "web": {Servers: Hosts(host)}},
		Accessories: map[string]Accessory{"db": {Servers: Hosts(host)}}}
	tests := []struct {
		name  string
		app   App
		other engine.Container
		want  string // "" for no collision
	}{
		{
			name:  "refuses another app's role of the same name",
			app:   shop,
			other: labelled("shop-web-admin-v3", "shop-web", "admin", "", ""),
			want:  `name collision: role "web-admin" of app "shop" and role "admin" of app "shop-web" are both named shop-web-admin (containers and kamal-proxy service), and container shop-web-admin-v3 runs on this host`,
		},
		{
			name:  "refuses the app's own base config and a destination that collide",
			app:   App{Service: "shop", Destination: "prod", Roles: Roles{"web": {Servers: Hosts(host)}}},
			other: labelled("shop-web-prod-v1", "shop", "web-prod", "", ""),
			want:  `role "web" of app "shop" (destination "prod") and role "web-prod" of app "shop"`,
		},
		{
			name:  "refuses an accessory of the same name from the base config",
			app:   App{Service: "shop", Destination: "x", Accessories: map[string]Accessory{"db": {Servers: Hosts(host)}}},
			other: labelled("shop-db-x", "shop", "", "", "db-x"),
			want:  `accessory "db" of app "shop" (destination "x") and accessory "db-x" of app "shop" are both named shop-db-x`,
		},
		{
			name:  "takes the app's own containers",
			app:   shop,
			other: labelled("shop-web-admin-v3", "shop", "web-admin", "", ""),
		},
		{
			name:  "takes the app's own accessory",
			app:   shop,
			other: labelled("shop-db", "shop", "", "", "db"),
		},
		{
			name:  "takes apps whose names only share a prefix",
			app:   shop,
			other: labelled("shop-web-web-v1", "shop-web", "web", "", ""),
		},
		{
			name:  "ignores a role that does not run on the host",
			app:   App{Service: "shop", Roles: Roles{"web-admin": {Servers: Hosts("203.0.113.99")}}},
			other: labelled("shop-web-admin-v3", "shop-web", "admin", "", ""),
		},
		{
			name:  "ignores containers Slipway did not start",
			app:   shop,
			other: engine.Container{Name: "shop-web-admin-v3", Labels: map[string]string{"service": "shop-web"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := nameCollision(tt.app, host, []engine.Container{tt.other})
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrNameCollision)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "rename a role or the service")
		})
	}
}
