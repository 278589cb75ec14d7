package deploy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

// dbApp is an App with one web server writing one replicated database,
// a worker role, and staging and production destinations on servers of
// their own.
func dbApp() App {
	return App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: Roles{
			"web":  {Servers: Hosts("10.0.0.1"), Proxy: &Proxy{AppPort: 3000, Health: health.HTTP{Path: "/up"}}},
			"jobs": {Servers: Hosts("10.0.0.2", "10.0.0.3"), Cmd: []string{"/hello", "work"}},
		},
		Volumes: []string{"hello-data:/data", "hello-assets:/assets:ro"},
		Databases: []Database{{
			Path:    "/data/hello.db",
			Role:    "web",
			Replica: &replicate.Replica{S3: &replicate.S3{Bucket: "acme-hello", Endpoint: "https://s3.example.com"}},
		}},
		Destinations: map[string]func(*App){
			"staging":    func(a *App) { a.Roles["web"].Servers[0].Host = "10.1.0.1" },
			"production": func(a *App) { a.Roles["web"].Servers[0].Host = "10.2.0.1" },
		},
	}
}

func TestValidateDatabases(t *testing.T) {
	require.NoError(t, dbApp().Validate())

	tests := []struct {
		name   string
		change func(a *App)
		want   string
	}{
		{"a role that does not exist", func(a *App) { a.Databases[0].Role = "api" },
			`databases[0].role: no role "api"; name the role whose containers write the database; known roles: jobs, web`},
		{"a role on two servers", func(a *App) { a.Databases[0].Role = "jobs" },
			"databases[0].role: role jobs runs on 2 servers (10.0.0.2, 10.0.0.3), but a SQLite database lives on one host: each host would hold its own copy of hello.db"},
		{"says what to do instead", func(a *App) { a.Databases[0].Role = "jobs" },
			"Run role jobs on one server, or move the other servers to a role without the database"},
		{"an empty path", func(a *App) { a.Databases[0].Path = "" },
			`databases[0].path: must not be empty; the database file in the role's containers, such as "/data/app.db"`},
		{"a relative path", func(a *App) { a.Databases[0].Path = "data/hello.db" },
			`databases[0].path: must be an absolute path in the role's containers, such as "/data/app.db", got "data/hello.db"`},
		{"an unclean path", func(a *App) { a.Databases[0].Path = "/data/../data/hello.db" },
			`databases[0].path: must be a clean path to a file, such as "/data/hello.db"`},
		{"a path in no volume", func(a *App) { a.Databases[0].Path = "/var/lib/hello.db" },
			`databases[0].path: /var/lib/hello.db lies in none of the app's volumes, so the database would live in the container and be lost with it at the next deploy; mount a volume at its directory, such as volumes: []string{"app-data:/var/lib"}`},
		{"the volume's mount point itself", func(a *App) { a.Databases[0].Path = "/data" },
			`databases[0].path: /data lies in none of the app's volumes`},
		{"a path in a read-only volume", func(a *App) { a.Databases[0].Path = "/assets/hello.db" },
			`databases[0].path: /assets/hello.db lies in volumes[1] (hello-assets:/assets:ro), which is mounted read-only; mount it read-write`},
		{"two databases of one name", func(a *App) {
			a.Databases = append(a.Databases, Database{Path: "/data/sub/hello.db", Role: "web"})
		}, `databases[1].path: names the database "hello.db", as databases[0] does; give each database a name of its own (Name)`},
		{"two names with one replica env", func(a *App) {
			a.Databases = append(a.Databases, Database{Name: "hello_db", Path: "/data/other.db", Role: "web"})
		}, `databases[1].name: names the database "hello_db", whose replica env (SLIPWAY_REPLICA_HELLO_DB_*) is also databases[0]'s ("hello.db")`},
		{"a name with a space", func(a *App) { a.Databases[0].Name = "my db" },
			`databases[0].name: must be letters, digits, "_", "." and "-", starting with a letter or digit, got "my db"`},
		{"start-first with embedded replication", func(a *App) { a.Databases[0].StartFirst = true },
			"databases[0].startFirst: is allowed only with sidecar replication: a start-first deploy runs the old and the new container together, and each would run its own replicator"},
		{"sidecar replication without a replica", func(a *App) {
			a.Databases[0].Replica, a.Databases[0].Replication = nil, ReplicateSidecar
		}, "databases[0].replica: sidecar replication needs a replica"},
		{"an unknown replication", func(a *App) { a.Databases[0].Replication = 7 },
			"databases[0].replication: must be ReplicateEmbedded or ReplicateSidecar, got 7"},
		{"a replica DB other than the path", func(a *App) { a.Databases[0].Replica.DB = "/data/other.db" },
			`databases[0].replica.db: "/data/other.db" differs from path "/data/hello.db"; leave it empty (it is the database's path)`},
		{"a bucket name S3 refuses", func(a *App) { a.Databases[0].Replica.S3.Bucket = "pb" },
			`databases[0].replica.s3.bucket: "pb" is 2 characters; a bucket name is 3 to 63 lower-case letters, digits, dots and dashes`},
		{"an absolute replica path", func(a *App) { a.Databases[0].Replica.S3.Path = "/hello.db" },
			`databases[0].replica.s3.path: "/hello.db" must be relative to the bucket`},
		{"an endpoint that is no URL", func(a *App) { a.Databases[0].Replica.S3.Endpoint = "s3.example.com" },
			`databases[0].replica.s3.endpoint: "s3.example.com" must be a URL starting with http:// or https://`},
		{"two databases on one replica", func(a *App) {
			a.Databases = append(a.Databases, Database{Name: "other", Path: "/data/other.db", Role: "web",
				Replica: &replicate.Replica{S3: &replicate.S3{Bucket: "acme-hello", Path: "hello.db"}}})
		}, "databases[1].replica.s3.path: s3://acme-hello/hello.db is also the replica of databases[0]; two replicators must never write one replica"},
		{"an accessory under the sidecar's name", func(a *App) {
			a.Databases[0].Replication = ReplicateSidecar
			a.Accessories = map[string]Accessory{"litestream-web": {Image: "litestream/litestream:0.5.18", Roles: []string{"web"}}}
		}, "accessories.litestream-web: is the name of the Litestream sidecar Slipway adds for databases[0] (sidecar replication); remove this accessory"},
		{"a sidecar image without a sidecar", func(a *App) { a.Databases[0].SidecarImage = "litestream/litestream:0.5.18" },
			"databases[0].sidecarImage: is set, but the database is replicated by the app (embedded)"},
		{"the replica's env set by hand", func(a *App) {
			a.Env.Clear = map[string]string{"SLIPWAY_REPLICA_HELLO_DB_BUCKET": "other"}
		}, "env.clear.SLIPWAY_REPLICA_HELLO_DB_BUCKET: is set by databases[0].replica (the replica's env); remove it here"},
		{"a credential as a clear value", func(a *App) {
			a.Roles["web"] = Role{Servers: Hosts("10.0.0.1"), Env: Env{Clear: map[string]string{"LITESTREAM_SECRET_ACCESS_KEY": "x"}}}
		}, "roles.web.env.clear.LITESTREAM_SECRET_ACCESS_KEY: is the credential secret of databases[0].replica; a credential travels as a secret"},
		{"staging and production on one replica path", func(a *App) {
			a.Destinations["staging"] = func(a *App) { a.Databases[0].Replica.S3.Path = "shared/hello.db" }
			a.Destinations["production"] = func(a *App) { a.Databases[0].Replica.S3.Path = "shared/hello.db" }
		}, "destinations.staging: databases[0]'s replica s3://acme-hello/shared/hello.db is also destination production's databases[0]: both would replicate into it"},
		{"a destination on the base's replica under another name", func(a *App) {
			a.Destinations["staging"] = func(a *App) { a.Databases[0].Name = "main" }
		}, "destinations.staging: databases[0]'s replica s3://acme-hello/hello.db is also the base App's databases[0]"},
		{"an overlay that panics", func(a *App) {
			a.Destinations["staging"] = func(a *App) { a.Roles["api"].Servers[0].Host = "x" }
		}, "destinations.staging: applying the overlay panicked: runtime error: index out of range [0] with length 0; fix the overlay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := dbApp()
			tt.change(&a)
			got := problems(t, a.Validate())
			assert.True(t, slices.ContainsFunc(got, func(l string) bool { return strings.Contains(l, tt.want) }),
				"want a problem holding %q in:\n%s", tt.want, strings.Join(got, "\n"))
		})
	}
}

// The three cases in one App: every problem comes back at once,
// each with its field, and Connect reports them before it reaches a
// host (its pre-connect hook, which runs before any dial, never runs).
func TestValidateReportsEveryDatabaseProblemAtOnce(t *testing.T) {
	a := dbApp()
	a.Roles["web"] = Role{Servers: Hosts("203.0.113.10", "203.0.113.11"), Proxy: &Proxy{AppPort: 3000}}
	a.Databases = append(a.Databases, Database{Name: "audit", Path: "/data/audit.db", Role: "reports"})
	a.Destinations["staging"] = func(a *App) { a.Databases[0].Replica.S3.Path = "shared/hello.db" }
	a.Destinations["production"] = func(a *App) { a.Databases[0].Replica.S3.Path = "shared/hello.db" }

	got := problems(t, a.Validate())
	want := []string{
		"databases[0].role: role web runs on 2 servers (203.0.113.10, 203.0.113.11), but a SQLite database lives on one host: each host would hold its own copy of hello.db",
		`databases[1].role: no role "reports"`,
		"destinations.staging: databases[0]'s replica s3://acme-hello/shared/hello.db is also destination production's databases[0]",
	}
	require.Len(t, got, len(want), "%s", strings.Join(got, "\n"))
	for i, w := range want {
		assert.True(t, strings.HasPrefix(got[i], w), "problem %d: want %q, got %q", i, w, got[i])
	}

	touched := false
	a.Hooks.PreConnect = func(context.Context, HookContext) error { touched = true; return nil }
	_, err := Connect(context.Background(), a, Options{})
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "Connect fails validation: %v", err)
	assert.Len(t, ve.Problems, len(want))
	assert.False(t, touched, "no host is touched")
}

func TestDatabasesImplyTheSidecar(t *testing.T) {
	a := dbApp()
	a.Databases[0].Replication = ReplicateSidecar
	a.Databases[0].StartFirst = true
	plan, err := NewPlan(a, Release{Version: "v1"}, State{})
	require.NoError(t, err)

	var boots []Step
	for _, st := range plan.Steps() {
		if st.Kind == StepBootAccessory {
			boots = append(boots, st)
		}
		if st.Kind == StepStart {
			assert.NotContains(t, st.Env, "SLIPWAY_REPLICA_HELLO_DB_DB", "the app does not replicate itself: %s", st.Container)
		}
	}
	require.Len(t, boots, 1, "one sidecar, on the web host only")
	assert.Equal(t, "10.0.0.1", boots[0].Host)
	assert.Equal(t, "hello-litestream-web", boots[0].Container)
	assert.Equal(t, replicate.DefaultImage, boots[0].Image)
	assert.Equal(t, []string{"LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY"}, boots[0].Secrets)

	x, err := a.expand()
	require.NoError(t, err)
	acc := x.Accessories[SidecarAccessoryName("web")]
	assert.Equal(t, []string{"web"}, acc.Roles)
	assert.Equal(t, []string{"hello-data:/data"}, acc.Volumes, "it shares the volume that holds the database, and only that")
	yml := acc.Files[replicate.DefaultConfigPath]
	assert.Contains(t, yml, "path: /data/hello.db")
	assert.Contains(t, yml, "bucket: acme-hello")
	assert.Contains(t, yml, `endpoint: "https://s3.example.com"`)
	assert.NotContains(t, a.Accessories, SidecarAccessoryName("web"), "the App given is not changed")

	again, err := x.expand()
	require.NoError(t, err, "an expanded App is valid")
	assert.Equal(t, x.Accessories, again.Accessories, "expanding twice changes nothing")

	t.Run("a destination's sidecar writes the destination's replica", func(t *testing.T) {
		s, err := a.ForDestination("staging")
		require.NoError(t, err)
		x, err := s.expand()
		require.NoError(t, err)
		assert.Contains(t, x.Accessories[SidecarAccessoryName("web")].Files[replicate.DefaultConfigPath], "path: staging/hello.db")
	})
	t.Run("SidecarImage picks the image", func(t *testing.T) {
		b := dbApp()
		b.Databases[0].Replication, b.Databases[0].SidecarImage = ReplicateSidecar, "registry.example.com/litestream:0.5.18"
		x, err := b.expand()
		require.NoError(t, err)
		assert.Equal(t, "registry.example.com/litestream:0.5.18", x.Accessories["litestream-web"].Image)
	})
}

func TestDatabasesGiveEmbeddedReplicationItsEnv(t *testing.T) {
	a := dbApp()
	a.Env.Secret = []string{"SECRET_KEY_BASE"}
	plan, err := NewPlan(a, Release{Version: "v1"}, State{})
	require.NoError(t, err)
	var starts []Step
	for _, st := range plan.Steps() {
		switch st.Kind {
		case StepStart:
			starts = append(starts, st)
		case StepBootAccessory:
			t.Errorf("no sidecar for embedded replication: %s", st.Container)
		}
	}
	require.Len(t, starts, 3)
	for _, st := range starts {
		if st.Role != "web" {
			assert.NotContains(t, st.Env, "SLIPWAY_REPLICA_HELLO_DB_DB", "only the database's role replicates it")
			assert.Equal(t, []string{"SECRET_KEY_BASE"}, st.Secrets)
			continue
		}
		assert.Equal(t, map[string]string{
			"SLIPWAY_REPLICA_HELLO_DB_DB":       "/data/hello.db",
			"SLIPWAY_REPLICA_HELLO_DB_BUCKET":   "acme-hello",
			"SLIPWAY_REPLICA_HELLO_DB_PATH":     "hello.db",
			"SLIPWAY_REPLICA_HELLO_DB_ENDPOINT": "https://s3.example.com",
		}, st.Env)
		assert.Equal(t, []string{"LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY", "SECRET_KEY_BASE"}, st.Secrets)
	}
	assert.Empty(t, a.Roles["web"].Env.Clear, "the App given is not changed")

	x, err := a.expand()
	require.NoError(t, err)
	again, err := x.expand()
	require.NoError(t, err, "an expanded App is valid")
	assert.Equal(t, x.Roles, again.Roles, "expanding twice changes nothing")

	t.Run("the operator's endpoint never reaches a host", func(t *testing.T) {
		b := dbApp()
		b.Databases[0].Replica.S3.OperatorEndpoint = "http://127.0.0.1:7070"
		plan, err := NewPlan(b, Release{Version: "v1"}, State{})
		require.NoError(t, err)
		for _, st := range plan.Steps() {
			for k, v := range st.Env {
				assert.NotContains(t, v, "127.0.0.1", "%s on %s", k, st.Host)
			}
		}
	})
}

func TestDestinationsGetReplicasOfTheirOwn(t *testing.T) {
	a := dbApp()
	a.Destinations["own"] = func(a *App) { a.Databases[0].Replica.S3.Path = "elsewhere/hello.db" }
	a.Destinations["bucket"] = func(a *App) { a.Databases[0].Replica.S3.Bucket = "acme-hello-eu" }
	shared := &replicate.Replica{S3: &replicate.S3{Bucket: "acme-hello"}}
	a.Destinations["shared"] = func(a *App) { a.Databases[0].Replica = shared }
	require.NoError(t, a.Validate())

	for dest, want := range map[string]string{
		"":           "s3://acme-hello/hello.db",
		"staging":    "s3://acme-hello/staging/hello.db",
		"production": "s3://acme-hello/production/hello.db",
		"own":        "s3://acme-hello/elsewhere/hello.db",
		"bucket":     "s3://acme-hello-eu/hello.db",
		"shared":     "s3://acme-hello/shared/hello.db",
	} {
		d, err := a.ForDestination(dest)
		require.NoError(t, err)
		rs := d.Replicas()
		require.Len(t, rs, 1)
		assert.Equal(t, want, rs[0].String(), "destination %q", dest)
	}
	assert.Equal(t, "", shared.S3.Path, "a replica the overlay shares is copied before its path is derived")
	assert.Equal(t, "", a.Databases[0].Replica.S3.Path, "the base is unchanged")
}

func TestReplicasAreTheHostsView(t *testing.T) {
	a := dbApp()
	a.Secrets = secret.File{Path: "/etc/hello/secrets"}
	a.Databases[0].Replica.S3.OperatorEndpoint = "http://127.0.0.1:7070"
	a.Databases = append(a.Databases, Database{Name: "cache", Path: "/data/cache.db", Role: "web"})
	rs := a.Replicas()
	require.Len(t, rs, 1, "only replicated databases")
	assert.Equal(t, "/data/hello.db", rs[0].DB)
	assert.Equal(t, "https://s3.example.com", rs[0].S3.Endpoint)
	assert.Equal(t, a.Secrets, rs[0].S3.Secrets, "credentials through the App's secrets")
	assert.Equal(t, "http://127.0.0.1:7070", rs[0].ForOperator().S3.Endpoint)
	assert.Nil(t, a.Databases[0].Replica.S3.Secrets, "the declaration is unchanged")
}
