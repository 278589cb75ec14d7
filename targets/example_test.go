package targets_test

import (
	"context"
	"fmt"

	"github.com/magefile/mage/mg"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
	"github.com/slipwayhq/slipway/targets"
)

// What an app's magefile does in its init(): hand the ready targets its
// App, whose Databases the replica targets (replica:verify,
// replica:drill, app:recover, ...) read, and what the drills check. (The
// magefile imports the package with `//mage:import`; `mage -l` then
// lists deploy, rollback, replica:drill and the rest.) Mage then calls a
// target with the flags it was given, here `mage deploy -version=v1
// -destination=prod`, which stops at the unknown destination before any
// host is dialled, with the exit code of a bad config.
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
		Destinations: map[string]func(*deploy.App){
			"staging": func(a *deploy.App) { a.Roles["web"].Servers[0].Host = "203.0.113.20" },
		},
	}
	targets.Use(targets.Config{
		App: app,
		Drills: targets.Drills{
			Queries: []replicate.Query{{Name: "visits", SQL: "SELECT id FROM visits LIMIT 1", MinRows: 1}},
			Smoke:   []deploy.SmokeCheck{{Path: "/up"}, {Path: "/", Body: "hello from"}},
			DropEnv: replicate.EnvNames("hello.db"), // the restored copy must never replicate
		},
	})

	version, destination := "v1", "prod"
	err := targets.Deploy(context.Background(), &version, &destination)
	fmt.Printf("exit %d: %v\n", mg.ExitStatus(err), err)
	// Output:
	// exit 2: unknown destination "prod"; known destinations: staging
}

// A Config with mistakes names each field at fault; every target would
// exit with targets.ExitInvalid and these lines before connecting to
// anything. A plan test can call Validate to catch them in `go test`.
func ExampleConfig_Validate() {
	err := targets.Config{
		Drills: targets.Drills{
			Queries: []replicate.Query{{Name: "orders", MinRows: 5, MaxRows: 1}},
			Smoke:   []deploy.SmokeCheck{{Path: "up"}},
		},
	}.Validate()
	fmt.Println(err)
	// Output:
	// app: not set: pass the app to deploy, targets.Use(targets.Config{App: App})
	// drills.queries[0].sql: must not be empty: give a read-only statement such as SELECT id FROM orders LIMIT 1
	// drills.queries[0].maxRows: is 1, below minRows 5: no row count could pass
	// drills.smoke[0].path: must start with /, got "up"
}

// `mage check -version=v1 -destination=staging` before a first deploy:
// one line per check, offline, and the exit code of a bad config when a
// secret is missing (named, never shown).
func ExampleCheck() {
	targets.Use(targets.Config{App: deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10"), Proxy: &deploy.Proxy{AppPort: 3000}}},
		Env:     deploy.Env{Secret: []string{"SECRET_KEY_BASE"}},
		Secrets: secret.Func(func(_ context.Context, name string) (string, error) {
			return "", &secret.MissingError{Name: name, Where: "not in .slipway/secrets"}
		}),
		Destinations: map[string]func(*deploy.App){"staging": nil},
	}})
	version, destination := "v1", "staging"
	err := targets.Check(context.Background(), &version, &destination, nil)
	fmt.Println("exit", mg.ExitStatus(err))
	// Output:
	// config          version      ok   v1
	// config          destination  ok   staging
	// config          app          ok   hello: 1 role on 1 host
	// config          secrets      FAIL 1 secret missing: SECRET_KEY_BASE; SECRET_KEY_BASE: not in .slipway/secrets
	// config          plan         ok   5 steps on 1 host in 1 batch, against an empty state
	// exit 2
}
