package deploy_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
)

// TestVerifyDatabasesCatchesAStalledReplicator: with the sidecar
// replicating, VerifyDatabases passes; once the sidecar is stopped while
// the app keeps writing, it fails naming the gap, though the replica's
// newest object is young (the check the issue saw pass).
func TestVerifyDatabasesCatchesAStalledReplicator(t *testing.T) {
	a, l := labApp(t, 1)
	h := l.Hosts[0]
	s3 := lab.RequireS3(t)
	lab.RequireSidecarImage(t, []lab.Host{h})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Setenv(replicate.DefaultAccessKeyIDVar, s3.AccessKeyID)
	t.Setenv(replicate.DefaultSecretAccessKeyVar, s3.SecretAccessKey)

	// The database lives in a volume on the host; the lab host's engine
	// keeps its volumes on this machine's file system, so the test writes
	// the database there as the app would.
	e := h.Engine(t)
	volume := a.Service + "-data"
	require.NoError(t, e.VolumeEnsure(ctx, volume, map[string]string{"slipway.service": a.Service}))
	t.Cleanup(func() { e.VolumeRemove(context.Background(), volume, true) })
	dir, err := e.VolumeMountpoint(ctx, volume)
	require.NoError(t, err)
	r := replicate.Replica{DB: "/data/app.db", S3: &replicate.S3{Bucket: s3.Bucket(t, "lease-verify"), Endpoint: s3.HostEndpoint(h)}}
	a.Volumes = []string{volume + ":/data"}
	a.Databases = []deploy.Database{{Path: "/data/app.db", Replica: &r, Replication: deploy.ReplicateSidecar}}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
	require.NoError(t, err)
	write := func(n int) {
		for range n { // bounded: n commits, 20 ms apart
			_, err := db.Exec("INSERT INTO items (name) VALUES ('x')")
			require.NoError(t, err)
			time.Sleep(20 * time.Millisecond)
		}
	}

	sc, err := replicate.NewSidecar(a.Service, "", a.Volumes, r)
	require.NoError(t, err)
	cfg := filepath.Join(t.TempDir(), "litestream.yml")
	require.NoError(t, os.WriteFile(cfg, sc.Config, 0o644))
	_, err = e.Create(ctx, engine.ContainerSpec{
		Name: sc.Name, Image: sc.Image, Cmd: sc.Cmd, Env: s3.Env(), Restart: "no",
		Volumes: append(sc.Volumes, cfg+":"+sc.ConfigPath+":ro"),
		Labels:  map[string]string{"slipway.service": a.Service},
	})
	require.NoError(t, err)
	t.Cleanup(func() { e.Remove(context.Background(), sc.Name, true) })
	require.NoError(t, e.Start(ctx, sc.Name))

	var out syncBuffer
	s := connect(t, a, &out)
	write(50)
	var found []deploy.DatabaseFreshness
	require.Eventually(t, func() bool {
		found, err = s.VerifyDatabases(ctx, time.Hour, 3*time.Second)
		return err == nil
	}, 20*time.Second, 500*time.Millisecond, "the sidecar keeps the replica in step: %v", err)
	t.Logf("replicating: %s", found[0])
	assert.Equal(t, found[0].Freshness.Newest.TXID, found[0].Live.TXID)

	require.NoError(t, e.Stop(ctx, sc.Name, 10*time.Second))
	write(200) // about four seconds of writes the replica never gets
	found, err = s.VerifyDatabases(ctx, time.Hour, 3*time.Second)
	require.ErrorIs(t, err, replicate.ErrBehind)
	t.Logf("stalled: %v", err)
	assert.Contains(t, err.Error(), "no replicator captured those writes")
	assert.Contains(t, err.Error(), "txid")
	assert.Greater(t, found[0].Gap.Behind, 3*time.Second)
	_, err = replicate.Verify(ctx, r, time.Hour)
	assert.NoError(t, err, "the age check alone passes: the newest object is young")

	// A new sidecar resumes from the replica and brings it back in step;
	// then its local state is moved aside under it, as the issue's
	// recovery did, while the app keeps writing.
	_, err = e.Create(ctx, engine.ContainerSpec{
		Name: sc.Name + "-2", Image: sc.Image, Cmd: sc.Cmd, Env: s3.Env(), Restart: "no",
		Volumes: append(sc.Volumes, cfg+":"+sc.ConfigPath+":ro"),
		Labels:  map[string]string{"slipway.service": a.Service},
	})
	require.NoError(t, err)
	t.Cleanup(func() { e.Remove(context.Background(), sc.Name+"-2", true) })
	require.NoError(t, e.Start(ctx, sc.Name+"-2"))
	require.Eventually(t, func() bool {
		write(5)
		found, err = s.VerifyDatabases(ctx, time.Hour, 3*time.Second)
		return err == nil
	}, 30*time.Second, 500*time.Millisecond, "the new sidecar catches up: %v", err)
	t.Logf("resumed: %s", found[0])
	require.NoError(t, os.Rename(filepath.Join(dir, ".app.db-litestream"), filepath.Join(dir, ".app.db-litestream.aside")))
	write(200)
	found, err = s.VerifyDatabases(ctx, time.Hour, 3*time.Second)
	require.ErrorIs(t, err, replicate.ErrBehind)
	t.Logf("state moved aside: %v", err)
	assert.NotContains(t, out.String(), s3.SecretAccessKey)
	t.Logf("session output:\n%s", out.String())
}
