package replicate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sidecarOn runs Slipway's sidecar program in a container on host h,
// replicating the database in dataDir (bind-mounted at /data) to r as h
// reaches the lab's S3 server; it is removed when the test ends.
func sidecarOn(t *testing.T, ctx context.Context, h lab.Host, s3 *lab.S3, r replicate.Replica, dataDir, name string, args ...string) (*engine.Engine, string) {
	t.Helper()
	inContainer := r
	s := *r.S3
	s.Endpoint = s3.HostEndpoint(h)
	inContainer.S3, inContainer.DB = &s, "/data/"+filepath.Base(r.DB)
	sc, err := replicate.NewSidecar("lease", "", nil, inContainer)
	require.NoError(t, err)
	cfg := filepath.Join(t.TempDir(), "litestream.yml")
	require.NoError(t, os.WriteFile(cfg, sc.Config, 0o644))
	e := h.Engine(t)
	_, err = e.Create(ctx, engine.ContainerSpec{
		Name: name, Image: sc.Image, Cmd: append(sc.Cmd, args...), Env: s3.Env(), Restart: "no",
		Volumes: []string{dataDir + ":/data", cfg + ":" + sc.ConfigPath + ":ro"},
		Labels:  map[string]string{"slipway.test": "lease"},
	})
	require.NoError(t, err)
	t.Cleanup(func() { e.Remove(context.Background(), name, true) })
	require.NoError(t, e.Start(ctx, name))
	return e, name
}

// runOn runs the sidecar image's restore command on h to its exit and returns
// its exit code and output.
func runOn(t *testing.T, ctx context.Context, h lab.Host, s3 *lab.S3, r replicate.Replica, dataDir, name string) (int, string) {
	t.Helper()
	inContainer := r
	s := *r.S3
	s.Endpoint = s3.HostEndpoint(h)
	inContainer.S3, inContainer.DB = &s, "/data/"+filepath.Base(r.DB)
	sc, err := replicate.NewSidecar("lease", "", nil, inContainer)
	require.NoError(t, err)
	cfg := filepath.Join(t.TempDir(), "litestream.yml")
	require.NoError(t, os.WriteFile(cfg, sc.Config, 0o644))
	e := h.Engine(t)
	_, err = e.Create(ctx, engine.ContainerSpec{
		Name: name, Image: sc.Image, Cmd: sc.RestoreCmd(inContainer), Env: s3.Env(), Restart: "no",
		Volumes: []string{dataDir + ":/data", cfg + ":" + sc.ConfigPath + ":ro"},
	})
	require.NoError(t, err)
	defer e.Remove(context.Background(), name, true)
	require.NoError(t, e.Start(ctx, name))
	var c engine.Container
	require.Eventually(t, func() bool {
		c, err = e.Inspect(ctx, name)
		return err == nil && !c.Running() && c.State != engine.StateCreated
	}, time.Minute, 100*time.Millisecond)
	return c.ExitCode, logsOf(ctx, e, name)
}

func logsOf(ctx context.Context, e *engine.Engine, name string) string {
	var out strings.Builder
	e.Logs(ctx, name, engine.LogOptions{}, &out, &out)
	return out.String()
}

// TestSidecarRefusesASecondReplicator is the case: a sidecar on a
// second host replicating its own copy of the database to the same
// replica path is refused, naming the first sidecar, and writes nothing;
// the first one stops cleanly on SIGTERM, releasing the lease, and the
// replica restores whole.
func TestSidecarRefusesASecondReplicator(t *testing.T) {
	l := lab.Require(t, 2)
	s3 := lab.RequireS3(t)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	lab.RequireSidecarImage(t, []lab.Host{h1, h2})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stamp := fmt.Sprintf("%d", rand.Uint32()%1000000)

	dirA, dirB := t.TempDir(), t.TempDir()
	r := labReplica(t, s3, filepath.Join(dirA, "app.db"))
	root := filepath.Join(s3.Dir, r.S3.Bucket, "app.db")
	db := newDB(t, r.DB, 30)
	newDB(t, filepath.Join(dirB, "app.db"), 3) // the second host's own copy

	e1, first := sidecarOn(t, ctx, h1, s3, r, dirA, "lease-sidecar-a-"+stamp)
	require.Eventually(t, func() bool {
		return strings.Contains(logsOf(ctx, e1, first), "lease acquired")
	}, 30*time.Second, 200*time.Millisecond, "the first sidecar takes the lease")
	c1, err := e1.Inspect(ctx, first)
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := replicate.Verify(ctx, r, time.Minute); return err == nil }, 20*time.Second, 200*time.Millisecond)

	before := replicaFiles(t, root)
	e2, second := sidecarOn(t, ctx, h2, s3, r, dirB, "lease-sidecar-b-"+stamp, "-lease-wait", "2s")
	var c2 engine.Container
	require.Eventually(t, func() bool {
		c2, err = e2.Inspect(ctx, second)
		return err == nil && !c2.Running() && c2.State != engine.StateCreated
	}, 30*time.Second, 200*time.Millisecond, "the second sidecar gives up")
	logs := logsOf(ctx, e2, second)
	t.Logf("second sidecar on %s:\n%s", h2.Name, logs)
	assert.Equal(t, 1, c2.ExitCode)
	assert.Contains(t, logs, "replica lease held by another replicator")
	assert.Contains(t, logs, "slipway-litestream in container "+c1.ID[:12], "it names the holder's container")
	assert.NotContains(t, logs, s3.SecretAccessKey)
	assert.Equal(t, before, replicaFiles(t, root), "the refused sidecar wrote nothing to the replica")

	_, err = db.Exec("INSERT INTO items (name) VALUES ('while the second was refused')")
	require.NoError(t, err)
	require.NoError(t, e1.Stop(ctx, first, 20*time.Second))
	c1, err = e1.Inspect(ctx, first)
	require.NoError(t, err)
	logs = logsOf(ctx, e1, first)
	t.Logf("first sidecar on %s:\n%s", h1.Name, logs)
	assert.Equal(t, 0, c1.ExitCode, "SIGTERM: final sync, lease released, clean exit")
	assert.Contains(t, logs, "lease released")
	assert.NoFileExists(t, filepath.Join(root, replicate.LeaseFile))
	out := filepath.Join(t.TempDir(), "restored.db")
	_, err = replicate.Restore(ctx, r, out, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, int64(31), countItems(t, out), "integrity_check ok and every row of the first host's database")

	t.Run("the sidecar image restores on boot with Sidecar.RestoreCmd", func(t *testing.T) {
		empty := t.TempDir()
		code, logs := runOn(t, ctx, h2, s3, r, empty, "lease-restore-"+stamp)
		require.Equal(t, 0, code, logs)
		t.Logf("restore: %s", logs)
		assert.Equal(t, int64(31), countItems(t, filepath.Join(empty, "app.db")))
		code, logs = runOn(t, ctx, h2, s3, r, empty, "lease-restore2-"+stamp)
		require.Equal(t, 0, code, logs)
		assert.Contains(t, logs, "exists, nothing restored")
	})
}
