package replicate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Defaults for Replica and S3 fields left zero.
const (
	// DefaultSyncInterval is how often new WAL frames are shipped to the
	// replica: the bound on data lost when the host dies.
	DefaultSyncInterval = 1 * time.Second
	// DefaultSnapshotInterval is how often a full snapshot is written,
	// which bounds how many incremental files a restore reads.
	DefaultSnapshotInterval = 24 * time.Hour
	// DefaultRetention is how long snapshots (and the files a restore to a
	// point in that window needs) are kept.
	DefaultRetention = 24 * time.Hour
	// DefaultRegion is the S3 region used when none is given.
	DefaultRegion = "us-east-1"
	// DefaultAccessKeyIDVar and DefaultSecretAccessKeyVar name the
	// secrets that hold the S3 credentials, as in the posture's
	// litestream.yml.
	DefaultAccessKeyIDVar     = "LITESTREAM_ACCESS_KEY_ID"
	DefaultSecretAccessKeyVar = "LITESTREAM_SECRET_ACCESS_KEY"
	// DirSuffix is appended to the database path to name the local
	// replica directory of a Replica with neither S3 nor Dir.
	DirSuffix = "-replica"
)

// Sentinel errors callers branch on.
var (
	// ErrNoBackup means the replica holds no backup of the database yet.
	ErrNoBackup = errors.New("replica holds no backup")
	// ErrStale means the replica's newest position is older than allowed.
	ErrStale = errors.New("replica is stale")
	// ErrSecretMissing means a credential secret has no value.
	ErrSecretMissing = errors.New("secret missing")
	// ErrCABundle means AWS_CA_BUNDLE is set to CAs Litestream cannot use.
	ErrCABundle = errors.New("AWS_CA_BUNDLE cannot be used by Litestream")
)

// Replica is one SQLite database and where its replica lives. With S3
// nil the replica is the local directory Dir, the development default.
type Replica struct {
	// DB is the database file's path as the replicating process sees it:
	// inside the app's volume for a sidecar or an embedded replica.
	DB string
	// S3 is an S3 or S3-compatible target.
	S3 *S3
	// Dir is a local directory target, used when S3 is nil; "" means DB
	// followed by DirSuffix.
	Dir string
	// SyncInterval is how often changes are shipped; 0 means
	// DefaultSyncInterval.
	SyncInterval time.Duration
	// SnapshotInterval is how often a full snapshot is written; 0 means
	// DefaultSnapshotInterval.
	SnapshotInterval time.Duration
	// Retention is how long snapshots are kept; 0 means DefaultRetention.
	Retention time.Duration
	// Unguarded runs replication without the replica's lease, for an S3
	// server that does not honour conditional writes (Start otherwise
	// refuses it with ErrNoConditionalWrites). Nothing then keeps a second
	// replicator off the replica path: two of them fork the replica and a
	// restore mixes both histories. Every start logs a warning saying so.
	Unguarded bool `json:",omitempty"`
}

// S3 is a bucket on AWS S3 or on an S3-compatible server.
type S3 struct {
	// Bucket is required.
	Bucket string
	// Path is the key prefix of this database's replica inside the
	// bucket; "" means the database file's base name.
	Path string
	// Region; "" means DefaultRegion.
	Region string
	// Endpoint is the URL of an S3-compatible server, such as
	// "https://<account>.r2.cloudflarestorage.com"; "" means AWS.
	Endpoint string
	// VirtualHosted addresses the bucket as a host name even with an
	// Endpoint set; by default a custom Endpoint is addressed path-style,
	// as most compatible servers need.
	VirtualHosted bool
	// AccessKeyIDVar and SecretAccessKeyVar name the secrets holding the
	// credentials; "" means DefaultAccessKeyIDVar and
	// DefaultSecretAccessKeyVar. Only the names are ever rendered or
	// printed.
	AccessKeyIDVar, SecretAccessKeyVar string
	// Secrets resolves the credentials by name; nil means the process
	// environment. deploy.SecretSource satisfies it.
	Secrets SecretSource
}

// SecretSource resolves secret values by name.
type SecretSource interface {
	// Secret returns the value of name, or an error.
	Secret(ctx context.Context, name string) (string, error)
}

type envSecrets struct{}

func (envSecrets) Secret(_ context.Context, name string) (string, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return "", fmt.Errorf("%w: set %s in the environment", ErrSecretMissing, name)
	}
	return v, nil
}

func (r Replica) syncInterval() time.Duration { return orDefault(r.SyncInterval, DefaultSyncInterval) }
func (r Replica) snapshotInterval() time.Duration {
	return orDefault(r.SnapshotInterval, DefaultSnapshotInterval)
}
func (r Replica) retention() time.Duration { return orDefault(r.Retention, DefaultRetention) }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (r Replica) dir() string {
	if r.Dir != "" {
		return r.Dir
	}
	return r.DB + DirSuffix
}

func (s S3) path(db string) string {
	if s.Path != "" {
		return strings.Trim(s.Path, "/")
	}
	return filepath.Base(db)
}

func (s S3) region() string {
	if s.Region != "" {
		return s.Region
	}
	return DefaultRegion
}

func (s S3) pathStyle() bool { return s.Endpoint != "" && !s.VirtualHosted }

func (s S3) accessKeyIDVar() string {
	if s.AccessKeyIDVar != "" {
		return s.AccessKeyIDVar
	}
	return DefaultAccessKeyIDVar
}

func (s S3) secretAccessKeyVar() string {
	if s.SecretAccessKeyVar != "" {
		return s.SecretAccessKeyVar
	}
	return DefaultSecretAccessKeyVar
}

func (s S3) secrets() SecretSource {
	if s.Secrets != nil {
		return s.Secrets
	}
	return envSecrets{}
}

// SecretNames lists the names of the secrets the replica needs, for a
// deploy's Env.Secret; none for a local directory.
func (r Replica) SecretNames() []string {
	if r.S3 == nil {
		return nil
	}
	return []string{r.S3.accessKeyIDVar(), r.S3.secretAccessKeyVar()}
}

// String names the replica's target, such as "s3://bucket/app.db" or
// "file:///data/app.db-replica"; it never holds a credential.
func (r Replica) String() string {
	if r.S3 != nil {
		return "s3://" + r.S3.Bucket + "/" + r.S3.path(r.DB)
	}
	return "file://" + r.dir()
}

// object names one replica object for messages, as a URL.
func (r Replica) object(level int, name string) string {
	if r.S3 != nil {
		return "s3://" + path.Join(r.S3.Bucket, r.S3.path(r.DB), fmt.Sprintf("%04x", level), name)
	}
	return "file://" + filepath.Join(r.dir(), "ltx", fmt.Sprint(level), name)
}

// Validate reports every problem with the replica, each naming its field.
func (r Replica) Validate() error {
	var errs []error
	if r.DB == "" {
		errs = append(errs, errors.New("DB: database path required"))
	} else if !filepath.IsAbs(r.DB) {
		errs = append(errs, fmt.Errorf("DB: %q must be an absolute path", r.DB))
	}
	if r.SyncInterval < 0 || r.SnapshotInterval < 0 || r.Retention < 0 {
		errs = append(errs, errors.New("SyncInterval, SnapshotInterval, Retention: must not be negative"))
	}
	if s := r.S3; s != nil {
		if r.Dir != "" {
			errs = append(errs, errors.New("Dir: set either S3 or Dir, not both"))
		}
		if s.Bucket == "" {
			errs = append(errs, errors.New("S3.Bucket: required"))
		}
		if s.Endpoint != "" && !strings.HasPrefix(s.Endpoint, "http://") && !strings.HasPrefix(s.Endpoint, "https://") {
			errs = append(errs, fmt.Errorf("S3.Endpoint: %q must start with http:// or https://", s.Endpoint))
		}
		for _, v := range []string{s.accessKeyIDVar(), s.secretAccessKeyVar()} {
			if !isEnvName(v) {
				errs = append(errs, fmt.Errorf("S3 credential name %q: letters, digits and underscores only", v))
			}
		}
	}
	return errors.Join(errs...)
}

func isEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
