package kamal_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/deploy/kamal"
	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/health"
)

// envMap is a LookupEnv over a map, so that a test never reads the
// machine's environment.
func envMap(m map[string]string) kamal.LookupEnv {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// corpusCase is one project of testdata/corpus: the shapes real Kamal
// projects take, written for these tests.
type corpusCase struct {
	dir string
	env map[string]string
	// destinations LoadAll finds; unsupported and notNeeded are the
	// report's key paths, in order.
	destinations, unsupported, notNeeded []string
	check                                func(t *testing.T, app deploy.App, r *kamal.Report)
}

var corpus = []corpusCase{
	{
		dir: "kamal-init",
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			assert.Equal(t, "notebook", app.Service)
			assert.Equal(t, "acme/notebook", app.Image, "Kamal's local registry is not part of the image name")
			assert.Nil(t, app.Registry, "the image travels over SSH, as Kamal's local registry carries it")
			assert.Equal(t, image.Dockerfile{Context: "testdata/corpus/kamal-init"}, app.Build, "builder.arch only: Kamal's default build of the Dockerfile")
			assert.Equal(t, []string{"notebook.example.com"}, app.Roles["web"].Proxy.Hosts)
			assert.True(t, app.Roles["web"].Proxy.TLS)
			assert.Equal(t, []string{"RBENV_VERSION"}, r.EnvRead, "ERB is evaluated in YAML comments too, as Ruby does")
		},
	},
	{
		dir:         "rails8",
		unsupported: []string{"asset_path"},
		notNeeded:   []string{"aliases.console", "aliases.shell", "aliases.logs", "aliases.dbc"},
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			assert.Equal(t, "recipe-box", app.Service)
			assert.Equal(t, []string{"bin/jobs"}, app.Roles["job"].Cmd)
			assert.Nil(t, app.Roles["job"].Proxy, "only the primary role is behind the proxy")
			assert.Equal(t, image.Dockerfile{Context: "testdata/corpus/rails8"}, app.Build)
			assert.Contains(t, r.NotNeeded[0].Reason, `mage exec "bin/rails console" -reuse`)
			assert.Equal(t, []string{"RAILS_MASTER_KEY"}, r.CommandSecrets)
		},
	},
	{
		dir: "erb-dotenv",
		env: map[string]string{"REGISTRY_USER": "ledgerco", "APP_HOST": "10.0.9.1", "APP_DOMAIN": "ledger.example.com"},
		// The dotenv line is dropped: its variables must be in the environment.
		notNeeded: []string{"<% %>"},
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			assert.Equal(t, "ledgerco/ledger", app.Image)
			assert.Equal(t, deploy.Hosts("10.0.9.1"), app.Roles["web"].Servers)
			assert.Equal(t, deploy.Hosts("10.0.9.1"), app.Roles["job"].Servers)
			assert.Equal(t, []string{"ledger.example.com"}, app.Roles["web"].Proxy.Hosts)
			assert.Equal(t, &deploy.Registry{Username: "ledgerco", PasswordSecret: "KAMAL_REGISTRY_PASSWORD"}, app.Registry)
			assert.Equal(t, []string{"APP_DOMAIN", "APP_HOST", "REGISTRY_USER"}, r.EnvRead)
			assert.Empty(t, r.EnvMissing)
			assert.Equal(t, 1, r.NotNeeded[0].Line)
		},
	},
	{
		dir: "erb-idioms",
		env: map[string]string{
			"IDIOM_SERVICE": "idioms", "IDIOM_WEB_HOST": "10.1.0.1", "IDIOM_QUEUES": "critical",
			"IDIOM_GREETING": "hello: world",
		},
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			assert.Equal(t, "idioms", app.Service, `ENV.fetch("X")`)
			assert.Equal(t, "acme/idioms", app.Image, `ENV.fetch("X", "default") takes the default`)
			assert.Equal(t, deploy.Hosts("10.1.0.1", "10.1.0.2"), app.Roles["web"].Servers, `ENV["X"], then ENV['X'] || 'default'`)
			jobs := app.Roles["jobs"]
			assert.Equal(t, deploy.Hosts("10.1.0.3"), jobs.Servers, `ENV.fetch("X") { "default" }`)
			assert.Equal(t, []string{"bin/jobs", "--queues", "critical"}, jobs.Cmd, `ENV["X"] || "default" takes the value when set`)
			assert.Equal(t, int64(1<<30), jobs.Options.Memory)
			assert.Equal(t, []string{"idioms.example.com"}, app.Roles["web"].Proxy.Hosts)
			assert.Equal(t, "hello: world", app.Env.Clear["GREETING"], "output is inserted as written, as Ruby's ERB does")
			assert.Equal(t, []string{"IDIOM_DOMAIN", "IDIOM_GREETING", "IDIOM_IMAGE", "IDIOM_JOB_HOST", "IDIOM_MEMORY", "IDIOM_QUEUES", "IDIOM_SERVICE", "IDIOM_WEB_HOST", "IDIOM_WEB_HOST_2"}, r.EnvRead)
		},
	},
	{
		dir: "erb-other",
		// Each key whose value is ERB output Slipway does not evaluate is
		// reported by file and line; the conditional keeps its first branch.
		unsupported: []string{"servers.web.hosts[1]", "servers.jobs.cmd", "registry.password", "builder.arch", "builder.args.REVISION", "env.clear.RUBY_VERSION", "<% if %>"},
		notNeeded:   []string{"<% %>", "<% %>"},
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			assert.Equal(t, deploy.Hosts("10.2.0.1"), app.Roles["web"].Servers)
			assert.Nil(t, app.Roles["jobs"].Cmd)
			assert.Equal(t, map[string]string{"SENTRY_ENVIRONMENT": "production"}, app.Env.Clear)
			assert.Equal(t, &deploy.Registry{Username: "AWS"}, app.Registry)
			lines := map[string]int{}
			for _, k := range r.Unsupported {
				lines[k.Path] = k.Line
			}
			assert.Equal(t, map[string]int{
				"servers.web.hosts[1]": 12, "servers.jobs.cmd": 16, "registry.password": 22, "builder.arch": 24,
				"builder.args.REVISION": 26, "env.clear.RUBY_VERSION": 29, "<% if %>": 30,
			}, lines, "lines are those of the file as written")
			assert.Equal(t, []int{1, 5}, []int{r.NotNeeded[0].Line, r.NotNeeded[1].Line})
			assert.NotContains(t, r.String(), "get-login-password", "the Ruby is never quoted")
		},
	},
	{
		dir:          "destinations-required",
		destinations: []string{"production", "staging"},
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			assert.Empty(t, app.Roles["web"].Servers, "the base has no hosts: they are the destinations'")
			prod, err := app.ForDestination("production")
			require.NoError(t, err)
			assert.Equal(t, "production", prod.Destination)
			assert.Equal(t, deploy.Hosts("10.3.1.10", "10.3.1.11"), prod.Roles["web"].Servers)
			assert.Equal(t, deploy.Hosts("10.3.1.20"), prod.Roles["worker"].Servers)
			assert.Equal(t, []string{"tickets.example.com"}, prod.Roles["web"].Proxy.Hosts)
			assert.Equal(t, deploy.Boot{Limit: 1, Wait: 5 * time.Second}, prod.Boot)
			assert.Equal(t, &deploy.Proxy{
				Hosts: []string{"tickets.example.com"}, AppPort: 3000,
				Health:         health.HTTP{Path: "/up", Interval: 3 * time.Second},
				BufferRequests: true, BufferResponses: true,
			}, prod.Roles["web"].Proxy, "the base's proxy settings under the destination's")
			staging, err := app.ForDestination("staging")
			require.NoError(t, err)
			assert.Equal(t, "staging", staging.Env.Clear["RAILS_ENV"])
			assert.Equal(t, "production", prod.Destination)
			assert.NotEqual(t, prod.Secrets, staging.Secrets, "each destination reads its own secrets file")
			assert.Empty(t, r.EnvSecrets, "every secret is in a destination's file")
			assert.Equal(t, []string{"RAILS_MASTER_KEY"}, r.CommandSecrets)
		},
	},
	{
		dir:          "destinations-partial",
		destinations: []string{"production", "review"},
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			assert.NoError(t, app.Validate(), "this base deploys on its own too")
			prod, err := app.ForDestination("production")
			require.NoError(t, err)
			assert.Equal(t, []string{"bin/mailer"}, prod.Roles["mailer"].Cmd, "a destination adds a role")
			assert.Equal(t, deploy.Hosts("10.4.1.10"), prod.Roles["web"].Servers, "a list replaces, as Kamal merges")
			review, err := app.ForDestination("review")
			require.NoError(t, err)
			assert.Equal(t, "forum-review", review.Service)
			assert.Contains(t, review.Destinations, "review", "the overlays stay with the copy")
		},
	},
	{
		dir: "accessories",
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			db := app.Accessories["db"]
			assert.Equal(t, []string{"shelf-db-data:/var/lib/postgresql/data"}, db.Volumes, "a Kamal directory is a named volume")
			assert.Equal(t, "CREATE EXTENSION IF NOT EXISTS pg_trgm;\n", db.Files["/docker-entrypoint-initdb.d/setup.sql"])
			redis := app.Accessories["redis"]
			assert.Equal(t, []string{"redis-server", "--save", "", "--appendonly", "no"}, redis.Cmd, "an empty argument, as the shell passes it")
			assert.Equal(t, []string{"srv-redis:/data"}, redis.Volumes)
			search := app.Accessories["search"]
			assert.Equal(t, "single-node", search.Env.Clear["discovery.type"], "Docker passes dotted names through")
			assert.Equal(t, int64(1<<30), search.Options.Memory)
			assert.Equal(t, []string{"replicate"}, app.Accessories["litestream"].Cmd)
			assert.Contains(t, strings.Join(r.Notes, "\n"), "the host directory ~/shelf-db/data is the named volume shelf-db-data, which starts empty")
		},
	},
	{
		dir:         "builder-full",
		unsupported: []string{"builder.secrets", "builder.cache", "builder.local", "builder.driver"},
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			assert.Equal(t, image.Dockerfile{
				Context: "testdata/corpus/builder-full", File: "docker/Dockerfile.production", Target: "release",
				Args: map[string]string{"RUBY_VERSION": "3.4.1", "NODE_MAJOR": "22"},
				Host: &ssh.Config{Host: "10.6.0.99", Port: 2222, User: "builder"},
			}, app.Build)
		},
	},
	{
		dir:         "kamal-accepts",
		unsupported: []string{"volumes[1]"},
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			assert.Equal(t, int64(500<<20), app.Roles["web"].Options.Memory, "500MiB, as Docker reads it")
			assert.Equal(t, int64(1<<30), app.Roles["jobs"].Options.Memory)
			assert.Equal(t, []string{"bin/jobs", "--queue", ""}, app.Roles["jobs"].Cmd)
			assert.Equal(t, []string{"RAILS_MASTER_KEY"}, app.Env.Secret, "listed once; REDIS_URL moves to the roles that keep it")
			assert.Equal(t, []string{"REDIS_URL"}, app.Roles["web"].Env.Secret)
			assert.Equal(t, []string{"REDIS_URL"}, app.Roles["jobs"].Env.Secret)
			assert.Equal(t, deploy.Env{Clear: map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0"}}, app.Roles["logdaemon"].Env)
			assert.Equal(t, []string{"var-lib-meter-storage:/rails/storage"}, app.Volumes)
			assert.Equal(t, []string{"KAMAL_REGISTRY_PASSWORD", "RAILS_MASTER_KEY", "REDIS_URL", "SECRETS"}, r.SecretNames, "shell lines are skipped, the rest is read")
			assert.Contains(t, r.Notes, "servers.web.options.memory 500MiB is 524288000 bytes (ContainerOptions.Memory), as Docker reads it")
			assert.Contains(t, strings.Join(r.Notes, "\n"), "secrets:2, testdata/corpus/kamal-accepts/.kamal/secrets:7 are no NAME=value")
		},
	},
	{
		dir:          "kamal-docs",
		destinations: []string{"production"},
		// What is left: settings the converge issue adds (logging,
		// readiness_delay, stop_timeout, forward_headers, ssl_redirect),
		// per-host env tags, and Kamal's own machinery.
		unsupported: []string{
			"servers.web.hosts[1]", "asset_path", "hooks_path", "hooks_output", "error_pages_path",
			"minimum_version", "readiness_delay", "stop_timeout", "run_directory",
			"proxy.forward_headers", "proxy.ssl_redirect", "sshkit.max_concurrent_starts",
			"logging.driver", "logging.options", "output.file",
		},
		notNeeded: []string{"aliases.uname", "aliases.tail"},
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			prod, err := app.ForDestination("production")
			require.NoError(t, err)
			assert.Equal(t, "workers", prod.PrimaryRole)
			assert.Equal(t, 3, prod.Retain)
			assert.Equal(t, deploy.Boot{LimitPercent: 25, Wait: 2 * time.Second}, prod.Boot)
			assert.Equal(t, map[string]string{"team": "platform"}, prod.Labels)
			assert.Equal(t, []string{"srv-orbit-uploads:/app/uploads:ro"}, prod.Volumes)
			web := prod.Roles["web"]
			assert.Equal(t, deploy.Server{Host: "10.8.0.10", User: "deploy", Port: 2222, KeyFiles: web.Servers[0].KeyFiles}, web.Servers[0])
			assert.Nil(t, web.Proxy, "Kamal puts the primary role behind the proxy, here workers")
			workers := prod.Roles["workers"]
			assert.Equal(t, 20*time.Second, workers.Proxy.DeployTimeout)
			assert.Equal(t, 15*time.Second, workers.Proxy.DrainTimeout)
			assert.Equal(t, 30*time.Second, workers.Proxy.ResponseTimeout)
			assert.Equal(t, 4000, workers.Proxy.AppPort)
			assert.False(t, workers.Proxy.BufferResponses)
			assert.Equal(t, []string{"workers"}, prod.Accessories["cache"].Roles)
			assert.Equal(t, image.Dockerfile{Context: "testdata/corpus/kamal-docs"}, prod.Build)
			assert.Contains(t, r.NotNeeded[0].Reason, `mage exec "uname -a" -role web`)
		},
	},
	{
		dir:         "kamal1-traefik",
		unsupported: []string{"registry.username", "healthcheck", "traefik"},
		check: func(t *testing.T, app deploy.App, r *kamal.Report) {
			assert.Equal(t, map[string]string{"traefik.http.routers.pager.rule": "Host(`pager.example.com`)"}, app.Roles["web"].Labels)
		},
	},
}

// Every project of the corpus imports with LoadAll, its base and each
// destination valid, with the keys it cannot carry over reported.
func TestCorpusImports(t *testing.T) {
	for _, c := range corpus {
		t.Run(c.dir, func(t *testing.T) {
			app, r, err := kamal.Importer{LookupEnv: envMap(c.env)}.LoadAll(filepath.Join("testdata/corpus", c.dir))
			require.NoError(t, err, "report:\n%v", r)
			assert.Equal(t, c.destinations, r.Destinations)
			assert.Equal(t, c.unsupported, nilIfEmpty(r.Paths()), "report:\n%v", r)
			assert.Equal(t, c.notNeeded, nilIfEmpty(keyPaths(r.NotNeeded)), "report:\n%v", r)
			assert.Empty(t, r.EnvMissing)
			for _, d := range c.destinations {
				one, _, err := kamal.Importer{LookupEnv: envMap(c.env)}.Load(filepath.Join("testdata/corpus", c.dir), d)
				require.NoError(t, err, d)
				via, err := app.ForDestination(d)
				require.NoError(t, err)
				via.Destinations, via.Secrets, one.Secrets = nil, nil, nil
				assert.Equal(t, one, via, "ForDestination(%s) is what Load reads for it", d)
			}
			if c.check != nil {
				c.check(t, app, r)
			}
		})
	}
}

// The table covers every project in testdata/corpus.
func TestCorpusCoversEveryProject(t *testing.T) {
	dirs, err := filepath.Glob("testdata/corpus/*")
	require.NoError(t, err)
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(d))
	}
	var covered []string
	for _, c := range corpus {
		covered = append(covered, c.dir)
	}
	slices.Sort(covered)
	assert.Equal(t, names, covered)
}

// An ENV variable the ERB reads with no default and no value leaves its
// field empty; the validation error then names the variable, and the
// rest imports.
func TestLoadNamesUnsetEnvironmentVariables(t *testing.T) {
	_, r, err := kamal.Importer{LookupEnv: envMap(nil)}.LoadAll("testdata/corpus/erb-dotenv")
	require.Error(t, err)
	envErr, ok := errors.AsType[*kamal.EnvError](err)
	require.True(t, ok, "%T: %v", err, err)
	assert.Equal(t, []string{"APP_DOMAIN", "APP_HOST", "REGISTRY_USER"}, envErr.Names)
	_, ok = errors.AsType[*deploy.ValidationError](err)
	assert.True(t, ok, "it unwraps to the App's validation error")
	assert.Contains(t, err.Error(), "ERB in the config reads ENV APP_DOMAIN, APP_HOST, REGISTRY_USER, not set here")
	assert.Contains(t, err.Error(), "roles.web.servers[0].host: must not be empty")
	assert.Equal(t, []string{"APP_DOMAIN", "APP_HOST", "REGISTRY_USER"}, r.EnvMissing)
	assert.Contains(t, r.String(), "not set, so their values are empty: APP_DOMAIN APP_HOST REGISTRY_USER")
}

// A destination's problems are its own, prefixed with its name; the
// base alone is not checked when destinations complete it.
func TestLoadAllValidatesEachDestination(t *testing.T) {
	dir := kamalProject(t, map[string]string{
		"config/deploy.yml":            "service: hello\nimage: acme/hello\nrequire_destination: true\nservers:\n  web:\n    cmd: bin/web\n",
		"config/deploy.staging.yml":    "servers:\n  web:\n    hosts: [10.0.0.1]\n",
		"config/deploy.production.yml": "servers:\n  web:\n    hosts: [\"10.0.0.1:99999\"]\n",
	})
	_, r, err := kamal.LoadAll(dir)
	ve, ok := errors.AsType[*deploy.ValidationError](err)
	require.True(t, ok, "%T: %v", err, err)
	assert.Equal(t, []deploy.Problem{{
		Field: "destinations.production.roles.web.servers[0].port", Message: "must be between 1 and 65535, or 0 for 22, got 99999",
	}}, ve.Problems)
	assert.Equal(t, []string{"production", "staging"}, r.Destinations)

	_, _, err = kamal.Load(dir, "")
	require.ErrorContains(t, err, "the config requires a destination; pass one of: production, staging, or read them all with LoadAll")
}

// A value the environment gives is part of the App, never of the
// report or an error, on success and on failure.
func TestERBNeverPrintsAValue(t *testing.T) {
	const password = "hunter2-correct-horse"
	dir := deployYML(t, `
service: hello
image: acme/hello
servers: [<%= ENV["KAMAL_TEST_HOST"] %>]
registry:
  username: acme
  password: <%= ENV["KAMAL_TEST_PASSWORD"] %>
`)
	for _, host := range []string{"10.0.0.1", "not a host"} {
		_, r, err := kamal.Importer{LookupEnv: envMap(map[string]string{"KAMAL_TEST_PASSWORD": password, "KAMAL_TEST_HOST": host})}.Load(dir, "")
		require.NotNil(t, r)
		assert.NotContains(t, r.String(), password)
		assert.Equal(t, []string{"registry.password"}, r.Paths(), "a password written in the config is reported, not shown")
		if err != nil {
			assert.NotContains(t, err.Error(), password)
		}
	}
}
