package replicate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/slipwayhq/slipway/secret"
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
	// "https://<account>.r2.cloudflarestorage.com", as the app's hosts
	// (and the replicators on them) reach it; "" means AWS.
	Endpoint string
	// OperatorEndpoint is the URL the operator's machine (where Mage or
	// a team's tool runs) reaches the same server at, when that differs
	// from Endpoint: a private address, a tunnel, or in the lab
	// 127.0.0.1 against each host's gateway address. "" means Endpoint.
	// ForOperator picks it; the hosts never see it.
	OperatorEndpoint string
	// VirtualHosted addresses the bucket as a host name even with an
	// Endpoint set; by default a custom Endpoint is addressed path-style,
	// as most compatible servers need.
	VirtualHosted bool
	// AccessKeyIDVar and SecretAccessKeyVar name the secrets holding the
	// credentials; "" means DefaultAccessKeyIDVar and
	// DefaultSecretAccessKeyVar. Only the names are ever rendered or
	// printed.
	AccessKeyIDVar, SecretAccessKeyVar string
	// Secrets looks up the credentials by name; nil means the process
	// environment, where a variable set empty counts as missing.
	Secrets secret.Source
}

// credentialEnv is secret.Env for S3 credentials: an empty key is never
// what a replica means, so a variable set empty is missing, and the
// error says so before Litestream's S3 client would fail less clearly.
type credentialEnv struct{}

func (credentialEnv) Secret(ctx context.Context, name string) (string, error) {
	v, err := secret.Env{}.Secret(ctx, name)
	if err == nil && v == "" {
		return "", &secret.MissingError{Name: name, Where: "set empty in the environment"}
	}
	return v, err
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

func (s S3) secrets() secret.Source {
	if s.Secrets != nil {
		return s.Secrets
	}
	return credentialEnv{}
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

// FieldError is one problem with one field of a Replica.
type FieldError struct {
	// Field is the field's path, such as "s3.bucket" or, under a
	// deploy.App, "databases[0].replica.s3.bucket".
	Field string
	// Problem says what is wrong, what was given and what to do.
	Problem string
}

// Error returns "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Validate reports every problem with the replica, each a *FieldError
// naming its field ("db", "s3.bucket", ...).
func (r Replica) Validate() error {
	return errors.Join(r.ValidateAt("")...)
}

// ValidateAt returns every problem with the replica, each a *FieldError
// whose Field starts with path (joined with a dot). The rules are S3's
// own, so a replica S3 would refuse fails here, before anything runs:
// a bucket name of 3 to 63 lower-case letters, digits, dots and dashes
// that starts and ends with a letter or digit and is not an IP address;
// a replica path that is relative and clean ("app/hello.db", not
// "/app/" or "a/../b"); endpoints that are http or https URLs.
func (r Replica) ValidateAt(path string) []error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: joinField(path, field), Problem: fmt.Sprintf(format, args...)})
	}
	if r.DB == "" {
		add("db", `database path required, such as "/data/app.db"`)
	} else if !filepath.IsAbs(r.DB) {
		add("db", "%q must be an absolute path", r.DB)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"syncInterval", r.SyncInterval}, {"snapshotInterval", r.SnapshotInterval}, {"retention", r.Retention}} {
		if d.v < 0 {
			add(d.name, "must not be negative; 0 means the default, got %s", d.v)
		}
	}
	s := r.S3
	if s == nil {
		return errs
	}
	if r.Dir != "" {
		add("dir", "set either S3 or Dir, not both")
	}
	if problem := bucketProblem(s.Bucket); problem != "" {
		add("s3.bucket", "%s", problem)
	}
	if s.Path != "" {
		if problem := pathProblem(s.Path); problem != "" {
			add("s3.path", "%s", problem)
		}
	}
	if problem := endpointProblem(s.Endpoint); problem != "" {
		add("s3.endpoint", "%s", problem)
	}
	if problem := endpointProblem(s.OperatorEndpoint); problem != "" {
		add("s3.operatorEndpoint", "%s", problem)
	}
	if strings.ContainsFunc(s.Region, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		add("s3.region", "must be a region name without spaces, such as %q, got %q", DefaultRegion, s.Region)
	}
	for _, v := range []struct{ field, name string }{
		{"s3.accessKeyIdVar", s.accessKeyIDVar()}, {"s3.secretAccessKeyVar", s.secretAccessKeyVar()},
	} {
		if !isEnvName(v.name) {
			add(v.field, "credential name %q: letters, digits and underscores only, not starting with a digit", v.name)
		}
	}
	return errs
}

// bucketProblem says what is wrong with an S3 bucket name, or "".
func bucketProblem(b string) string {
	const rules = "a bucket name is 3 to 63 lower-case letters, digits, dots and dashes, starting and ending with a letter or digit"
	switch {
	case b == "":
		return `required; name the bucket, such as "acme-hello-litestream"`
	case len(b) < 3 || len(b) > 63:
		return fmt.Sprintf("%q is %d characters; %s", b, len(b), rules)
	case strings.ContainsFunc(b, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') }):
		return fmt.Sprintf("%q holds a character S3 refuses; %s", b, rules)
	case !isAlnum(b[0]) || !isAlnum(b[len(b)-1]):
		return fmt.Sprintf("%q must start and end with a letter or digit; %s", b, rules)
	case strings.Contains(b, ".."):
		return fmt.Sprintf("%q has two dots in a row, which S3 refuses", b)
	case net.ParseIP(b) != nil:
		return fmt.Sprintf("%q is an IP address, which S3 refuses as a bucket name", b)
	}
	return ""
}

// pathProblem says what is wrong with a replica path inside a bucket, or "".
func pathProblem(p string) string {
	switch {
	case strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q must be relative to the bucket, without a leading \"/\", such as %q", p, strings.Trim(p, "/"))
	case strings.ContainsFunc(p, func(c rune) bool { return c < ' ' || c == 0x7f || c == '\\' }):
		return fmt.Sprintf("%q holds a control character or backslash", p)
	case path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Sprintf("%q must be a clean path (no \"..\", \".\", \"//\" or trailing \"/\"), such as %q", p, cleanPath(p))
	}
	return ""
}

func cleanPath(p string) string {
	c := strings.TrimLeft(path.Clean("/"+p), "/")
	if c == "" {
		return "app.db"
	}
	return c
}

// endpointProblem says what is wrong with an endpoint URL, or "" (also
// for none).
func endpointProblem(e string) string {
	if e == "" {
		return ""
	}
	u, err := url.Parse(e)
	switch {
	case err != nil || u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must be a URL starting with http:// or https://, such as \"https://s3.example.com\"", e)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q must name a host, such as \"https://s3.example.com\"", e)
	case u.User != nil:
		return "must not hold a user or password; name the credentials' secrets in accessKeyIdVar and secretAccessKeyVar"
	case u.RawQuery != "" || u.Fragment != "" || u.Path != "" && u.Path != "/":
		return fmt.Sprintf("%q must be the server's URL alone, without a path, query or fragment: the bucket and path have fields of their own", e)
	}
	return ""
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func joinField(p, name string) string {
	if p == "" {
		return name
	}
	return p + "." + name
}

// ErrNoBucket means the replica's S3 bucket does not exist.
var ErrNoBucket = errors.New("bucket does not exist")

// CheckBucket asks the replica's S3 server whether its bucket exists,
// with one listing of the replica's path that writes nothing, so a
// missing bucket is reported before anything starts instead of in a
// replicator's log. It returns nil (and always for a local directory),
// an error wrapping ErrNoBucket that names the bucket and what to do,
// or the error met reaching the server. Call it with the view of the
// replica this machine has (ForOperator).
func CheckBucket(ctx context.Context, r Replica) error {
	if r.S3 == nil {
		return nil
	}
	client, err := r.client(ctx)
	if err != nil {
		return err
	}
	it, err := client.LTXFiles(ctx, 0, 0, false)
	if err == nil {
		it.Next()
		err = it.Err()
		it.Close()
	}
	if err == nil {
		return nil
	}
	if ae, ok := errors.AsType[smithy.APIError](err); ok && ae.ErrorCode() == "NoSuchBucket" {
		return fmt.Errorf("replica %s: %w: create bucket %q on %s first (Slipway never creates buckets)", r, ErrNoBucket, r.S3.Bucket, orAWS(r.S3.Endpoint))
	}
	return fmt.Errorf("replica %s: check bucket %s: %w", r, r.S3.Bucket, err)
}

func orAWS(endpoint string) string {
	if endpoint == "" {
		return "AWS S3"
	}
	return endpoint
}

// ForOperator returns the replica as the operator's machine reaches it:
// S3.Endpoint is S3.OperatorEndpoint when that is set. Use it for
// whatever runs here (Verify, Drill, Restore on this machine); hand the
// replica itself to whatever runs on a host.
func (r Replica) ForOperator() Replica {
	if r.S3 == nil || r.S3.OperatorEndpoint == "" {
		return r
	}
	s := *r.S3
	s.Endpoint, s.OperatorEndpoint = s.OperatorEndpoint, ""
	r.S3 = &s
	return r
}

// Location is where the replica's objects live, "bucket/path" for S3 or
// the local directory: two replicators must never share one.
func (r Replica) Location() string {
	if r.S3 != nil {
		return r.S3.Bucket + "/" + r.S3.path(r.DB)
	}
	return r.dir()
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
