package targets

import (
	"context"
	"testing"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

func TestReplicaTargetsReadTheAppsDatabases(t *testing.T) {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10")}},
		Volumes: []string{"hello-data:/data"},
		Secrets: secret.File{Path: ".slipway/secrets"},
		Databases: []deploy.Database{{Path: "/data/hello.db", Replica: &replicate.Replica{S3: &replicate.S3{
			Bucket: "hello-litestream", Endpoint: "http://10.0.0.1:9000", OperatorEndpoint: "http://127.0.0.1:9000"}}}},
		Destinations: map[string]func(*deploy.App){"staging": nil},
	}
	Use(Config{App: app})
	t.Cleanup(func() { Use(Config{}) })

	rs, _, log, err := configuredReplicas(nil)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, "s3://hello-litestream/hello.db", rs[0].String())
	assert.Equal(t, "http://127.0.0.1:9000", rs[0].S3.Endpoint, "this machine's view")
	assert.Equal(t, "/data/hello.db", rs[0].DB)
	assert.Equal(t, app.Secrets, rs[0].S3.Secrets, "credentials through the App's secrets")
	assert.Equal(t, DefaultDrillLog, log)

	staging := "staging"
	rs, _, _, err = configuredReplicas(&staging)
	require.NoError(t, err)
	assert.Equal(t, "s3://hello-litestream/staging/hello.db", rs[0].String(), "the destination's own replica")

	rs, _, _, err = hostReplicas(&staging)
	require.NoError(t, err)
	assert.Equal(t, "http://10.0.0.1:9000", rs[0].S3.Endpoint, "the hosts' view")

	bare := app
	bare.Databases = nil
	Use(Config{App: bare})
	_, _, _, err = configuredReplicas(nil)
	assert.EqualError(t, err, "no replicated database: declare the app's database in App.Databases with a Replica")
}

// deploy names a missing replica bucket before any host is touched.
func TestDeployRefusesAMissingBucket(t *testing.T) {
	s3 := lab.RequireS3(t)
	touched := false
	app := deploy.App{
		Service: "modelbk",
		Image:   "ghcr.io/acme/hello",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10")}},
		Volumes: []string{"modelbk-data:/data"},
		Secrets: secret.File{Path: lab.SecretsFile(lab.Options{})},
		Databases: []deploy.Database{{Path: "/data/app.db", Replica: &replicate.Replica{S3: &replicate.S3{
			Bucket: "model-missing-bucket", Endpoint: "http://203.0.113.1:7070", OperatorEndpoint: s3.Endpoint}}}},
		Hooks: deploy.Hooks{PreConnect: func(context.Context, deploy.HookContext) error { touched = true; return nil }},
	}
	Use(Config{App: app})
	t.Cleanup(func() { Use(Config{}) })
	version := "v1"
	err := Deploy(context.Background(), &version, nil)
	require.Error(t, err)
	assert.Equal(t, ExitFailed, mg.ExitStatus(err))
	assert.Contains(t, err.Error(), `create bucket "model-missing-bucket"`)
	assert.False(t, touched, "no host is touched")
}

// replica:restore names the transaction and its time, not a raw struct
// (issue 15: it printed "{49 2026-12-01 18:36:56 +0000 UTC 1 s3://...}").
func TestRestoredLineReadsAsASentence(t *testing.T) {
	r := replicate.Replica{DB: "/data/hello.db", S3: &replicate.S3{Bucket: "hello-litestream", Path: "hello.db"}}
	pos := replicate.Position{TXID: 49, Time: time.Date(2026, 12, 1, 18, 36, 56, 0, time.UTC), Level: 1, Object: "s3://hello-litestream/hello.db/0001/x.ltx"}
	assert.Equal(t, "restored s3://hello-litestream/hello.db to restored.db: transaction 49, written 2026-12-01T18:36:56Z",
		restoredLine(r, "restored.db", pos))
}
