package deployment

import (
	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
)

// Lab is hello on the local test lab's first host: the default target of
// its magefile, so `mage deploy` works on a fresh machine. SQLite keeps
// one writer, so the lab runs hello on one host.
func Lab() deploy.App {
	h := lab.Options{}.Host(1)
	return App(deploy.Server{
		Host:         h.Addr,
		KeyFiles:     []string{h.KeyFile},
		KnownHosts:   h.KnownHosts,
		DockerSocket: h.DockerSocket,
	})
}
