package deployment

import (
	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

// Lab is hello on the local test lab's first host: the default target of
// its magefile, so `mage deploy` works on a fresh machine. SQLite keeps
// one writer, so the lab runs hello on one host. When the lab's S3 server
// runs, hello's database is replicated there (bucket "hello") by hello
// itself, with the credentials from the lab's secrets file: the host
// reaches the server at its gateway address, this machine at 127.0.0.1.
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
		app.Databases[0].Replica = &replicate.Replica{S3: &replicate.S3{
			Bucket:           LabBucket,
			Path:             "hello.db",
			Endpoint:         s3.HostEndpoint(h),
			OperatorEndpoint: s3.Endpoint,
		}}
		app.Secrets = secret.Chain{secret.File{Path: lab.SecretsFile(opts)}, secret.Env{}}
	}
	return app
}

// LabBucket is the lab S3 bucket hello replicates to.
const LabBucket = "hello"

// LabReplicas are hello's replicas in the lab, as the operator's machine
// reaches them (for a tool that verifies or drills them); none when the
// lab's S3 server does not run. The ready targets read them from
// Lab().Databases themselves.
func LabReplicas() []replicate.Replica {
	rs := Lab().Replicas()
	for i := range rs {
		rs[i] = rs[i].ForOperator()
	}
	return rs
}

// DrillDropEnv is what a whole-app drill's disposable copy of hello must
// not get: its replica's env, without which hello runs unreplicated and
// never writes to the real replica.
var DrillDropEnv = replicate.EnvNames("hello.db")

// DrillQueries are the critical reads every drill of hello runs.
var DrillQueries = []replicate.Query{
	{Name: "visits readable", SQL: "SELECT id FROM visits ORDER BY id DESC LIMIT 10", MinRows: 1},
}

// SmokeChecks are what a whole-app drill asks a restored hello.
var SmokeChecks = []deploy.SmokeCheck{{Path: "/up"}, {Path: "/", Body: "hello from"}}

// Isolated is app under another service name, with a volume, a proxy host
// (service + ".test") and a replica bucket of its own, and that replica as
// this machine reaches it: a copy for tests and previews that never
// touches the real hello or its backups. endpoint is the S3 server as the
// app's host reaches it, and must be reachable from this machine too.
func Isolated(app deploy.App, service, bucket, endpoint string, secrets secret.Source) (deploy.App, replicate.Replica) {
	app = app.Clone()
	app.Service = service
	app.Volumes = []string{service + "-data:/data"}
	web := app.Roles["web"]
	px := *web.Proxy
	px.Hosts = []string{service + ".test"}
	web.Proxy = &px
	app.Roles["web"] = web
	app.Databases[0].Replica = &replicate.Replica{S3: &replicate.S3{Bucket: bucket, Path: "hello.db", Endpoint: endpoint}}
	app.Secrets = secrets
	return app, app.Replicas()[0].ForOperator()
}
