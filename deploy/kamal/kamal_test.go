package kamal_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	"github.com/slipwayhq/slipway/secret"
)

// kamalProject writes files (path -> content) into a fresh project
// directory and returns it.
func kamalProject(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	}
	return dir
}

// deployYML is a project holding only config/deploy.yml.
func deployYML(t testing.TB, yml string) string {
	t.Helper()
	return kamalProject(t, map[string]string{"config/deploy.yml": yml})
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name        string
		path        func(t *testing.T) string
		destination string
		// paths are the report's unsupported keys, in order.
		paths []string
		check func(t *testing.T, app deploy.App, r *kamal.Report)
	}{
		{
			name:  "reads the Rails default config of deployment-posture.md",
			path:  func(*testing.T) string { return "testdata/rails" },
			paths: []string{"asset_path", "builder.cache"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, "my-app", app.Service)
				assert.Equal(t, image.Dockerfile{Context: "testdata/rails"}, app.Build, "Kamal builds the project's Dockerfile")
				assert.Equal(t, []string{"aliases.console", "aliases.logs"}, keyPaths(r.NotNeeded), "aliases are not needed: Mage targets do their work")
				assert.Equal(t, "ghcr.io/my-org/my_app", app.Image)
				assert.Equal(t, &deploy.Registry{Username: "my-org", PasswordSecret: "KAMAL_REGISTRY_PASSWORD"}, app.Registry)
				web := app.Roles["web"]
				assert.Equal(t, deploy.Hosts("203.0.113.10"), web.Servers)
				assert.Equal(t, &deploy.Proxy{
					Hosts: []string{"app.example.com"}, AppPort: 80, TLS: true,
					Health:         health.HTTP{Path: "/up"},
					BufferRequests: true, BufferResponses: true,
				}, web.Proxy)
				assert.Equal(t, map[string]string{
					"RAILS_ENV": "production", "RAILS_LOG_TO_STDOUT": "1",
					"RAILS_SERVE_STATIC_FILES": "true", "SOLID_QUEUE_IN_PUMA": "true",
				}, app.Env.Clear)
				assert.Equal(t, []string{"RAILS_MASTER_KEY", "SECRET_KEY_BASE", "DATABASE_URL", "LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY"}, app.Env.Secret)
				assert.Equal(t, []string{"my_app_storage:/rails/storage"}, app.Volumes)
				assert.Equal(t, []string{"DATABASE_URL", "KAMAL_REGISTRY_PASSWORD", "LITESTREAM_ACCESS_KEY_ID", "RAILS_MASTER_KEY", "SECRET_KEY_BASE"}, r.SecretNames)
				assert.Equal(t, []string{"RAILS_MASTER_KEY"}, r.CommandSecrets)
				assert.Equal(t, []string{"LITESTREAM_SECRET_ACCESS_KEY"}, r.EnvSecrets)
				assert.Contains(t, r.Notes, `service "my_app" is "my-app": Slipway names are lower-case letters, digits and dashes`)
			},
		},
		{
			name: "reads roles, accessories, anchors and merge keys",
			path: func(*testing.T) string { return "testdata/multirole" },
			paths: []string{
				"servers.web.options.ulimit",
				"proxy.buffering.max_request_body",
				"registry.username",
				"ssh.log_level", "minimum_version", "hooks_path",
			},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, "shop", app.Service)
				assert.Equal(t, "registry.example.com/acme/shop", app.Image, "the tag is split off")
				assert.Equal(t, &deploy.Registry{PasswordSecret: "REGISTRY_PASSWORD"}, app.Registry)
				assert.Equal(t, "", app.PrimaryRole, "web is the default")
				assert.Equal(t, map[string]string{"owner": "platform"}, app.Labels)
				assert.Equal(t, deploy.Boot{LimitPercent: 25, Wait: 2 * time.Second}, app.Boot)
				assert.Equal(t, 3, app.Retain)
				assert.Equal(t, []string{"shop_storage:/rails/storage", "var-log-shop:/rails/log"}, app.Volumes, "the host path is a named volume, with a note")
				assert.Equal(t, image.Dockerfile{
					Context: "testdata/multirole", Args: map[string]string{"RUBY_VERSION": "3.4.1"},
					Host: &ssh.Config{Host: "builder.example.com", User: "docker"},
				}, app.Build, "builder.remote builds on that host's engine")
				assert.Equal(t, []string{"aliases.console"}, keyPaths(r.NotNeeded))

				jump := &deploy.Server{Host: "bastion.example.com", User: "root"}
				srv := func(host string) deploy.Server {
					return deploy.Server{Host: host, User: "deploy", Port: 2222, Jump: jump}
				}
				web := app.Roles["web"]
				assert.Equal(t, []deploy.Server{srv("10.0.1.10"), srv("10.0.1.11"), srv("10.0.1.12")}, web.Servers, "a tag with no env gives a host none")
				assert.Equal(t, deploy.ContainerOptions{Memory: 512 << 20, ExtraHosts: []string{"db.internal:10.0.2.5"}}, web.Options)
				assert.Equal(t, map[string]string{"tier": "frontend"}, web.Labels)
				assert.Equal(t, deploy.Env{Clear: map[string]string{"WEB_CONCURRENCY": "4"}}, web.Env)
				assert.Equal(t, &deploy.Proxy{
					Hosts: []string{"shop.example.com"}, AppPort: 3000,
					Health:         health.HTTP{Path: "/up", Interval: 3 * time.Second, Timeout: 4 * time.Second},
					BufferRequests: true, BufferResponses: false,
					DeployTimeout: 45 * time.Second, DrainTimeout: 20 * time.Second,
					ForwardHeaders: deploy.Bool(true),
				}, web.Proxy)

				jobs := app.Roles["jobs"]
				assert.Equal(t, []string{"bin/jobs", "--queues", "default,mailers"}, jobs.Cmd)
				assert.Equal(t, deploy.ContainerOptions{Memory: 1 << 30, CPUs: 2, Restart: "on-failure:5"}, jobs.Options, "from the merge key")
				assert.Equal(t, map[string]string{"team": "jobs"}, jobs.Labels)
				assert.Equal(t, []string{"REDIS_URL"}, jobs.Env.Secret)
				assert.Equal(t, 20*time.Second, jobs.StopTimeout, "a role without the proxy stops with drain_timeout, as Kamal's docker stop -t")
				assert.Nil(t, jobs.Proxy, "only the primary role is behind the proxy by default")

				api := app.Roles["api"]
				assert.Equal(t, []string{"bin/rails", "server", "-p", "3001"}, api.Cmd)
				assert.Equal(t, &deploy.Proxy{
					Hosts: []string{"api.shop.example.com"}, AppPort: 3001,
					Health:          health.HTTP{Path: "/api/up", Interval: 2 * time.Second, Timeout: 4 * time.Second},
					ResponseTimeout: time.Minute,
					BufferRequests:  true, BufferResponses: false,
					DeployTimeout: 45 * time.Second, DrainTimeout: 20 * time.Second,
					ForwardHeaders: deploy.Bool(true),
				}, api.Proxy, "the role's proxy settings over the root's")
				assert.Equal(t, 45*time.Second, api.StopTimeout)

				assert.Equal(t, []string{"RAILS_MASTER_KEY", "DB_PASSWORD"}, app.Env.Secret, "NAME:ALIAS gives the container NAME")
				assert.Equal(t, deploy.Accessory{
					Image:   "mysql:8.0",
					Servers: []deploy.Server{srv("10.0.2.5")},
					Env:     deploy.Env{Clear: map[string]string{"MYSQL_ROOT_HOST": "%"}, Secret: []string{"MYSQL_ROOT_PASSWORD"}},
					Ports:   []string{"127.0.0.1:3306:3306"},
					Files:   map[string]string{"/etc/mysql/conf.d/my.cnf": "[mysqld]\nmax_connections = 200\n"},
					Options: deploy.ContainerOptions{Memory: 2 << 30},
					Volumes: []string{"shop-db-data:/var/lib/mysql"},
				}, app.Accessories["db"], "files are read from the project and copied into the container; directories are named volumes")
				assert.Equal(t, deploy.Accessory{
					Image: "valkey/valkey:8", Roles: []string{"jobs"},
					Cmd:     []string{"valkey-server", "--appendonly", "yes"},
					Volumes: []string{"redis_data:/data"}, Ports: []string{"6379:6379"},
				}, app.Accessories["redis"])
				assert.Equal(t, deploy.Accessory{
					Image: "litestream/litestream:0.5", Servers: []deploy.Server{srv("10.0.1.11"), srv("10.0.1.12")},
					Cmd: []string{"replicate"}, Volumes: []string{"shop_storage:/rails/storage"},
					Labels: map[string]string{"purpose": "replication"},
				}, app.Accessories["litestream"], "tag: edge is the hosts tagged edge")

				assert.Equal(t, []string{"MAIN_DB_PASSWORD", "RAILS_MASTER_KEY"}, r.CommandSecrets)
				assert.Empty(t, r.EnvSecrets)
				assert.Contains(t, r.Notes, "hook scripts in testdata/multirole/.kamal/hooks are not run: post-deploy; port them to App.Hooks")
			},
		},
		{
			name:        "merges the staging overlay over the base",
			path:        func(*testing.T) string { return "testdata/destinations" },
			destination: "staging",
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, "staging", app.Destination)
				assert.Equal(t, []string{"testdata/destinations/config/deploy.yml", "testdata/destinations/config/deploy.staging.yml"}, r.Files)
				host := []deploy.Server{{Host: "staging-1.hello.internal", User: "app"}}
				assert.Equal(t, host, app.Roles["web"].Servers)
				assert.Equal(t, host, app.Roles["worker"].Servers)
				assert.Equal(t, []string{"/app/hello", "worker"}, app.Roles["worker"].Cmd)
				assert.Nil(t, app.Roles["worker"].Proxy)
				assert.Equal(t, &deploy.Proxy{
					Hosts: []string{"staging.hello.example.com"}, AppPort: 8080, TLS: true,
					Health:         health.HTTP{Path: "/healthz", Interval: 5 * time.Second},
					BufferRequests: true, BufferResponses: true,
				}, app.Roles["web"].Proxy, "healthcheck.path from the base, interval from the overlay")
				assert.Equal(t, map[string]string{"LOG_LEVEL": "debug", "STAGING": "yes"}, app.Env.Clear)
				assert.Equal(t, []string{"DATABASE_URL", "SESSION_SECRET"}, app.Env.Secret)
				assert.Equal(t, 2, app.Retain)
				assert.Equal(t, []string{
					"testdata/destinations/.kamal/secrets-common",
					"testdata/destinations/.kamal/secrets.staging",
				}, r.SecretFiles, ".kamal/secrets is not read for a destination")
			},
		},
		{
			name:        "replaces lists from the production overlay",
			path:        func(*testing.T) string { return "testdata/destinations" },
			destination: "production",
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, []deploy.Server{{Host: "203.0.113.10", User: "app"}, {Host: "203.0.113.11", User: "app"}}, app.Roles["web"].Servers)
				assert.Equal(t, []string{"hello.example.com", "www.hello.example.com"}, app.Roles["web"].Proxy.Hosts)
				assert.Equal(t, deploy.Boot{Limit: 1, Wait: 10 * time.Second}, app.Boot)
				assert.Equal(t, map[string]string{"LOG_LEVEL": "info"}, app.Env.Clear)
				assert.Equal(t, []string{"testdata/destinations/.kamal/secrets-common"}, r.SecretFiles)
			},
		},
		{
			name: "takes servers as a list of tagged hosts for the web role",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: acme/hello
servers:
  - 172.0.0.1: canary
  - 172.0.0.2: [canary, eu]
  - 172.0.0.3
env:
  clear:
    REGION: us
  tags:
    canary:
      CANARY: "1"
      REGION: canary
    eu:
      clear:
        REGION: eu
      secret:
        - EU_TOKEN
`)
			},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				require.Len(t, app.Roles, 1)
				web := app.Roles["web"]
				assert.Equal(t, []deploy.Server{
					{Host: "172.0.0.1", Env: deploy.Env{Clear: map[string]string{"CANARY": "1", "REGION": "canary"}}},
					{Host: "172.0.0.2", Env: deploy.Env{Clear: map[string]string{"CANARY": "1", "REGION": "eu"}, Secret: []string{"EU_TOKEN"}}},
					{Host: "172.0.0.3"},
				}, web.Servers, "each tagged host has its tags' env, a later tag's over an earlier one's")
				assert.Equal(t, deploy.Env{}, web.Env)
				assert.Equal(t, &deploy.Proxy{BufferRequests: true, BufferResponses: true}, web.Proxy, "Kamal's proxy defaults")
			},
		},
		{
			name: "runs a worker-only app with primary_role and proxy false",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: crawler
image: acme/crawler
primary_role: workers
servers:
  workers:
    hosts: [10.0.0.5, 10.0.0.6]
    cmd: ./crawl --forever
    proxy: false
deploy_timeout: 20
stop_timeout: 60
readiness_delay: 5
`)
			},
			paths: []string{"deploy_timeout"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, "workers", app.PrimaryRole)
				assert.Equal(t, time.Minute, app.Roles["workers"].StopTimeout)
				assert.Equal(t, health.Running{For: 5 * time.Second}, app.Roles["workers"].Health, "readiness_delay is how long a worker must keep running")
				assert.Nil(t, app.Roles["workers"].Proxy)
				assert.Equal(t, []string{"./crawl", "--forever"}, app.Roles["workers"].Cmd)
			},
		},
		{
			name: "puts a second role behind the proxy with proxy true",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: acme/hello
servers:
  web:
    hosts: [10.0.0.1]
  admin:
    hosts: [10.0.0.2]
    proxy: true
proxy:
  host: hello.example.com
  response_timeout: 15
`)
			},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				want := &deploy.Proxy{Hosts: []string{"hello.example.com"}, ResponseTimeout: 15 * time.Second, BufferRequests: true, BufferResponses: true}
				assert.Equal(t, want, app.Roles["web"].Proxy)
				assert.Equal(t, want, app.Roles["admin"].Proxy)
			},
		},
		{
			name: "reads the proxy's run ports, image, options and buffering",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: acme/hello
servers: [10.0.0.1]
proxy:
  hosts: [a.example.com, b.example.com]
  ssl: true
  ssl_redirect: false
  buffering:
    requests: false
    responses: false
  run:
    http_port: 8080
    https_port: 8443
    version: v0.9.0
    metrics_port: 9090
    debug: true
    log_max_size: 20m
    bind_ips: [10.0.0.1]
    publish: false
`)
			},
			paths: []string{"proxy.run.publish"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, &deploy.Proxy{
					Hosts: []string{"a.example.com", "b.example.com"}, TLS: true, SSLRedirect: deploy.Bool(false),
					HTTPPort: 8080, HTTPSPort: 8443, Image: "basecamp/kamal-proxy:v0.9.0",
					MetricsPort: 9090, Debug: true, LogMaxSize: "20m", BindIPs: []string{"10.0.0.1"},
				}, app.Roles["web"].Proxy)
			},
		},
		{
			name: "makes accessory directories named volumes, in either of Kamal's forms",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: shop
image: acme/shop
servers: [10.0.0.1]
accessories:
  db:
    image: mysql:8.0
    host: 10.0.0.2
    directories:
      - mysql-logs:/var/log/mysql:z
      - local: mysql-data
        remote: /var/lib/mysql
        mode: "0750"
        owner: "mysql:mysql"
        options: "ro,Z"
`)
			},
			paths: []string{"accessories.db.directories[1].mode", "accessories.db.directories[1].owner"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, []string{"shop-db-mysql-logs:/var/log/mysql", "shop-db-mysql-data:/var/lib/mysql:ro"}, app.Accessories["db"].Volumes)
				assert.Contains(t, strings.Join(r.Notes, "\n"), "the SELinux label option Z is dropped")
			},
		},
		{
			name: "reads a custom certificate, path prefixes, logging and stop timeouts",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: acme/hello
servers:
  web: [10.0.0.1, 10.0.0.2]
  api:
    hosts: [10.0.0.3]
    proxy:
      path_prefix: /api
      strip_path_prefix: false
      ssl: false
      forward_headers: true
    logging:
      options:
        max-file: "3"
    stop_timeout: 90
  jobs:
    hosts: [10.0.0.4]
    logging:
      driver: journald
proxy:
  host: hello.example.com
  ssl:
    certificate_pem: CERTIFICATE_PEM
    private_key_pem: PRIVATE_KEY_PEM
logging:
  driver: json-file
  options:
    max-size: 100m
drain_timeout: 12
`)
			},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, deploy.Logging{Driver: "json-file", Options: map[string]string{"max-size": "100m"}}, app.Logging)
				web, api, jobs := app.Roles["web"], app.Roles["api"], app.Roles["jobs"]
				assert.Equal(t, &deploy.Proxy{
					Hosts: []string{"hello.example.com"}, TLS: true, TLSCertificate: "CERTIFICATE_PEM", TLSPrivateKey: "PRIVATE_KEY_PEM",
					BufferRequests: true, BufferResponses: true, DrainTimeout: 12 * time.Second,
				}, web.Proxy, "a custom certificate lets two web hosts serve HTTPS")
				assert.Equal(t, &deploy.Proxy{
					Hosts: []string{"hello.example.com"}, PathPrefix: "/api", StripPathPrefix: deploy.Bool(false), ForwardHeaders: deploy.Bool(true),
					BufferRequests: true, BufferResponses: true, DrainTimeout: 12 * time.Second,
				}, api.Proxy)
				assert.Equal(t, deploy.Logging{Options: map[string]string{"max-file": "3"}}, api.Logging)
				assert.Equal(t, deploy.Logging{Driver: "journald"}, jobs.Logging)
				assert.Contains(t, r.Notes, "role jobs logs to journald: Slipway gives it none of logging.options, which belong to the root's driver (Kamal would pass them on to journald too)")
				assert.Equal(t, 90*time.Second, api.StopTimeout)
				assert.Zero(t, web.StopTimeout, "a role behind the proxy drains there first")
				assert.Equal(t, 12*time.Second, jobs.StopTimeout, "a role without the proxy stops with drain_timeout, as Kamal's docker stop -t")
				assert.Equal(t, []string{"CERTIFICATE_PEM", "PRIVATE_KEY_PEM"}, r.EnvSecrets, "the certificate's secrets are read from the environment")
			},
		},
		{
			name: "reads ssh keys and a bastion with its own user and port",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: acme/hello
servers:
  web: [10.0.0.1, "ops@10.0.0.2:2200"]
ssh:
  user: app
  proxy: jump@bastion.example.com:2222
  keys: [/etc/slipway/id_ed25519]
  key_data: [SSH_PRIVATE_KEY]
  proxy_command: ssh -W %h:%p bastion
`)
			},
			paths: []string{"ssh.key_data", "ssh.proxy_command"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				jump := &deploy.Server{Host: "bastion.example.com", User: "jump", Port: 2222}
				keys := []string{"/etc/slipway/id_ed25519"}
				assert.Equal(t, []deploy.Server{
					{Host: "10.0.0.1", User: "app", Jump: jump, KeyFiles: keys},
					{Host: "10.0.0.2", User: "ops", Port: 2200, Jump: jump, KeyFiles: keys},
				}, app.Roles["web"].Servers)
			},
		},
		{
			name: "ignores x- extensions and reports keys Kamal does not know",
			path: func(t *testing.T) string {
				return deployYML(t, `
x-defaults: &defaults
  image: acme/hello
service: hello
<<: *defaults
servers:
  web:
    hosts: [10.0.0.1]
    x-owner: platform
    replicas: 3
proxy:
  x-comment: kamal ignores this
  app_port: 3000
helthcheck:
  path: /up
`)
			},
			paths: []string{"servers.web.replicas", "helthcheck"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, "acme/hello", app.Image, "from the merge key")
				assert.Equal(t, 3000, app.Roles["web"].Proxy.AppPort)
				assert.Equal(t, "is not a Kamal key Slipway knows; Kamal would reject it too", r.Unsupported[1].Reason)
			},
		},
		{
			name: "evaluates ERB's ENV and reports the rest by file and line",
			path: func(t *testing.T) string {
				t.Setenv("EXTRA_HOST", "10.0.0.2")
				return deployYML(t, `
service: hello
image: acme/hello
servers:
  web:
    - 10.0.0.1
    - <%= ENV["EXTRA_HOST"] %>
registry:
  username: AWS
  password: <%= %x(aws ecr get-login-password) %>
env:
  clear:
    GIT_SHA: <%= %x(git rev-parse HEAD).strip %>
`)
			},
			paths: []string{"registry.password", "env.clear.GIT_SHA"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, deploy.Hosts("10.0.0.1", "10.0.0.2"), app.Roles["web"].Servers)
				assert.Equal(t, &deploy.Registry{Username: "AWS"}, app.Registry)
				assert.Empty(t, app.Env.Clear)
				assert.Equal(t, []string{"EXTRA_HOST"}, r.EnvRead)
				assert.Equal(t, 10, r.Unsupported[0].Line)
				assert.Contains(t, r.Unsupported[0].Reason, "ERB expression (line 10) that Slipway does not evaluate")
				assert.NotContains(t, r.String(), "aws ecr", "the Ruby code is never quoted: it may hold a secret")
			},
		},
		{
			name: "keeps named volumes and reports host paths and options",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: acme/hello
servers: [10.0.0.1]
volumes:
  - data:/data
  - cache:/cache:ro
  - ./storage:/rails/storage
  - /etc/ssl/certs:/certs:ro
  - logs:/logs:z
  - /etc/app/paypal.yml:/rails/config/paypal.yml:ro
`)
			},
			paths: []string{"volumes[4]", "volumes[5]"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, []string{"data:/data", "cache:/cache:ro", "storage:/rails/storage", "etc-ssl-certs:/certs:ro"}, app.Volumes,
					"a host directory becomes a named volume of its own")
				assert.Contains(t, r.Notes, fmt.Sprintf("volumes[2] (%s:8): a host path ./storage is the named volume storage, which starts empty: "+
					"copy the data in before the first deploy (docker run --rm -v ./storage:/from -v storage:/to busybox cp -a /from/. /to/)", r.Files[0]))
				assert.Contains(t, r.Unsupported[1].Reason, "mounts the host file /etc/app/paypal.yml")
			},
		},
		{
			name: "wraps a command with shell syntax in sh -c and says so",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: acme/hello
servers:
  web: [10.0.0.1]
  cron:
    hosts: [10.0.0.1]
    cmd: bash -c "(env && cat /etc/cron.d/jobs) | crontab - && cron -f"
  jobs:
    hosts: [10.0.0.1]
    cmd: bin/rails db:prepare && bin/jobs
  sidekiq:
    hosts: [10.0.0.1]
    cmd: bundle exec sidekiq -C 'config/sidekiq.yml'
`)
			},
			paths: []string{"servers.jobs.cmd"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, []string{"bash", "-c", "(env && cat /etc/cron.d/jobs) | crontab - && cron -f"}, app.Roles["cron"].Cmd, "quotes keep the shell syntax inside one argument")
				assert.Equal(t, []string{"sh", "-c", "bin/rails db:prepare && bin/jobs"}, app.Roles["jobs"].Cmd)
				assert.Equal(t, []string{"bundle", "exec", "sidekiq", "-C", "config/sidekiq.yml"}, app.Roles["sidekiq"].Cmd)
			},
		},
		{
			name: "leaves out a secret name aliased two ways",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: acme/hello
servers: [10.0.0.1]
env:
  secret:
    - DB_PASSWORD:MAIN_DB_PASSWORD
accessories:
  main-db:
    image: postgres:17
    host: 10.0.0.9
    env:
      secret: [POSTGRES_PASSWORD:MAIN_DB_PASSWORD]
  replica_db:
    image: postgres:17
    host: 10.0.0.10
    env:
      secret: [DB_PASSWORD:SECONDARY_DB_PASSWORD]
`)
			},
			paths: []string{"accessories.replica_db.env.secret[0]"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, []string{"DB_PASSWORD"}, app.Env.Secret)
				assert.Equal(t, []string{"POSTGRES_PASSWORD"}, app.Accessories["main-db"].Env.Secret)
				assert.Empty(t, app.Accessories["replica-db"].Env.Secret)
				assert.Contains(t, r.Unsupported[0].Reason, "DB_PASSWORD is the secret SECONDARY_DB_PASSWORD here but MAIN_DB_PASSWORD at env.secret[0]")
			},
		},
		{
			name: "reads boot as a count, options, and a flat env",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: docker.io/acme/hello@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
servers:
  web:
    hosts: 10.0.0.1
    options:
      cpus: 1.5
      user: "1000:1000"
      init: true
      cap-add: NET_ADMIN
env:
  PORT: 3000
  DEBUG:
boot:
  limit: 2
  wait: 1.5
  parallel_roles: true
retain_containers: 10
logging:
  driver: journald
`)
			},
			paths: []string{"image", "servers.web.options.cap-add", "boot.parallel_roles"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Equal(t, "docker.io/acme/hello", app.Image)
				assert.Equal(t, deploy.ContainerOptions{CPUs: 1.5, User: "1000:1000", Init: true}, app.Roles["web"].Options)
				assert.Equal(t, deploy.Env{Clear: map[string]string{"PORT": "3000", "DEBUG": ""}}, app.Env)
				assert.Equal(t, deploy.Boot{Limit: 2, Wait: 1500 * time.Millisecond}, app.Boot)
				assert.Equal(t, 10, app.Retain)
			},
		},
		{
			name: "leaves out empty roles when allow_empty_roles says so",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: acme/hello
allow_empty_roles: true
servers:
  web: [10.0.0.1]
  jobs:
    hosts: []
    cmd: bin/jobs
`)
			},
			paths: []string{"servers.jobs"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Len(t, app.Roles, 1)
			},
		},
		{
			name: "reads accessories on roles and tags with ports and Kamal-only keys",
			path: func(t *testing.T) string {
				return deployYML(t, `
service: hello
image: acme/hello
servers:
  web:
    - 10.0.0.1: cache
    - 10.0.0.2
  job_runner:
    hosts: [10.0.0.3]
    cmd: bin/jobs
accessories:
  cache:
    image: redis:7
    tags: [cache]
    ports: ["127.0.0.1:6379:6379"]
    files:
      - config/redis.conf.erb:/usr/local/etc/redis/redis.conf
    network: private
  search:
    image: opensearchproject/opensearch:2
    roles: [job_runner]
    service: search
    proxy:
      host: search.example.com
`)
			},
			paths: []string{"accessories.cache.files[0]", "accessories.cache.network", "accessories.search.service", "accessories.search.proxy"},
			check: func(t *testing.T, app deploy.App, r *kamal.Report) {
				assert.Contains(t, app.Roles, "job-runner")
				assert.Equal(t, deploy.Hosts("10.0.0.1"), app.Accessories["cache"].Servers)
				assert.Equal(t, []string{"127.0.0.1:6379:6379"}, app.Accessories["cache"].Ports)
				assert.Equal(t, []string{"job-runner"}, app.Accessories["search"].Roles)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, report, err := kamal.Load(tt.path(t), tt.destination)
			require.NoError(t, err, "report:\n%s", report)
			assert.Equal(t, tt.paths, nilIfEmpty(report.Paths()), "report:\n%s", report)
			for _, k := range report.Unsupported {
				assert.NotEmpty(t, k.Reason, k.Path)
				assert.Positive(t, k.Line, k.Path)
			}
			if tt.check != nil {
				tt.check(t, app, report)
			}
		})
	}
}

// keyPaths returns the paths of keys.
func keyPaths(keys []kamal.Key) []string {
	p := make([]string, len(keys))
	for i, k := range keys {
		p[i] = k.Path
	}
	return p
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name        string
		yml         string
		env         string // KAMAL_TEST_IMAGE
		destination string
		want        string
		line        int
	}{
		{
			name: "names the line of malformed YAML",
			yml:  "service: hello\nimage: acme/hello\nservers:\n  web: 10.0.0.1: edge\n",
			want: "config/deploy.yml:4: mapping values are not allowed in this context", line: 4,
		},
		{
			name: "names the line and path of a wrong type",
			yml:  "service: hello\nimage: acme/hello\nservers: [10.0.0.1]\nretain_containers: five\n",
			want: `config/deploy.yml:4: retain_containers: must be a whole number, got "five"`, line: 4,
		},
		{
			name: "names a host that is a list",
			yml:  "service: hello\nimage: acme/hello\nservers:\n  web:\n    hosts:\n      - [10.0.0.1]\n",
			want: `config/deploy.yml:6: servers.web.hosts[0]: must be a host, or a host with its tags ("host: tag"), got a list`, line: 6,
		},
		{
			name: "names a bad memory size",
			yml:  "service: hello\nimage: acme/hello\nservers:\n  web:\n    hosts: [10.0.0.1]\n    options:\n      memory: lots\n",
			want: `config/deploy.yml:7: servers.web.options.memory: must be a memory size such as "512m" or "2g", got "lots"`, line: 7,
		},
		{
			name: "says a config that is not a map is not one",
			yml:  "- service: hello\n",
			want: "config/deploy.yml:1: the config must be a map", line: 1,
		},
		{
			name:        "refuses a missing destination and lists the known ones",
			yml:         "service: hello\nimage: acme/hello\nservers: [10.0.0.1]\n",
			destination: "prod",
			want:        "destination prod: ",
		},
		{
			name: "asks for a destination when the config requires one",
			yml:  "service: hello\nimage: acme/hello\nservers: [10.0.0.1]\nrequire_destination: true\n",
			want: "config/deploy.yml:4: require_destination: the config requires a destination; pass one of: none", line: 4,
		},
		{
			name: "hints at ERB output that breaks the YAML",
			yml:  "service: hello\nimage: <%= ENV[\"KAMAL_TEST_IMAGE\"] %>\n",
			env:  "acme/hello: latest",
			want: "config/deploy.yml:2: mapping values are not allowed in this context (after its ERB was evaluated: check the values the environment gives it)", line: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("KAMAL_TEST_IMAGE", tt.env)
			}
			_, _, err := kamal.Load(deployYML(t, tt.yml), tt.destination)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			if tt.line > 0 {
				ke, ok := errors.AsType[*kamal.Error](err)
				require.True(t, ok, "%T: %v", err, err)
				assert.Equal(t, tt.line, ke.Line)
			}
		})
	}
}

// A value of the wrong type is an error with its file, line and path,
// wherever it is: none is dropped with a note.
func TestLoadWrongTypes(t *testing.T) {
	tests := []struct {
		name, yml, destination, want string
	}{
		{name: "proxy.ssl", yml: "proxy:\n  ssl: yes-please\n", want: `:5: proxy.ssl: must be true or false, got "yes-please"`},
		{name: "proxy.app_port", yml: "proxy:\n  app_port: eighty\n", want: `:5: proxy.app_port: must be a whole number, got "eighty"`},
		{name: "proxy.host", yml: "proxy:\n  host: [a.example.com]\n", want: `:5: proxy.host: must be a string, got a list`},
		{name: "proxy.hosts", yml: "proxy:\n  hosts: {a: b}\n", want: `:5: proxy.hosts: must be a list, got a map`},
		{name: "proxy.healthcheck", yml: "proxy:\n  healthcheck: [up]\n", want: `:5: proxy.healthcheck: must be a map, got a list`},
		{name: "proxy.healthcheck.path", yml: "proxy:\n  healthcheck:\n    path: {a: b}\n", want: `:6: proxy.healthcheck.path: must be a string, got a map`},
		{name: "proxy.healthcheck.interval", yml: "proxy:\n  healthcheck:\n    interval: soon\n", want: `:6: proxy.healthcheck.interval: must be a number of seconds, got "soon"`},
		{name: "proxy.response_timeout", yml: "proxy:\n  response_timeout: true\n", want: `:5: proxy.response_timeout: must be a number of seconds, got true`},
		{name: "proxy.buffering.requests", yml: "proxy:\n  buffering:\n    requests: maybe\n", want: `:6: proxy.buffering.requests: must be true or false, got "maybe"`},
		{name: "proxy.run.http_port", yml: "proxy:\n  run:\n    http_port: x\n", want: `:6: proxy.run.http_port: must be a whole number, got "x"`},
		{name: "proxy.run.version", yml: "proxy:\n  run:\n    version: [1]\n", want: `:6: proxy.run.version: must be a string, got a list`},
		{name: "proxy", yml: "proxy: [a]\n", want: `:4: proxy: must be a map, got a list`},
		{name: "servers.web.proxy", yml: "servers:\n  web:\n    hosts: [10.0.0.1]\n    proxy: on-please\n", want: `:7: servers.web.proxy: must be true, false or a map of proxy settings, got "on-please"`},
		{name: "registry.password", yml: "registry:\n  password: {a: b}\n", want: `:5: registry.password: must be a list holding the name of the secret`},
		{name: "hooks_path", yml: "hooks_path: [a]\n", want: `:4: hooks_path: must be a string, got a list`},
		{name: "require_destination with a destination", yml: "require_destination: maybe\n", destination: "prod", want: `:4: require_destination: must be true or false, got "maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yml := "service: hello\nimage: acme/hello\n"
			if !strings.Contains(tt.yml, "servers:") {
				yml += "servers: [10.0.0.1]\n"
			} else {
				yml = "service: hello\nimage: acme/hello\n\n"
			}
			files := map[string]string{"config/deploy.yml": yml + tt.yml}
			if tt.destination != "" {
				files["config/deploy."+tt.destination+".yml"] = "{}\n"
			}
			_, _, err := kamal.Load(kamalProject(t, files), tt.destination)
			ke, ok := errors.AsType[*kamal.Error](err)
			require.True(t, ok, "%T: %v", err, err)
			assert.Contains(t, ke.Error(), "config/deploy.yml"+tt.want)
			assert.Equal(t, strings.TrimSuffix(tt.name, " with a destination"), ke.Path)
		})
	}
}

func TestLoadValidates(t *testing.T) {
	t.Run("returns the validation error with the app and report", func(t *testing.T) {
		app, report, err := kamal.Load(deployYML(t, `
service: hello
image: Acme/Hello
servers:
  web: ["10.0.0.1", "bad host"]
proxy:
  healthcheck:
    path: up
`), "")
		ve, ok := errors.AsType[*deploy.ValidationError](err)
		require.True(t, ok, "%T: %v", err, err)
		assert.Equal(t, []string{"image", "roles.web.servers[1].host", "roles.web.proxy.health.path"}, problemFields(ve))
		assert.Equal(t, "hello", app.Service)
		assert.NotNil(t, report)
	})
	t.Run("gives a base config without servers the validation error and names its destinations", func(t *testing.T) {
		_, report, err := kamal.Load("testdata/destinations", "")
		require.EqualError(t, err, `roles: must have at least one role, such as "web" with a Proxy`)
		assert.Contains(t, report.Notes, `destinations production, staging have overlays; import one with kamal.Load(path, "production"), or all with kamal.LoadAll(path)`)
	})
	t.Run("reads a config file given by path", func(t *testing.T) {
		app, _, err := kamal.Load("testdata/rails/config/deploy.yml", "")
		require.NoError(t, err)
		assert.Equal(t, "my-app", app.Service)
	})
}

func problemFields(ve *deploy.ValidationError) []string {
	var f []string
	for _, p := range ve.Problems {
		f = append(f, p.Field)
	}
	return f
}

func TestLoadSecrets(t *testing.T) {
	ctx := context.Background()
	t.Run("resolves aliases, file values and references for a destination", func(t *testing.T) {
		t.Setenv("SLIPWAY_TEST_SESSION_SECRET", "session-from-env")
		t.Setenv("SLIPWAY_TEST_DB_PASSWORD", "pw-staging")
		app, _, err := kamal.Load("testdata/destinations", "staging")
		require.NoError(t, err)
		got, err := deploy.ResolveSecrets(ctx, app)
		require.NoError(t, err)
		assert.Equal(t, secret.Values{
			"DATABASE_URL":   "postgres://hello:pw-staging@staging-db/hello",
			"SESSION_SECRET": "session-from-env",
		}, got)
	})
	t.Run("reads secrets-common then secrets, and the environment for commands", func(t *testing.T) {
		t.Setenv("KAMAL_REGISTRY_PASSWORD", "registry-token")
		t.Setenv("SLIPWAY_TEST_SECRET_KEY_BASE", "skb")
		t.Setenv("RAILS_MASTER_KEY", "master-from-env")
		t.Setenv("LITESTREAM_SECRET_ACCESS_KEY", "ls-secret")
		app, _, err := kamal.Load("testdata/rails", "")
		require.NoError(t, err)
		got, err := deploy.ResolveSecrets(ctx, app)
		require.NoError(t, err)
		assert.Equal(t, secret.Values{
			"RAILS_MASTER_KEY":             "master-from-env",
			"SECRET_KEY_BASE":              "skb",
			"DATABASE_URL":                 "sqlite3:/rails/storage/production.sqlite3",
			"LITESTREAM_ACCESS_KEY_ID":     "AKIA-test-$not-expanded",
			"LITESTREAM_SECRET_ACCESS_KEY": "ls-secret",
		}, got)
		v, err := app.Secrets.Secret(ctx, app.Registry.PasswordSecret)
		require.NoError(t, err)
		assert.Equal(t, "registry-token", v)
	})
	t.Run("says a command secret is missing without running it", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "ran")
		dir := kamalProject(t, map[string]string{
			"config/deploy.yml": "service: hello\nimage: acme/hello\nservers: [10.0.0.1]\nenv:\n  secret: [SLIPWAY_TEST_CMD_SECRET]\n",
			".kamal/secrets":    "SLIPWAY_TEST_CMD_SECRET=$(touch " + marker + ")\n",
		})
		app, report, err := kamal.Load(dir, "")
		require.NoError(t, err)
		assert.Equal(t, []string{"SLIPWAY_TEST_CMD_SECRET"}, report.CommandSecrets)
		_, err = deploy.ResolveSecrets(ctx, app)
		require.ErrorIs(t, err, secret.ErrMissing)
		assert.Contains(t, err.Error(), "set by a command at "+filepath.Join(dir, ".kamal/secrets")+":1, which Slipway does not run")
		assert.NoFileExists(t, marker)
	})
	t.Run("never prints a value", func(t *testing.T) {
		t.Setenv("SLIPWAY_TEST_REGISTRY_TOKEN", "tok-123")
		app, report, err := kamal.Load("testdata/multirole", "")
		require.NoError(t, err)
		out := report.String()
		for _, v := range []string{"ci-bot", "tok-123", "redis://10.0.2.5"} {
			assert.NotContains(t, out, v)
		}
		assert.Contains(t, out, "6 keys not carried over:\n  servers.web.options.ulimit (testdata/multirole/config/deploy.yml:29): this docker run option is not supported")
		assert.Contains(t, out, "set by commands Slipway does not run (export them or add a secret.Command source): MAIN_DB_PASSWORD RAILS_MASTER_KEY")
		v, err := app.Secrets.Secret(ctx, "REDIS_URL")
		require.NoError(t, err)
		assert.Equal(t, "redis://10.0.2.5:6379/0", v)
	})
}

func TestSecrets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	common := filepath.Join(dir, "secrets-common")
	main := filepath.Join(dir, "secrets")
	require.NoError(t, os.WriteFile(common, []byte("A=common\nB=common\nexport C='lit $X'\n"), 0o600))
	require.NoError(t, os.WriteFile(main, []byte(strings.Join([]string{
		"B=main # a comment",
		`D="line1\nline2"`,
		"E=${A}-$SLIPWAY_TEST_E",
		"F=$SLIPWAY_TEST_UNSET_VAR",
		"G=`date`",
		"H=$(op read",
		"  op://vault/item/h)",
		"I=after",
	}, "\n")), 0o600))
	t.Setenv("SLIPWAY_TEST_E", "env")
	src := kamal.Secrets{Files: []string{common, main}}
	for name, want := range map[string]string{"A": "common", "B": "main", "C": "lit $X", "D": "line1\nline2", "E": "common-env", "I": "after"} {
		got, err := src.Secret(ctx, name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	for name, why := range map[string]string{
		"F": "reads $SLIPWAY_TEST_UNSET_VAR, which is not set in the environment",
		"G": "set by a command at " + main + ":5",
		"H": "set by a command at " + main + ":6",
		"Z": "not in " + common + ", " + main,
	} {
		_, err := src.Secret(ctx, name)
		require.ErrorIs(t, err, secret.ErrMissing, name)
		assert.Contains(t, err.Error(), why, name)
	}
	require.NoError(t, os.WriteFile(main, []byte("set -a\nA=main\n[ -f .env ] && . .env\n"), 0o600))
	got, err := src.Secret(ctx, "A")
	require.NoError(t, err, "shell lines are skipped, as Kamal's dotenv skips them")
	assert.Equal(t, "main", got)
	require.NoError(t, os.WriteFile(main, []byte("ok=1\nB=\"never closed\n"), 0o600))
	_, err = src.Secret(ctx, "A")
	require.EqualError(t, err, "read Kamal secrets file "+main+": line 2: the quoted value has no closing quote")
}
