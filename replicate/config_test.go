package replicate_test

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

type probedDB struct {
	Path               string `json:"path"`
	Type               string `json:"type"`
	SyncInterval       string `json:"sync-interval"`
	Bucket             string `json:"bucket"`
	PathInBucket       string `json:"path-in-bucket"`
	Region             string `json:"region"`
	Endpoint           string `json:"endpoint"`
	ForcePathStyle     bool   `json:"force-path-style"`
	AccessKeyIDSet     bool   `json:"access-key-id-set"`
	SecretKeySet       bool   `json:"secret-access-key-set"`
	AccessKeyIDMatches bool   `json:"access-key-id-matches"`
	Dir                string `json:"dir"`
}

type probed struct {
	SnapshotInterval  string     `json:"snapshot-interval"`
	SnapshotRetention string     `json:"snapshot-retention"`
	DBs               []probedDB `json:"dbs"`
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name     string
		replicas []replicate.Replica
		want     probed
	}{
		{
			name:     "s3 compatible endpoint with defaults",
			replicas: []replicate.Replica{{DB: "/data/app.db", S3: &replicate.S3{Bucket: "app-litestream", Endpoint: "http://127.0.0.1:7070"}}},
			want: probed{SnapshotInterval: "24h0m0s", SnapshotRetention: "24h0m0s", DBs: []probedDB{{
				Path: "/data/app.db", Type: "s3", SyncInterval: "1s", Bucket: "app-litestream", PathInBucket: "app.db",
				Region: "us-east-1", Endpoint: "http://127.0.0.1:7070", ForcePathStyle: true,
				AccessKeyIDSet: true, SecretKeySet: true, AccessKeyIDMatches: true,
			}}},
		},
		{
			name: "aws with its own secret names and intervals",
			replicas: []replicate.Replica{{
				DB: "/rails/storage/production.sqlite3", SyncInterval: 250 * time.Millisecond, SnapshotInterval: 6 * time.Hour, Retention: 72 * time.Hour,
				S3: &replicate.S3{Bucket: "my-app-litestream", Path: "production/production.sqlite3", Region: "eu-west-1",
					AccessKeyIDVar: "APP_S3_KEY", SecretAccessKeyVar: "APP_S3_SECRET"},
			}},
			want: probed{SnapshotInterval: "6h0m0s", SnapshotRetention: "72h0m0s", DBs: []probedDB{{
				Path: "/rails/storage/production.sqlite3", Type: "s3", SyncInterval: "250ms", Bucket: "my-app-litestream",
				PathInBucket: "production/production.sqlite3", Region: "eu-west-1", AccessKeyIDSet: true, SecretKeySet: true, AccessKeyIDMatches: true,
			}}},
		},
		{
			name: "local directory for development, two databases",
			replicas: []replicate.Replica{
				{DB: "/data/app.db"},
				{DB: "/data/queue db.sqlite", Dir: "/backups/queue", SyncInterval: 5 * time.Second},
			},
			want: probed{SnapshotInterval: "24h0m0s", SnapshotRetention: "24h0m0s", DBs: []probedDB{
				{Path: "/data/app.db", Type: "file", SyncInterval: "1s", Dir: "/data/app.db-replica"},
				{Path: "/data/queue db.sqlite", Type: "file", SyncInterval: "5s", Dir: "/backups/queue"},
			}},
		},
	}
	probe := ""
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replicate.Config(tc.replicas...)
			require.NoError(t, err)
			golden := filepath.Join("testdata", sanitize(tc.name)+".yml")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "rendered litestream.yml differs from %s (run with -update to accept)", golden)
			assert.NotContains(t, string(got), "s3cr3t", "credentials are references, never values")

			if probe == "" {
				probe = lab.LitestreamConfigProbe(t)
			}
			cmd := exec.Command(probe)
			cmd.Env = []string{"SLIPWAY_PROBE_CONFIG=" + golden, "SLIPWAY_PROBE_EXPECT_ID=AKIDEXAMPLE", "PATH=/usr/bin:/bin",
				"LITESTREAM_ACCESS_KEY_ID=AKIDEXAMPLE", "LITESTREAM_SECRET_ACCESS_KEY=s3cr3t",
				"APP_S3_KEY=AKIDEXAMPLE", "APP_S3_SECRET=s3cr3t"}
			out, err := cmd.Output()
			require.NoError(t, err, "Litestream's loader rejected %s: %s", golden, stderr(err))
			var p probed
			require.NoError(t, json.Unmarshal(out, &p))
			assert.Equal(t, tc.want, p, "Litestream loaded other settings than Slipway rendered")
		})
	}
}

func TestConfigRejectsBadReplicas(t *testing.T) {
	_, err := replicate.Config(
		replicate.Replica{DB: "app.db", S3: &replicate.S3{Endpoint: "127.0.0.1:7070", AccessKeyIDVar: "bad-name"}, Dir: "/x"},
		replicate.Replica{DB: "/data/b.db", Retention: time.Hour},
	)
	require.Error(t, err)
	for _, want := range []string{"db: \"app.db\" must be an absolute path", "s3.bucket: required", "s3.endpoint", "\"bad-name\"", "dir: set either S3 or Dir", "replica 1 (/data/b.db): SnapshotInterval and Retention must match"} {
		assert.Contains(t, err.Error(), want)
	}
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	return string(b)
}

func stderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
