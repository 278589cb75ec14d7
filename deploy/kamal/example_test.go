package kamal_test

import (
	"fmt"

	"github.com/slipwayhq/slipway/deploy/kamal"
)

// Load reads an existing Kamal project into an App, and reports
// every key it could not carry over, by its path in deploy.yml.
func ExampleLoad() {
	app, report, err := kamal.Load("testdata/rails", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	web := app.Roles["web"]
	fmt.Println(app.Service, app.Image, web.Servers[0].Host, web.Proxy.Hosts, web.Proxy.Health.Path)
	fmt.Println("registry password from", app.Registry.PasswordSecret)
	fmt.Print(report)
	// Output:
	// my-app ghcr.io/my-org/my_app 203.0.113.10 [app.example.com] /up
	// registry password from KAMAL_REGISTRY_PASSWORD
	// Kamal import of testdata/rails/config/deploy.yml
	// 2 keys not carried over:
	//   asset_path (testdata/rails/config/deploy.yml:52): asset bridging between releases is not supported; serve fingerprinted assets from a CDN or keep old ones in the image
	//   builder.cache (testdata/rails/config/deploy.yml:58): the build cache is the engine's own; Slipway sets no cache import or export
	// 2 not needed in Slipway:
	//   aliases.console (testdata/rails/config/deploy.yml:43): a Kamal CLI shortcut; the ready targets do it: mage exec "bin/rails console" -reuse (output only, no terminal: for a console, ssh to the host and docker exec -it); or write a Mage target calling Session.Exec
	//   aliases.logs (testdata/rails/config/deploy.yml:44): a Kamal CLI shortcut; the ready targets do it: mage logs -follow; or write a Mage target calling Session.Logs
	// notes:
	//   service "my_app" is "my-app": Slipway names are lower-case letters, digits and dashes
	//   image is ghcr.io/my-org/my_app: Kamal pushes to registry.server/image
	//   builder.arch amd64: Slipway builds for the platform each host's engine reports; an image.Dockerfile builds its engine's own platform only
	//   builder: the image is built from testdata/rails as it is on disk (Kamal builds a clean git clone unless builder.context is set); .dockerignore applies
	// secrets: DATABASE_URL KAMAL_REGISTRY_PASSWORD LITESTREAM_ACCESS_KEY_ID RAILS_MASTER_KEY SECRET_KEY_BASE from testdata/rails/.kamal/secrets
	//   set by commands Slipway does not run (export them or add a secret.Command source): RAILS_MASTER_KEY
	//   in no secrets file, read from the environment: LITESTREAM_SECRET_ACCESS_KEY
}

// A file over one of the import's limits is a *Error that names
// the limit, the file and the line, returned in microseconds whatever
// the file would expand to.
func ExampleError() {
	_, _, err := kamal.Load("testdata/laughs", "")
	fmt.Println(err)
	// Output:
	// testdata/laughs/config/deploy.yml:12: aliases and "<<" merge keys expand to more than 200000 values (MaxValues); a Kamal config has a few hundred: write the values out, or share less
}

// LoadAll reads a project with every destination: a base that is
// complete only with one imports, and ForDestination gives the App
// each destination deploys.
func ExampleLoadAll() {
	app, report, err := kamal.LoadAll("testdata/corpus/destinations-required")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("destinations:", report.Destinations)
	for _, name := range report.Destinations {
		d, _ := app.ForDestination(name)
		web := d.Roles["web"]
		fmt.Println(name, len(web.Servers), "web hosts behind", web.Proxy.Hosts)
	}
	// Output:
	// destinations: [production staging]
	// production 2 web hosts behind [tickets.example.com]
	// staging 1 web hosts behind [staging.tickets.example.com]
}

// An Importer evaluates the config's ERB with the environment it is
// given, here a map: the report names the variables read, never their
// values.
func ExampleImporter() {
	env := map[string]string{"IDIOM_SERVICE": "idioms", "IDIOM_WEB_HOST": "10.1.0.1", "IDIOM_GREETING": "hi"}
	im := kamal.Importer{LookupEnv: func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}}
	app, report, err := im.Load("testdata/corpus/erb-idioms", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(app.Service, app.Image, app.Roles["web"].Servers[0].Host, app.Roles["jobs"].Cmd)
	fmt.Println("read:", report.EnvRead)
	// Output:
	// idioms acme/idioms 10.1.0.1 [bin/jobs --queues default,mailers]
	// read: [IDIOM_DOMAIN IDIOM_GREETING IDIOM_IMAGE IDIOM_JOB_HOST IDIOM_MEMORY IDIOM_QUEUES IDIOM_SERVICE IDIOM_WEB_HOST IDIOM_WEB_HOST_2]
}
