// Package deployment describes how hello is deployed, as plain Go values
// that its magefile, its tests and any tool of the team's can share.
package deployment

import (
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
)

// Image is hello's image repository; each release tags it with its version.
const Image = "slipway/hello"

// App is hello on the given web servers; the first is the primary host.
// The app keeps its SQLite database in the hello-data volume.
func App(servers ...deploy.Server) deploy.App {
	return deploy.App{
		Service: "hello",
		Image:   Image,
		Roles: deploy.Roles{
			"web": {
				Servers: servers,
				Proxy: &deploy.Proxy{
					AppPort: 3000,
					Health:  health.HTTP{Path: "/up", Interval: 200 * time.Millisecond},
				},
			},
		},
		Env: deploy.Env{
			Clear: map[string]string{"DATABASE_PATH": "/data/hello.db"},
		},
		Volumes: []string{"hello-data:/data"},
		Boot:    deploy.Boot{Limit: 1},
		Retain:  3,
	}
}
