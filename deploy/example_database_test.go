package deploy_test

import (
	"fmt"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/replicate"
)

// A database is declared once, with its role and replica. Every
// destination gets a replica of its own, and a database on a role with
// two servers is refused, saying why and what to do.
func ExampleDatabase() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10"), Proxy: &deploy.Proxy{AppPort: 3000}}},
		Volumes: []string{"hello-data:/data"},
		Databases: []deploy.Database{{
			Path:    "/data/hello.db",
			Role:    "web",
			Replica: &replicate.Replica{S3: &replicate.S3{Bucket: "acme-hello"}},
		}},
		Destinations: map[string]func(*deploy.App){
			"staging": func(a *deploy.App) { a.Roles["web"].Servers[0].Host = "203.0.113.20" },
		},
	}
	fmt.Println(app.Validate())
	staging, _ := app.ForDestination("staging")
	fmt.Println(app.Replicas()[0], staging.Replicas()[0])

	app.Roles["web"] = deploy.Role{Servers: deploy.Hosts("203.0.113.10", "203.0.113.11"), Proxy: &deploy.Proxy{AppPort: 3000}}
	fmt.Println(app.Validate())
	// Output:
	// <nil>
	// s3://acme-hello/hello.db s3://acme-hello/staging/hello.db
	// databases[0].role: role web runs on 2 servers (203.0.113.10, 203.0.113.11), but a SQLite database lives on one host: each host would hold its own copy of hello.db, so users would see different data from each and their replicators would write over one replica. Run role web on one server, or move the other servers to a role without the database
}
