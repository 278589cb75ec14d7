// Package deployment describes how hello is deployed, as plain Go values
// that its magefile, its tests and any tool of the team's can share.
package deployment

import (
	"path/filepath"
	"runtime"
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/health"
)

// Image is hello's image repository; each release tags it with its version.
const Image = "slipway/hello"

// DatabasePath is hello's SQLite database inside its containers.
const DatabasePath = "/data/hello.db"

// App is hello on the given web servers; the first is the primary host.
// Each release is built from hello's source as a static binary in a
// scratch image, delivered to the servers over SSH (no registry), and
// keeps its SQLite database in the hello-data volume. The database is
// declared once, in Databases: it lives on one host, so the web role
// runs on one server (App.Validate says so otherwise). Set its Replica
// to replicate it (Lab does); hello then reads the replica with
// replicate.FromEnv.
func App(servers ...deploy.Server) deploy.App {
	return deploy.App{
		Service: "hello",
		Image:   Image,
		Build:   image.Go{Package: ".", Dir: sourceDir(), Binary: "/hello", Ports: []int{3000}},
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
			Clear: map[string]string{"DATABASE_PATH": DatabasePath},
		},
		Volumes:   []string{"hello-data:/data"},
		Databases: []deploy.Database{{Path: DatabasePath, Role: "web"}},
		Boot:      deploy.Boot{Limit: 1},
		Retain:    3,
	}
}

// sourceDir is examples/hello, wherever the repository is checked out.
func sourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}
