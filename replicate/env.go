package replicate

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// The env a Replica travels in to the process that replicates it. Each
// name is EnvPrefix(db) followed by one of these; only the names that
// have a value are set, and credentials never travel this way: their
// values come in the secrets named by the ..._VAR entries.
const (
	// envDB is the database's path; its presence turns replication on.
	envDB                 = "DB"
	envBucket             = "BUCKET"
	envPath               = "PATH"
	envRegion             = "REGION"
	envEndpoint           = "ENDPOINT"
	envVirtualHosted      = "VIRTUAL_HOSTED"
	envAccessKeyIDVar     = "ACCESS_KEY_ID_VAR"
	envSecretAccessKeyVar = "SECRET_ACCESS_KEY_VAR"
	envDir                = "DIR"
	envSyncInterval       = "SYNC_INTERVAL"
	envSnapshotInterval   = "SNAPSHOT_INTERVAL"
	envRetention          = "RETENTION"
)

// EnvPrefix is the prefix of the env names that carry the replica of the
// database named db: "SLIPWAY_REPLICA_" and db in upper case with every
// character other than a letter or digit made "_", then "_". For
// "hello.db" it is "SLIPWAY_REPLICA_HELLO_DB_"; the replica is on when
// EnvPrefix(db)+"DB" (the database's path) is set.
func EnvPrefix(db string) string {
	b := []byte(strings.ToUpper(db))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return envRoot + string(b) + "_"
}

// envRoot starts every EnvPrefix.
const envRoot = "SLIPWAY_REPLICA_"

// ReplicationEnvPrefixes start every env name that can turn replication
// on in a process: embedded replication's (EnvPrefix, "SLIPWAY_REPLICA_")
// and Litestream's own ("LITESTREAM_": LITESTREAM_BUCKET and the default
// credential names). A process that must not replicate, such as a
// drill's copy of the app, gets none of them. Each call returns a new
// slice, so no caller can change what another sees.
func ReplicationEnvPrefixes() []string { return []string{envRoot, "LITESTREAM_"} }

// Env returns the replica as env for the process that replicates it
// (an app that calls Start, say): clear holds its settings under
// EnvPrefix(db), secrets the names of the credential secrets, whose
// values must reach the process under those names (SecretNames).
// FromEnv(db) in that process rebuilds the replica. S3.Secrets and
// S3.OperatorEndpoint stay behind: the process reads its credentials
// from its own environment, and reaches S3 at Endpoint.
func (r Replica) Env(db string) (clear map[string]string, secrets []string) {
	p := EnvPrefix(db)
	clear = map[string]string{p + envDB: r.DB}
	set := func(name, v string) {
		if v != "" {
			clear[p+name] = v
		}
	}
	if s := r.S3; s != nil {
		set(envBucket, s.Bucket)
		set(envPath, s.path(r.DB))
		set(envRegion, s.Region)
		set(envEndpoint, s.Endpoint)
		if s.VirtualHosted {
			set(envVirtualHosted, "true")
		}
		set(envAccessKeyIDVar, s.AccessKeyIDVar)
		set(envSecretAccessKeyVar, s.SecretAccessKeyVar)
	} else {
		set(envDir, r.Dir)
	}
	for name, d := range map[string]time.Duration{envSyncInterval: r.SyncInterval, envSnapshotInterval: r.SnapshotInterval, envRetention: r.Retention} {
		if d != 0 {
			set(name, d.String())
		}
	}
	return clear, r.SecretNames()
}

// FromEnv rebuilds, from the process environment, the replica Env gave
// for the database named db (in a deploy.App, the Database's Name, or
// the base name of its Path). It reports false when the environment
// holds no replica for db, so the app runs unreplicated (in development,
// say), and an error when the values are malformed or fail Validate.
// The replica's credentials are read, when it starts, from the secrets
// its ..._VAR names (by default LITESTREAM_ACCESS_KEY_ID and
// LITESTREAM_SECRET_ACCESS_KEY).
func FromEnv(db string) (Replica, bool, error) {
	return fromEnv(db, os.LookupEnv)
}

func fromEnv(db string, lookup func(string) (string, bool)) (Replica, bool, error) {
	p := EnvPrefix(db)
	get := func(name string) string {
		v, _ := lookup(p + name)
		return v
	}
	dbPath, ok := lookup(p + envDB)
	if !ok || dbPath == "" {
		return Replica{}, false, nil
	}
	r := Replica{DB: dbPath, Dir: get(envDir)}
	var errs []string
	for name, d := range map[string]*time.Duration{envSyncInterval: &r.SyncInterval, envSnapshotInterval: &r.SnapshotInterval, envRetention: &r.Retention} {
		v := get(name)
		if v == "" {
			continue
		}
		var err error
		if *d, err = time.ParseDuration(v); err != nil {
			errs = append(errs, fmt.Sprintf("%s%s: %q is not a duration such as \"1s\"", p, name, v))
		}
	}
	if bucket := get(envBucket); bucket != "" {
		r.S3 = &S3{
			Bucket:             bucket,
			Path:               get(envPath),
			Region:             get(envRegion),
			Endpoint:           get(envEndpoint),
			AccessKeyIDVar:     get(envAccessKeyIDVar),
			SecretAccessKeyVar: get(envSecretAccessKeyVar),
		}
		switch v := get(envVirtualHosted); v {
		case "", "false":
		case "true":
			r.S3.VirtualHosted = true
		default:
			errs = append(errs, fmt.Sprintf("%s%s: %q must be \"true\" or \"false\"", p, envVirtualHosted, v))
		}
	}
	slices.Sort(errs)
	if len(errs) > 0 {
		return Replica{}, false, fmt.Errorf("replica of %s from the environment: %s", db, strings.Join(errs, "; "))
	}
	if err := r.Validate(); err != nil {
		return Replica{}, false, fmt.Errorf("replica of %s from the environment (%s*): %w", db, p, err)
	}
	return r, true, nil
}

// EnvNames lists every env name Env can set for the database named db,
// sorted: the names a disposable copy of the app (a drill) drops so that
// it never replicates into the real replica.
func EnvNames(db string) []string {
	p := EnvPrefix(db)
	names := []string{envDB, envBucket, envPath, envRegion, envEndpoint, envVirtualHosted,
		envAccessKeyIDVar, envSecretAccessKeyVar, envDir, envSyncInterval, envSnapshotInterval, envRetention}
	for i := range names {
		names[i] = p + names[i]
	}
	slices.Sort(names)
	return names
}
