package deployment

import (
	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
)

// Lab is hello on the local test lab's first host: the default target of
// its magefile, so `mage deploy` works on a fresh machine. SQLite keeps
// one writer, so the lab runs hello on one host. When the lab's S3 server
// runs, hello replicates its database there (bucket "hello") with the
// credentials from the lab's secrets file.
func Lab() deploy.App {
	opts := lab.Options{}
	h := opts.Host(1)
	app := App(deploy.Server{
		Host:         h.Addr,
		KeyFiles:     []string{h.KeyFile},
		KnownHosts:   h.KnownHosts,
		DockerSocket: h.DockerSocket,
	})
	if s3, err := lab.OpenS3(opts); err == nil {
		app.Env.Clear["LITESTREAM_BUCKET"] = LabBucket
		app.Env.Clear["LITESTREAM_ENDPOINT"] = s3.HostEndpoint(h)
		app.Env.Secret = []string{"LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY"}
		app.Secrets = deploy.Chain(deploy.FileSecrets{Path: lab.SecretsFile(opts)}, deploy.EnvSecrets{})
	}
	return app
}

// LabBucket is the lab S3 bucket hello replicates to.
const LabBucket = "hello"

// LabReplicas are hello's replicas in the lab, as the operator's machine
// reaches them: for replica:verify, replica:drill and replica:restore.
// None when the lab's S3 server does not run.
func LabReplicas() []replicate.Replica {
	opts := lab.Options{}
	s3, err := lab.OpenS3(opts)
	if err != nil {
		return nil
	}
	return []replicate.Replica{{
		DB: "/data/hello.db",
		S3: &replicate.S3{
			Bucket:   LabBucket,
			Path:     "hello.db",
			Endpoint: s3.HostEndpoint(opts.Host(1)),
			Secrets:  deploy.Chain(deploy.FileSecrets{Path: lab.SecretsFile(opts)}, deploy.EnvSecrets{}),
		},
	}}
}

// DrillQueries are the critical reads every drill of hello runs.
var DrillQueries = []replicate.Query{
	{Name: "visits readable", SQL: "SELECT id FROM visits ORDER BY id DESC LIMIT 10", MinRows: 1},
}

// SmokeChecks are what a whole-app drill asks a restored hello.
var SmokeChecks = []deploy.SmokeCheck{{Path: "/up"}, {Path: "/", Body: "hello from"}}

// Isolated is app under another service name, with a volume, a proxy host
// (service + ".test") and a replica bucket of its own, and that replica as
// this machine reaches it: a copy for tests and previews that never
// touches the real hello or its backups.
func Isolated(app deploy.App, service, bucket, endpoint string, secrets deploy.SecretSource) (deploy.App, replicate.Replica) {
	app = app.Clone()
	app.Service = service
	app.Volumes = []string{service + "-data:/data"}
	web := app.Roles["web"]
	px := *web.Proxy
	px.Hosts = []string{service + ".test"}
	web.Proxy = &px
	app.Roles["web"] = web
	app.Env.Clear["LITESTREAM_BUCKET"] = bucket
	app.Env.Clear["LITESTREAM_ENDPOINT"] = endpoint
	app.Env.Secret = []string{"LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY"}
	app.Secrets = secrets
	return app, replicate.Replica{DB: "/data/hello.db", S3: &replicate.S3{
		Bucket: bucket, Path: "hello.db", Endpoint: endpoint, Secrets: secrets}}
}
