package deploy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/replicate"
)

func recoveryTestApp() App {
	return App{
		Service: "shop",
		Roles: Roles{
			"web":  {Servers: Hosts("203.0.113.10"), Proxy: &Proxy{AppPort: 3000}},
			"jobs": {Servers: Hosts("203.0.113.11")},
		},
		Env: Env{
			Clear: map[string]string{"DATABASE_PATH": "/data/shop.db", "LITESTREAM_BUCKET": "shop",
				"SLIPWAY_REPLICA_SHOP_DB_DB": "/data/shop.db", "SLIPWAY_REPLICA_SHOP_DB_ENDPOINT": "http://s3:9000"},
			Secret: []string{"LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY", "R2_KEY", "R2_SECRET", "SESSION_KEY"},
		},
		Volumes: []string{"shop-data:/data"},
	}
}

func TestRecoveryDatabase(t *testing.T) {
	replica := &replicate.Replica{S3: &replicate.S3{Bucket: "shop", Path: "shop.db"}}
	t.Run("reads the declared database when no replica is given", func(t *testing.T) {
		a := recoveryTestApp()
		a.Databases = []Database{{Path: "/data/shop.db", Role: "web", Replica: replica}}
		a.Databases[0].Replica = &replicate.Replica{S3: &replicate.S3{Bucket: "shop", Path: "shop.db",
			Endpoint: "http://10.0.0.5:9000", OperatorEndpoint: "http://127.0.0.1:9000"}}
		r, host, err := a.recoveryDatabase(Recovery{})
		require.NoError(t, err)
		assert.Equal(t, "/data/shop.db", r.DB, "the replica's DB is the database's path")
		assert.Equal(t, "http://127.0.0.1:9000", r.S3.Endpoint, "as this machine reaches it: the restore runs here")
		assert.Equal(t, "s3://shop/shop.db", r.String())
		assert.Equal(t, "203.0.113.10", host, "the one server of the database's role")
	})
	t.Run("keeps an explicit replica and host", func(t *testing.T) {
		a := recoveryTestApp()
		a.Databases = []Database{{Path: "/data/shop.db", Replica: replica}}
		r, host, err := a.recoveryDatabase(Recovery{Replica: replicate.Replica{DB: "/data/other.db", Dir: "/backups"}, Host: "203.0.113.11"})
		require.NoError(t, err)
		assert.Equal(t, "/data/other.db", r.DB)
		assert.Equal(t, "203.0.113.11", host)
	})
	t.Run("names the field when nothing says what to recover", func(t *testing.T) {
		_, _, err := recoveryTestApp().recoveryDatabase(Recovery{})
		require.ErrorContains(t, err, "Replica: required")
		a := recoveryTestApp()
		a.Databases = []Database{{Path: "/data/a.db", Replica: replica}, {Path: "/data/b.db", Replica: replica}}
		_, _, err = a.recoveryDatabase(Recovery{})
		require.ErrorContains(t, err, "Database: the app replicates several databases")
		_, _, err = a.recoveryDatabase(Recovery{Database: "c.db"})
		require.ErrorContains(t, err, `Database: no replicated database "c.db"`)
		r, _, err := a.recoveryDatabase(Recovery{Database: "b.db"})
		require.NoError(t, err)
		assert.Equal(t, "/data/b.db", r.DB)
	})
}

func TestDrillCopyEnvHoldsNoReplicaCredential(t *testing.T) {
	a := recoveryTestApp()
	a.Databases = []Database{{Path: "/data/shop.db", Replica: &replicate.Replica{S3: &replicate.S3{Bucket: "shop",
		AccessKeyIDVar: "R2_KEY", SecretAccessKeyVar: "R2_SECRET"}}}}
	env, secrets := a.drillCopyEnv("web", replicate.Replica{DB: "/data/shop.db", S3: &replicate.S3{Bucket: "shop"}}, []string{"SESSION_KEY"})
	assert.Equal(t, map[string]string{"DATABASE_PATH": "/data/shop.db"}, env, "embedded replication's env is gone")
	assert.Empty(t, secrets, "the credentials of the drilled and the declared replicas, and DropEnv, are gone")

	env, secrets = a.drillCopyEnv("web", replicate.Replica{DB: "/data/shop.db", Dir: "/backups"}, nil)
	assert.Equal(t, []string{"SESSION_KEY"}, secrets, "the app's other secrets stay")
	assert.Contains(t, env, "DATABASE_PATH")
}

func TestCurrentContainer(t *testing.T) {
	a := recoveryTestApp()
	now := time.Now()
	state := func(proxyTarget string, cs ...Container) State {
		return State{Hosts: map[string]HostState{"h": {Containers: cs,
			Proxy: &ProxyState{Running: true, Services: map[string]string{"shop-web": proxyTarget}}}}}
	}
	old := Container{Name: "shop-web-v1", Role: "web", Created: now.Add(-time.Hour)}
	failed := Container{Name: "shop-web-v3", Role: "web", Created: now}
	mid := Container{Name: "shop-web-v2", Role: "web", Created: now.Add(-time.Minute)}

	running := mid
	running.Running = true
	c, ok := currentContainer(a, state("", old, running, failed), "h", "web")
	require.True(t, ok)
	assert.Equal(t, "shop-web-v2", c.Name, "the running one")

	c, _ = currentContainer(a, state("shop-web-v1:3000", old, mid, failed), "h", "web")
	assert.Equal(t, "shop-web-v1", c.Name, "none runs (a crash): the one kamal-proxy routes to")

	c, _ = currentContainer(a, state("", old, mid, failed), "h", "web")
	assert.Equal(t, "shop-web-v3", c.Name, "else the newest")

	_, ok = currentContainer(a, State{}, "h", "web")
	assert.False(t, ok)
}

func TestStandingAfter(t *testing.T) {
	p := RecoveryPlan{Host: "h", File: "shop.db", Steps: []RecoveryStep{{Name: "restore"}, {Name: "stage"}, {Name: "maintenance"},
		{Name: "stop-app"}, {Name: "swap"}, {Name: "start-app"}, {Name: "live"}, {Name: "replica"}}}
	before := standingAfter(p, 2, "")
	assert.Contains(t, before, "the damaged database is untouched")
	assert.NotContains(t, before, "maintenance")
	mid := standingAfter(p, 5, "/v/shop.db.damaged-x")
	assert.Contains(t, mid, "web roles are in maintenance")
	assert.Contains(t, mid, "the damaged database is at /v/shop.db.damaged-x on h")
	assert.Contains(t, mid, "run the recovery again")
	assert.NotContains(t, standingAfter(p, 7, ""), "maintenance", "live already ran")
}

func TestRunbookUsesTheAppsHealthPath(t *testing.T) {
	a := recoveryTestApp()
	a.Roles["web"].Proxy.Health.Path = "/healthz"
	a.Roles["web"].Proxy.Hosts = []string{"shop.example.com"}
	assert.Equal(t, "/healthz", a.healthPath())
	text := a.healthCheckText()
	assert.Contains(t, text, "http://203.0.113.10/healthz")
	assert.Contains(t, text, "Host: shop.example.com")
	assert.NotContains(t, text, "/up")

	a.Roles["web"].Proxy.Health.Path = ""
	assert.Equal(t, "/up", a.healthPath(), "the default when none is set")
}
