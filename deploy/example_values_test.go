package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/secret"
)

// Validate reports every problem at once, each with its field path.
func ExampleApp_Validate() {
	app := deploy.App{
		Service: "Hello_App",
		Image:   "ghcr.io/acme/hello:latest",
		Roles: deploy.Roles{
			"web": {
				Servers: []deploy.Server{{Host: "203.0.113.10"}, {Host: ""}},
				Proxy:   &deploy.Proxy{AppPort: 3000, Health: health.HTTP{Path: "up"}},
			},
		},
	}
	fmt.Println(app.Validate())
	// Output:
	// service: must be lower-case letters, digits and dashes, got "Hello_App"
	// image: must be a repository without a tag; each release adds its version as the tag, got "ghcr.io/acme/hello:latest"
	// roles.web.servers[1].host: must not be empty
	// roles.web.proxy.health.path: must start with "/", got "up"
}

// A destination is a Go func that changes a copy of the App.
func ExampleApp_ForDestination() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{
			"web": {Servers: deploy.Hosts("203.0.113.10", "203.0.113.11"), Proxy: &deploy.Proxy{Hosts: []string{"hello.example.com"}}},
		},
		Destinations: map[string]func(*deploy.App){
			"staging": func(a *deploy.App) {
				web := a.Roles["web"]
				web.Servers = deploy.Hosts("203.0.113.20")
				web.Proxy.Hosts = []string{"staging.hello.example.com"}
				a.Roles["web"] = web
			},
		},
	}
	staging, err := app.ForDestination("staging")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(staging.Destination, staging.HostNames(), staging.Roles["web"].Proxy.Hosts)
	fmt.Println("base:", app.HostNames(), app.Roles["web"].Proxy.Hosts)

	_, err = app.ForDestination("prod")
	fmt.Println(err)
	// Output:
	// staging [203.0.113.20] [staging.hello.example.com]
	// base: [203.0.113.10 203.0.113.11] [hello.example.com]
	// unknown destination "prod"; known destinations: staging
}

// ResolveSecrets asks the App's secret.Source for every name its Env
// lists: here a secret.Chain lets the environment (CI) win over a
// secret.File that stays out of git.
func ExampleResolveSecrets() {
	dir, _ := os.MkdirTemp("", "slipway-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, ".slipway", "secrets")
	_ = os.MkdirAll(filepath.Dir(path), 0o700)
	_ = os.WriteFile(path, []byte("# never commit this file\nSECRET_KEY_BASE=s3cr3t-base\nexport LITESTREAM_SECRET_ACCESS_KEY='ls-key'\n"), 0o600)

	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10")}},
		Env:     deploy.Env{Secret: []string{"SECRET_KEY_BASE", "LITESTREAM_SECRET_ACCESS_KEY"}},
		Secrets: secret.Chain{secret.Env{}, secret.File{Path: path}},
	}
	secrets, err := deploy.ResolveSecrets(context.Background(), app)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(secrets) // names only
	fmt.Println(secrets.Redact("booting with SECRET_KEY_BASE=s3cr3t-base"))

	app.Env.Secret = append(app.Env.Secret, "SLIPWAY_EXAMPLE_MISSING")
	_, err = deploy.ResolveSecrets(context.Background(), app)
	if missing, ok := errors.AsType[*secret.MissingListError](err); ok {
		fmt.Println("missing:", missing.Names)
	}
	// Output:
	// secrets[LITESTREAM_SECRET_ACCESS_KEY SECRET_KEY_BASE]
	// booting with SECRET_KEY_BASE=[redacted]
	// missing: [SLIPWAY_EXAMPLE_MISSING]
}
