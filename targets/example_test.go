package targets_test

import (
	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/targets"
)

// What an app's magefile does in its init(): hand the ready targets its
// App, whose Databases the replica targets (replica:verify,
// replica:drill, app:recover, ...) read, and the drills' checks. (The
// magefile imports the package with `//mage:import`; `mage -l` then
// lists deploy, rollback, replica:drill and the rest.)
func ExampleUse() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{"web": {
			Servers: deploy.Hosts("203.0.113.10"),
			Proxy:   &deploy.Proxy{AppPort: 3000},
		}},
		Volumes: []string{"hello-data:/data"},
		Databases: []deploy.Database{{
			Path:    "/data/hello.db",
			Replica: &replicate.Replica{S3: &replicate.S3{Bucket: "hello-litestream"}},
		}},
	}
	targets.Use(app)
	targets.UseDrills("", replicate.Query{Name: "visits", SQL: "SELECT id FROM visits LIMIT 1", MinRows: 1})
}
