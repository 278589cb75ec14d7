package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/replicate"
)

// Replication says which process replicates a Database.
type Replication int

// The ways a database is replicated.
const (
	// ReplicateEmbedded means the app replicates in-process with
	// replicate.Start. Slipway gives the containers of the database's
	// role the replica as env (Replica.Env: clear settings under
	// replicate.EnvPrefix(name), and the credential secrets by name), so
	// the app rebuilds it with replicate.FromEnv(name).
	ReplicateEmbedded Replication = iota
	// ReplicateSidecar means a Litestream sidecar replicates it: Slipway
	// adds the accessory SidecarAccessoryName(role) on the role's host,
	// sharing the volume that holds the database (see
	// replicate.NewSidecar). Do not also add one by hand.
	ReplicateSidecar
)

// String returns "embedded" or "sidecar".
func (r Replication) String() string {
	switch r {
	case ReplicateEmbedded:
		return "embedded"
	case ReplicateSidecar:
		return "sidecar"
	}
	return fmt.Sprintf("Replication(%d)", int(r))
}

// Database is one SQLite database the app writes, declared once: the
// sidecar, embedded replication's env, the ready targets (replica:*,
// app:recover, app:drill), validation and the plan all read it.
//
// A database lives on one host: its role must run on exactly one server
// (App.Validate says so otherwise), and that role deploys by handoff (one
// writer at a time, requests held by kamal-proxy while the containers
// change) unless StartFirst is set.
//
// Each destination gets a replica of its own: when a destination's
// overlay leaves the replica in the base App's bucket and path, its path
// becomes "<destination>/<base path>" ("staging/hello.db" for a base
// path of "hello.db"). Set S3.Path (or S3.Bucket) in the overlay to
// choose another place; a destination never keeps the base's own bucket
// and path, since the base App deploys too and would write the same
// replica. Validate reports any two destinations, or the base and a
// destination, that would still share a bucket and path.
type Database struct {
	// Name names the database in output, targets and its replica's env
	// (replicate.EnvPrefix); "" means the base name of Path. Names are
	// unique within an App.
	Name string
	// Path is the database file inside the role's containers, such as
	// "/data/app.db": an absolute path inside one of App.Volumes, mounted
	// read-write, so it outlives each release's container.
	Path string
	// Role is the role whose containers write the database; "" means the
	// primary role.
	Role string
	// Replica is where the database is replicated, as the app's hosts
	// reach it (S3.OperatorEndpoint, when set, is how this machine does);
	// nil means it is not replicated. Its DB is Path when left empty, and
	// must equal Path otherwise. Its credentials are resolved through
	// App.Secrets unless S3.Secrets is set.
	Replica *replicate.Replica
	// Replication says which process replicates it.
	Replication Replication
	// SidecarImage is the Litestream image of the sidecar that
	// replicates the database with ReplicateSidecar; "" means
	// replicate.DefaultImage. The databases of one role share one
	// sidecar, so they must agree on it.
	SidecarImage string
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

// SidecarAccessoryName is the key under App.Accessories of the Litestream
// sidecar Slipway derives for the sidecar-replicated databases of role:
// "litestream-" + role, so its container is service-litestream-role.
func SidecarAccessoryName(role string) string { return "litestream-" + role }

// replica returns the database's replica as the app's hosts reach it,
// with DB set to Path and the credentials resolved through the App's
// Secrets when the replica names no source of its own; false when the
// database is not replicated. The Replica and S3 values are copies.
func (d Database) replica(a App) (replicate.Replica, bool) {
	if d.Replica == nil {
		return replicate.Replica{}, false
	}
	r := *d.Replica
	if r.DB == "" {
		r.DB = d.Path
	}
	if r.S3 != nil {
		s := *r.S3
		if s.Secrets == nil && a.Secrets != nil {
			s.Secrets = a.Secrets
		}
		r.S3 = &s
	}
	return r, true
}

// Replicas returns the replica of every replicated database, in the
// order of Databases, as the app's hosts reach it: DB is the database's
// Path, a destination's derived S3 path is in place, and S3.Secrets is
// the App's Secrets when the replica names no source of its own. Call
// ForOperator on one to reach it from this machine.
func (a App) Replicas() []replicate.Replica {
	var rs []replicate.Replica
	for _, d := range a.Databases {
		if r, ok := d.replica(a); ok {
			rs = append(rs, r)
		}
	}
	return rs
}

// expand validates the App and returns it with what its Databases imply
// made explicit, so that the plan, the executor and every other reader
// of roles and accessories see it: the Litestream sidecar accessory of
// each role with sidecar-replicated databases, and on each role with
// embedded-replicated ones, the replica's env (Replica.Env) and its
// credential secret names. The App given is not changed; expanding an
// expanded App changes nothing.
func (a App) expand() (App, error) {
	if err := a.Validate(); err != nil {
		return App{}, err
	}
	return a.derive()
}

// derive is expand without the validation.
func (a App) derive() (App, error) {
	if len(a.Databases) == 0 {
		return a, nil
	}
	c := a.Clone()
	sidecars := map[string][]replicate.Replica{}
	for _, d := range a.Databases {
		r, ok := d.replica(a)
		if !ok {
			continue
		}
		role := d.role(a)
		if d.Replication == ReplicateSidecar {
			r.S3 = withoutSecrets(r.S3) // the sidecar reads its credentials from its env
			sidecars[role] = append(sidecars[role], r)
			continue
		}
		clear, secrets := r.Env(d.name())
		rl := c.Roles[role]
		if rl.Env.Clear == nil {
			rl.Env.Clear = map[string]string{}
		}
		maps.Copy(rl.Env.Clear, clear)
		for _, s := range secrets {
			if !slices.Contains(rl.Env.Secret, s) && !slices.Contains(c.Env.Secret, s) {
				rl.Env.Secret = append(rl.Env.Secret, s)
			}
		}
		c.Roles[role] = rl
	}
	for _, role := range sortedKeys(sidecars) {
		acc, err := a.sidecar(role, sidecars[role])
		if err != nil {
			return App{}, err
		}
		if c.Accessories == nil {
			c.Accessories = map[string]Accessory{}
		}
		c.Accessories[SidecarAccessoryName(role)] = acc
	}
	return c, nil
}

func withoutSecrets(s *replicate.S3) *replicate.S3 {
	if s == nil {
		return nil
	}
	c := *s
	c.Secrets = nil
	return &c
}

// sidecar is the Litestream accessory that replicates rs, the
// sidecar-replicated databases of role, on the role's one host: it
// mounts the volumes that hold them and nothing else of the app's.
func (a App) sidecar(role string, rs []replicate.Replica) (Accessory, error) {
	var vols []string
	image := ""
	for _, d := range a.Databases {
		if d.Replica != nil && d.Replication == ReplicateSidecar && d.role(a) == role && d.SidecarImage != "" {
			image = d.SidecarImage
		}
	}
	for _, r := range rs {
		if i, ok := volumeHolding(a.Volumes, r.DB); ok {
			name, mount := volumeParts(a.Volumes[i])
			if vol := name + ":" + mount; !slices.Contains(vols, vol) {
				vols = append(vols, vol)
			}
		}
	}
	sc, err := replicate.NewSidecar(a.Service, image, vols, rs...)
	if err != nil {
		return Accessory{}, fmt.Errorf("litestream sidecar of role %s: %w", role, err)
	}
	return SidecarAccessory(sc, role), nil
}

// volumeHolding returns the index of the volume whose mount holds file,
// the deepest when mounts nest.
func volumeHolding(volumes []string, file string) (int, bool) {
	best, depth := -1, -1
	for i, v := range volumes {
		_, mount := volumeParts(v)
		if mount == "" || !strings.HasPrefix(file, strings.TrimSuffix(mount, "/")+"/") {
			continue
		}
		if n := len(mount); n > depth {
			best, depth = i, n
		}
	}
	return best, best >= 0
}

// volumeParts splits "name:/path[:ro]" into the name and the cleaned
// mount path; "" for the path of anything else.
func volumeParts(v string) (name, mount string) {
	m := volumeRe.FindStringSubmatch(v)
	if m == nil {
		return "", ""
	}
	return m[1], path.Clean(m[2])
}

// readOnly reports whether a volume is mounted ":ro".
func readOnly(v string) bool {
	m := volumeRe.FindStringSubmatch(v)
	return m != nil && m[3] == "ro"
}

// deriveReplicaPaths gives each database of the destination App c whose
// replica the overlay left where base's is (the same bucket and path) a
// path of its own: "<destination>/<base path>", such as
// "staging/hello.db". The replica is copied first, as the overlay may
// have put a value shared with base there.
func (c *App) deriveReplicaPaths(base App, destination string) {
	for i, d := range c.Databases {
		r, ok := d.replica(*c)
		if !ok || r.S3 == nil {
			continue
		}
		for _, bd := range base.Databases {
			br, ok := bd.replica(base)
			if !ok || br.S3 == nil || bd.name() != d.name() || br.Location() != r.Location() {
				continue
			}
			nr := *d.Replica
			s := *nr.S3
			s.Path = destination + "/" + strings.TrimPrefix(br.Location(), br.S3.Bucket+"/")
			nr.S3 = &s
			c.Databases[i].Replica = &nr
		}
	}
}

// CheckReplicaBuckets asks each replicated database's S3 server, from
// this machine (S3.OperatorEndpoint when set), whether its bucket
// exists, writing nothing: a deploy or a check calls it before anything
// starts, so a missing bucket is an error here rather than a line in a
// replicator's log. The error names every database whose bucket is
// missing (wrapping replicate.ErrNoBucket) or unreachable.
func (a App) CheckReplicaBuckets(ctx context.Context) error {
	var errs []error
	for i, d := range a.Databases {
		r, ok := d.replica(a)
		if !ok {
			continue
		}
		if err := replicate.CheckBucket(ctx, r.ForOperator()); err != nil {
			errs = append(errs, fmt.Errorf("databases[%d] (%s): %w", i, d.name(), err))
		}
	}
	return errors.Join(errs...)
}
