package replicate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/replicate"
)

// The operator side turns a replica into env for the app's containers;
// inside the app, one call rebuilds it.
func ExampleFromEnv() {
	replica := replicate.Replica{DB: "/data/hello.db", S3: &replicate.S3{
		Bucket: "hello-litestream", Path: "staging/hello.db", Endpoint: "https://s3.example.com"}}
	clear, secrets := replica.Env("hello.db")
	names := make([]string, 0, len(clear))
	for k := range clear {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Printf("%s=%s\n", k, clear[k])
	}
	fmt.Println("secrets:", strings.Join(secrets, ", "))

	// In the app (here the values are set by hand; a deploy sets them):
	for k, v := range clear {
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}
	r, ok, err := replicate.FromEnv("hello.db")
	fmt.Println(r, ok, err)
	// Output:
	// SLIPWAY_REPLICA_HELLO_DB_BUCKET=hello-litestream
	// SLIPWAY_REPLICA_HELLO_DB_DB=/data/hello.db
	// SLIPWAY_REPLICA_HELLO_DB_ENDPOINT=https://s3.example.com
	// SLIPWAY_REPLICA_HELLO_DB_PATH=staging/hello.db
	// secrets: LITESTREAM_ACCESS_KEY_ID, LITESTREAM_SECRET_ACCESS_KEY
	// s3://hello-litestream/staging/hello.db true <nil>
}

func TestEnvRoundTrips(t *testing.T) {
	for name, r := range map[string]replicate.Replica{
		"s3 with every field": {DB: "/data/app.db", SyncInterval: 2 * time.Second, SnapshotInterval: time.Hour, Retention: 48 * time.Hour,
			S3: &replicate.S3{Bucket: "acme.app-1", Path: "prod/app.db", Region: "eu-west-1", Endpoint: "https://s3.example.com",
				VirtualHosted: true, AccessKeyIDVar: "APP_KEY", SecretAccessKeyVar: "APP_SECRET"}},
		"s3 with defaults": {DB: "/data/app.db", S3: &replicate.S3{Bucket: "acme-app", Path: "app.db"}},
		"local directory":  {DB: "/data/app.db", Dir: "/backup/app"},
	} {
		t.Run(name, func(t *testing.T) {
			clear, secrets := r.Env("app.db")
			for k := range clear {
				t.Setenv(k, clear[k])
				assert.Contains(t, replicate.EnvNames("app.db"), k, "EnvNames lists every name Env sets")
			}
			got, ok, err := replicate.FromEnv("app.db")
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, r, got)
			assert.Equal(t, r.SecretNames(), secrets)
		})
	}
}

func TestEnvLeavesTheOperatorsViewAndCredentialsBehind(t *testing.T) {
	r := replicate.Replica{DB: "/data/app.db", S3: &replicate.S3{Bucket: "acme-app",
		Endpoint: "http://10.0.0.1:9000", OperatorEndpoint: "http://127.0.0.1:9000", Secrets: secretSource{}}}
	clear, _ := r.Env("app.db")
	assert.Equal(t, "http://10.0.0.1:9000", clear["SLIPWAY_REPLICA_APP_DB_ENDPOINT"], "the hosts' view")
	for k, v := range clear {
		assert.NotContains(t, v, "127.0.0.1", k)
	}
}

type secretSource struct{}

func (secretSource) Secret(_ context.Context, name string) (string, error) {
	return "", errors.New("no " + name)
}

func TestFromEnv(t *testing.T) {
	t.Run("no replica in the environment means none", func(t *testing.T) {
		t.Setenv("SLIPWAY_REPLICA_OTHER_DB_DB", "/data/other.db")
		_, ok, err := replicate.FromEnv("app.db")
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("malformed values are errors naming the variable", func(t *testing.T) {
		t.Setenv("SLIPWAY_REPLICA_APP_DB_DB", "/data/app.db")
		t.Setenv("SLIPWAY_REPLICA_APP_DB_BUCKET", "acme-app")
		t.Setenv("SLIPWAY_REPLICA_APP_DB_SYNC_INTERVAL", "soon")
		t.Setenv("SLIPWAY_REPLICA_APP_DB_VIRTUAL_HOSTED", "yes")
		_, ok, err := replicate.FromEnv("app.db")
		require.Error(t, err)
		assert.False(t, ok)
		assert.Contains(t, err.Error(), `SLIPWAY_REPLICA_APP_DB_SYNC_INTERVAL: "soon" is not a duration`)
		assert.Contains(t, err.Error(), `SLIPWAY_REPLICA_APP_DB_VIRTUAL_HOSTED: "yes"`)
	})
	t.Run("a replica S3 would refuse is an error", func(t *testing.T) {
		t.Setenv("SLIPWAY_REPLICA_APP_DB_DB", "/data/app.db")
		t.Setenv("SLIPWAY_REPLICA_APP_DB_BUCKET", "pb")
		_, _, err := replicate.FromEnv("app.db")
		assert.ErrorContains(t, err, "s3.bucket")
	})
	t.Run("names are upper case with underscores", func(t *testing.T) {
		assert.Equal(t, "SLIPWAY_REPLICA_MY_APP_SQLITE3_", replicate.EnvPrefix("my-app.sqlite3"))
	})
}
