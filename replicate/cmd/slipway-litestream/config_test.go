package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/replicate"
)

// The sidecar reads back exactly the replicas replicate.Config rendered.
func TestReadConfigRoundTrips(t *testing.T) {
	cases := map[string][]replicate.Replica{
		"s3 with defaults": {{DB: "/data/app.db", S3: &replicate.S3{Bucket: "app-litestream", Endpoint: "https://s3.example.com"}}},
		"aws with its own secret names and intervals": {{DB: "/data/app.db", SyncInterval: 5 * time.Second, SnapshotInterval: time.Hour, Retention: 48 * time.Hour,
			S3: &replicate.S3{Bucket: "app-litestream", Path: "prod/app.db", Region: "eu-west-1", AccessKeyIDVar: "AWS_ID", SecretAccessKeyVar: "AWS_KEY"}}},
		"virtual-hosted, unguarded": {{DB: "/data/app.db", Unguarded: true, S3: &replicate.S3{Bucket: "app-litestream", Endpoint: "https://s3.example.com", VirtualHosted: true}}},
		"two local directories":     {{DB: "/data/app.db"}, {DB: "/data/queue db.sqlite", Dir: "/backups/queue"}},
	}
	for name, rs := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := replicate.Config(rs...)
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "litestream.yml")
			require.NoError(t, os.WriteFile(path, b, 0o644))
			got, err := readConfig(path)
			require.NoError(t, err)
			require.Len(t, got, len(rs))
			for i, r := range rs {
				want, _ := replicate.Config(r)
				back, _ := replicate.Config(got[i])
				assert.Equal(t, string(want), string(back), "replica %d renders the same after the round trip", i)
				assert.Equal(t, r.String(), got[i].String())
				assert.Equal(t, r.Unguarded, got[i].Unguarded)
			}
		})
	}
}

func TestReadConfigRefusesALiteralCredential(t *testing.T) {
	path := filepath.Join(t.TempDir(), "litestream.yml")
	require.NoError(t, os.WriteFile(path, []byte("dbs:\n  - path: /data/app.db\n    replica:\n      type: s3\n      bucket: app-litestream\n      access-key-id: AKIAVERYSECRET\n"), 0o644))
	_, err := readConfig(path)
	require.ErrorContains(t, err, "dbs[0].replica.access-key-id: must be a ${VAR} reference")
	assert.NotContains(t, err.Error(), "AKIAVERYSECRET")
}
