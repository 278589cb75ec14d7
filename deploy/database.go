package deploy

import (
	"path"

	"github.com/slipwayhq/slipway/replicate"
)

// Replication says which process replicates a Database.
type Replication int

// The ways a database is replicated.
const (
	// ReplicateEmbedded means the app replicates in-process with
	// replicate.Start; Slipway gives its containers the replica's env.
	ReplicateEmbedded Replication = iota
	// ReplicateSidecar means a Litestream sidecar accessory, which
	// Slipway runs beside the database's role, replicates it.
	ReplicateSidecar
)

// String returns "embedded" or "sidecar".
func (r Replication) String() string {
	if r == ReplicateSidecar {
		return "sidecar"
	}
	return "embedded"
}

// Database is one SQLite database the app writes, declared once: the
// sidecar, embedded replication's env, the ready targets (replica:*,
// app:recover, app:drill), validation and the plan all read it.
//
// A database lives on one host: its role must run on exactly one server,
// and that role deploys by handoff (one writer at a time, requests held
// by kamal-proxy while the containers change) unless StartFirst is set.
type Database struct {
	// Name names the database in output and targets; "" means the base
	// name of Path.
	Name string
	// Path is the database file inside the role's containers, such as
	// "/data/app.db". It must lie in one of the app's volumes.
	Path string
	// Role is the role whose containers write the database; "" means the
	// primary role.
	Role string
	// Replica is where the database is replicated; nil means it is not.
	// Its DB is Path when left empty. For a destination with no S3 path
	// of its own, the path is derived from the destination's name.
	Replica *replicate.Replica
	// Replication says which process replicates it.
	Replication Replication
	// StartFirst opts the role out of the handoff deploy: the new
	// container starts while the old one still runs, so two processes
	// hold the file for the overlap. Allowed only with sidecar
	// replication, where one replicator runs whatever the app does.
	StartFirst bool
}

// name returns the database's Name, or the base name of its Path.
func (d Database) name() string {
	if d.Name != "" {
		return d.Name
	}
	return path.Base(d.Path)
}

// role returns the role that writes the database.
func (d Database) role(a App) string {
	if d.Role != "" {
		return d.Role
	}
	return a.primaryRole()
}

// handoffRole reports whether role deploys by handoff: it writes a
// declared database that did not opt for start-first.
func (a App) handoffRole(role string) bool {
	for _, d := range a.Databases {
		if d.role(a) == role && !d.StartFirst {
			return true
		}
	}
	return false
}
