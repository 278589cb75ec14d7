package deploy_test

import (
	"context"
	"fmt"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/secret"
)

// Check before a first deploy, offline: every problem of the config at
// once, one line each. The secret is named, never shown; nothing is
// dialled, so the hosts may be anywhere.
func ExampleCheck() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10"), Proxy: &deploy.Proxy{AppPort: 3000}}},
		Env:     deploy.Env{Secret: []string{"SECRET_KEY_BASE"}},
		Secrets: secret.Func(func(_ context.Context, name string) (string, error) {
			return "", &secret.MissingError{Name: name, Where: "not in .slipway/secrets"}
		}),
		Destinations: map[string]func(*deploy.App){"staging": nil},
	}
	rep, err := deploy.Check(context.Background(), app, deploy.CheckOptions{Destination: "prod", Version: "v1"})
	fmt.Print(rep)
	fmt.Println("bad config:", rep.Invalid(), err != nil)
	// Output:
	// config          version      ok   v1
	// config          destination  FAIL unknown destination "prod"; known destinations: staging
	// config          app          ok   hello: 1 role on 1 host
	// config          secrets      FAIL 1 secret missing: SECRET_KEY_BASE; SECRET_KEY_BASE: not in .slipway/secrets
	// config          plan         skip needs a valid version, destination and App
	// bad config: true true
}
