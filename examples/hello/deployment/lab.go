package deployment

import (
	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
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
