package replicate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDirLease: a local-directory replica is guarded by the lock file
// <dir>/lock.json, with the same rules as the S3 lease.
func TestDirLease(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := replicate.Replica{DB: filepath.Join(dir, "app.db"), Dir: filepath.Join(dir, "replica")}
	newDB(t, r.DB, 5)
	first, err := replicate.StartWith(ctx, r, replicate.StartOptions{Owner: "first", Logger: quiet()})
	require.NoError(t, err)
	require.NoError(t, first.Sync(ctx))

	_, err = replicate.StartWith(ctx, r, replicate.StartOptions{Owner: "second", LeaseWait: -1, Logger: quiet()})
	var held *replicate.LeaseHeldError
	require.True(t, errors.As(err, &held), "%v", err)
	assert.Equal(t, "first", held.Owner)

	require.NoError(t, first.Close(ctx))
	assert.NoFileExists(t, filepath.Join(r.Dir, replicate.LeaseFile))
	second, err := replicate.StartWith(ctx, r, replicate.StartOptions{Owner: "second", LeaseWait: -1, Logger: quiet()})
	require.NoError(t, err, "released: the next takes it at once")
	require.NoError(t, second.Close(ctx))

	t.Run("an expired lock of a crashed holder is taken over", func(t *testing.T) {
		lock, _ := json.Marshal(map[string]any{"generation": 7, "expires_at": time.Now().Add(-time.Second), "owner": "crashed", "token": "t"})
		require.NoError(t, os.WriteFile(filepath.Join(r.Dir, replicate.LeaseFile), lock, 0o644))
		rep, err := replicate.StartWith(ctx, r, replicate.StartOptions{LeaseWait: -1, Logger: quiet()})
		require.NoError(t, err)
		require.NoError(t, rep.Close(ctx))
	})
	t.Run("a live lock is waited for until it expires", func(t *testing.T) {
		lock, _ := json.Marshal(map[string]any{"generation": 1, "expires_at": time.Now().Add(700 * time.Millisecond), "owner": "stopping", "token": "t"})
		require.NoError(t, os.WriteFile(filepath.Join(r.Dir, replicate.LeaseFile), lock, 0o644))
		start := time.Now()
		rep, err := replicate.StartWith(ctx, r, replicate.StartOptions{LeaseWait: 5 * time.Second, Logger: quiet()})
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(start), 600*time.Millisecond)
		require.NoError(t, rep.Close(ctx))
	})
}

// logged collects log lines for assertions.
type logged struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logged) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logged) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestUnguardedWarns: Unguarded takes no lease and says what it risks on
// every start.
func TestUnguardedWarns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := replicate.Replica{DB: filepath.Join(dir, "app.db"), Dir: filepath.Join(dir, "replica"), Unguarded: true}
	newDB(t, r.DB, 1)
	for range 2 {
		var log logged
		rep, err := replicate.StartWith(ctx, r, replicate.StartOptions{Logger: slog.New(slog.NewTextHandler(&log, nil))})
		require.NoError(t, err)
		assert.Equal(t, replicate.LeaseUnguarded, rep.Status().Lease.State)
		require.NoError(t, rep.Close(ctx))
		assert.Contains(t, log.String(), "level=WARN msg=\"replicating UNGUARDED: no lease keeps a second replicator off this replica; two replicators on one path fork it")
		assert.NoFileExists(t, filepath.Join(r.Dir, replicate.LeaseFile))
	}
}

// ignoringS3 answers PutObject, GetObject and DeleteObject like an S3
// server that ignores If-None-Match and If-Match: a unit-test stand-in
// for the servers the lease cannot guard.
func ignoringS3(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	objects := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodPut:
			b, _ := io.ReadAll(r.Body)
			objects[r.URL.Path] = b
			w.Header().Set("ETag", `"`+strings.Repeat("a", 32)+`"`)
		case http.MethodGet:
			b, ok := objects[r.URL.Path]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>none</Message></Error>`)
				return
			}
			w.Header().Set("ETag", `"`+strings.Repeat("a", 32)+`"`)
			w.Write(b)
		case http.MethodDelete:
			delete(objects, r.URL.Path)
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRefusesAServerWithoutConditionalWrites(t *testing.T) {
	srv := ignoringS3(t)
	t.Setenv(replicate.DefaultAccessKeyIDVar, "id")
	t.Setenv(replicate.DefaultSecretAccessKeyVar, "not-a-real-secret")
	r := replicate.Replica{DB: filepath.Join(t.TempDir(), "app.db"), S3: &replicate.S3{Bucket: "bucket", Endpoint: srv.URL}}
	newDB(t, r.DB, 1)
	_, err := replicate.StartWith(context.Background(), r, replicate.StartOptions{Logger: quiet()})
	require.ErrorIs(t, err, replicate.ErrNoConditionalWrites)
	assert.ErrorContains(t, err, "set Replica.Unguarded to run without the lease")
	assert.NotContains(t, err.Error(), "not-a-real-secret")
	t.Logf("refused: %v", err)
}

func TestDefaultOwner(t *testing.T) {
	pid := fmt.Sprint(os.Getpid())
	t.Setenv("SLIPWAY_CONTAINER", "hello-web-v42")
	host, _ := os.Hostname()
	assert.Equal(t, "container hello-web-v42 ("+host+") pid "+pid, replicate.DefaultOwner())
	t.Setenv(replicate.OwnerEnv, "hello-litestream-web on 203.0.113.10")
	assert.Equal(t, "hello-litestream-web on 203.0.113.10 (pid "+pid+")", replicate.DefaultOwner())
}
