package deploy

import (
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/replicate"
)

// SidecarAccessory makes a replication sidecar an accessory of the app on
// the hosts of roles: Litestream runs beside the app, shares its volume,
// gets its litestream.yml copied in through the engine API, and its S3
// credentials as secrets by name.
//
// A Database with Replication: ReplicateSidecar gets this accessory
// without asking (under SidecarAccessoryName(role)); write one by hand
// only for a database not declared with a Replica in App.Databases, or
// two replicators would write one replica. Name it replicate's way:
//
//	sc, _ := replicate.NewSidecar(app.Service, "", app.Volumes, replica)
//	app.Accessories = map[string]deploy.Accessory{"litestream": deploy.SidecarAccessory(sc, "web")}
//
// Slipway's own sidecar image (replicate.DefaultImage) is in no registry:
// the accessory builds it from Slipway's module with SidecarBuild and
// delivers it over SSH, like a built app image.
func SidecarAccessory(sc replicate.Sidecar, roles ...string) Accessory {
	var build image.Builder
	if sc.Image == replicate.DefaultImage {
		build = SidecarBuild
	}
	return Accessory{
		Build:   build,
		Image:   sc.Image,
		Roles:   roles,
		Cmd:     sc.Cmd,
		Env:     Env{Secret: sc.Secrets},
		Volumes: sc.Volumes,
		Files:   map[string]string{sc.ConfigPath: string(sc.Config)},
	}
}
