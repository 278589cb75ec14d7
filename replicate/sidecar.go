package replicate

import (
	"fmt"
	"sort"
)

// Defaults of a Litestream sidecar.
const (
	// DefaultImage is the image a sidecar runs: Slipway's own sidecar
	// program (SidecarPackage), a static binary built on the Litestream
	// release Slipway is tested against, in a FROM scratch image whose
	// entrypoint it is. Unlike the litestream CLI it holds the replica's
	// lease, so a second replicator on one replica path is refused.
	// deploy.SidecarBuild builds it.
	DefaultImage = "slipway/litestream:v0.5.18"
	// SidecarPackage is the sidecar program's Go package, and
	// SidecarBinary its path in DefaultImage.
	SidecarPackage = "github.com/slipwayhq/slipway/replicate/cmd/slipway-litestream"
	SidecarBinary  = "/slipway-litestream"
	// DefaultConfigPath is where the sidecar reads its litestream.yml.
	DefaultConfigPath = "/etc/litestream.yml"
)

// Sidecar is the container spec of a Litestream accessory that runs next
// to an app and replicates its databases: the deploy layer creates it
// on every host of the app's primary role, uploads Config to the host and
// mounts it read-only at ConfigPath, mounts Volumes (the app's own, so
// both see the same database files) and passes the Secrets by name.
type Sidecar struct {
	Name  string   // the container's name, "<service>-litestream"
	Image string   // the sidecar image, DefaultImage unless chosen
	Cmd   []string // the arguments to the image's entrypoint, slipway-litestream (or litestream, whose replicate and restore take the same flags)
	// Volumes are the app's volumes, "name:/path", shared with the app.
	Volumes []string
	// Secrets are the env names whose values the container needs; the
	// deploy layer resolves them like the app's secrets.
	Secrets []string
	// ConfigPath is where Config must be inside the container.
	ConfigPath string
	// Config is the rendered litestream.yml; it holds no secret.
	Config []byte
}

// NewSidecar returns the sidecar that replicates the replicas of service,
// whose containers mount volumes; image "" means DefaultImage. The
// container gets no AWS_CA_BUNDLE (Litestream v0.5.18 cannot load one).
// An image of the litestream CLI still runs the same Cmd, but takes no
// lease: nothing then keeps a second replicator off the replica.
func NewSidecar(service, image string, volumes []string, replicas ...Replica) (Sidecar, error) {
	cfg, err := Config(replicas...)
	if err != nil {
		return Sidecar{}, fmt.Errorf("sidecar for %s: %w", service, err)
	}
	if image == "" {
		image = DefaultImage
	}
	seen := map[string]bool{}
	var secrets []string
	for _, r := range replicas {
		for _, s := range r.SecretNames() {
			if !seen[s] {
				seen[s] = true
				secrets = append(secrets, s)
			}
		}
	}
	sort.Strings(secrets)
	return Sidecar{
		Name:       service + "-litestream",
		Image:      image,
		Cmd:        []string{"replicate", "-config", DefaultConfigPath},
		Volumes:    append([]string(nil), volumes...),
		Secrets:    secrets,
		ConfigPath: DefaultConfigPath,
		Config:     cfg,
	}, nil
}

// RestoreCmd is the command a one-off container of the sidecar's image
// runs before the app boots, to restore r.DB when it is missing (and do
// nothing when there is no backup yet).
func (s Sidecar) RestoreCmd(r Replica) []string {
	return []string{"restore", "-config", s.ConfigPath, "-if-db-not-exists", "-if-replica-exists", r.DB}
}
