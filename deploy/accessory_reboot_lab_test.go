package deploy_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
)

// TestSidecarImageChangeRebootsItAndLosesNoWrite: the Litestream
// sidecar of a Database replicated by sidecar gets a new image (the
// lab's sidecar image retagged); the next deploy of the same version
// reboots it, and only it, saying why in the plan. The app keeps writing
// its SQLite database all through the reboot (a writer beside the app,
// on the host's volume, as the app would) and keeps serving through
// kamal-proxy. Afterwards the replica is in step with the live database
// and a restore of it holds every acknowledged write.
func TestSidecarImageChangeRebootsItAndLosesNoWrite(t *testing.T) {
	l := lab.Require(t, 1)
	service := fmt.Sprintf("accessory-%d", rand.Uint32()%1_000_000) // this helper's prefix
	// Registered before CleanupService, so it runs after the containers
	// that mount the volume are gone.
	t.Cleanup(func() { removeVolume(l.Hosts[0], service+"-data") })
	lab.CleanupService(t, l.Hosts[:1], service)
	a := testApp(service, l.Hosts[:1])
	h := l.Hosts[0]
	s3 := lab.RequireS3(t)
	lab.RequireSidecarImage(t, []lab.Host{h})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	t.Setenv(replicate.DefaultAccessKeyIDVar, s3.AccessKeyID)
	t.Setenv(replicate.DefaultSecretAccessKeyVar, s3.SecretAccessKey)

	// Two tags of the lab's sidecar image: the "old" and the "new" one.
	e := h.Engine(t)
	repo := "slipway/" + a.Service + "-litestream"
	oldImage, newImage := repo+":a", repo+":b"
	for _, tag := range []string{oldImage, newImage} {
		require.NoError(t, e.ImageTag(ctx, replicate.DefaultImage, tag))
	}
	t.Cleanup(func() { removeImages(t, l, repo) })

	volume := a.Service + "-data"
	require.NoError(t, e.VolumeEnsure(ctx, volume, map[string]string{"slipway.service": a.Service}))
	dir, err := e.VolumeMountpoint(ctx, volume)
	require.NoError(t, err)
	r := replicate.Replica{DB: "/data/app.db", S3: &replicate.S3{Bucket: s3.Bucket(t, "accessory-reboot"), Endpoint: s3.HostEndpoint(h)}}
	a.Volumes = []string{volume + ":/data"}
	a.Databases = []deploy.Database{{Path: "/data/app.db", Replica: &r, Replication: deploy.ReplicateSidecar, SidecarImage: oldImage}}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec("CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT)")
	require.NoError(t, err)

	var out syncBuffer
	s := connect(t, a, &out)
	_, err = s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	sidecar := deploy.AccessoryName(a, deploy.SidecarAccessoryName("web"))
	first, err := e.Inspect(ctx, sidecar)
	require.NoError(t, err)
	require.Equal(t, oldImage, first.Image)
	require.Contains(t, first.Labels[deploy.LabelFingerprint], "image=", "the sidecar carries its fingerprint")

	// The writer: bounded in count and time, every acknowledged id kept.
	var (
		mu    sync.Mutex
		acked []int64
		werr  error
	)
	stop := make(chan struct{})
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		deadline := time.Now().Add(90 * time.Second)
		for i := 0; i < 4000 && time.Now().Before(deadline); i++ {
			select {
			case <-stop:
				return
			default:
			}
			res, err := db.Exec("INSERT INTO items (note) VALUES (?)", fmt.Sprintf("row %d", i))
			if err != nil {
				mu.Lock()
				werr = err
				mu.Unlock()
				return
			}
			id, _ := res.LastInsertId()
			mu.Lock()
			acked = append(acked, id)
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	ld := startLoad([]string{h.Addr}, a.Service+".test", 2, 20_000, 60*time.Second)

	// The new image: the plan says the sidecar is rebooted, and why.
	a.Databases[0].SidecarImage = newImage
	s2 := connect(t, a, &out)
	state, err := s2.Observe(ctx)
	require.NoError(t, err)
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
	require.NoError(t, err)
	t.Logf("plan:\n%s", plan)
	assert.Contains(t, plan.String(), "reboot accessory "+sidecar+" ("+newImage+"): image changed")
	assert.Empty(t, plan.Batches[0].Steps, "the app's container is not touched")

	time.Sleep(time.Second) // writes before the reboot
	rebootStart := time.Now()
	rep, err := s2.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	rebootTook := time.Since(rebootStart)
	var rebooted bool
	for _, res := range rep.Steps {
		rebooted = rebooted || res.Step.Kind == deploy.StepRebootAccessory && res.Err == nil
	}
	assert.True(t, rebooted, out.String())
	time.Sleep(2 * time.Second) // writes after it
	close(stop)
	<-writing
	hits := ld.finish()
	mu.Lock()
	require.NoError(t, werr, "the app's writes never failed")
	ids := append([]int64(nil), acked...)
	mu.Unlock()
	failed := failures(hits)
	t.Logf("sidecar reboot: deploy %s; %d writes acknowledged; %d requests, %d failed", rebootTook.Round(time.Millisecond), len(ids), len(hits), len(failed))
	assert.Empty(t, failed, "the app kept serving")
	require.Greater(t, len(ids), 100)

	second, err := e.Inspect(ctx, sidecar)
	require.NoError(t, err)
	assert.Equal(t, newImage, second.Image, "the sidecar runs the new image")
	assert.True(t, second.Running())
	assert.NotEqual(t, first.ID, second.ID)
	_, err = e.Inspect(ctx, sidecar+"-rebooting")
	assert.Error(t, err, "the old container is gone once the new one runs")
	assert.Contains(t, out.String(), "reboot-accessory")
	assert.Regexp(t, deploy.SidecarAccessoryName("web")+`\s+b\s+ok`, out.String(), "the summary shows the sidecar's own tag")

	// The new sidecar took the lease the old one released.
	var logs syncBuffer
	require.NoError(t, s2.AccessoryLogs(ctx, deploy.SidecarAccessoryName("web"), deploy.LogOptions{}, &logs))
	assert.Contains(t, logs.String(), "lease acquired")

	// In step with the live database, and restorable with every write.
	var found []deploy.DatabaseFreshness
	require.Eventually(t, func() bool {
		found, err = s2.VerifyDatabases(ctx, time.Hour, 3*time.Second)
		return err == nil
	}, 30*time.Second, 500*time.Millisecond, "the new sidecar caught up with the WAL: %v", err)
	t.Logf("replica: %s", found[0])
	// Replication is asynchronous (Litestream syncs every second): the
	// last writes reach the replica a moment after the writer stops. So
	// restore until every acknowledged write is there, for at most 30 s;
	// one that never arrives was lost.
	var have map[int64]bool
	var lost []int64
	restoreOnce := func() {
		restored := filepath.Join(t.TempDir(), "restored.db")
		_, err := replicate.Restore(ctx, r, restored, time.Time{})
		require.NoError(t, err)
		require.NoError(t, replicate.CheckIntegrity(ctx, restored))
		rdb, err := sql.Open("sqlite", "file:"+restored+"?mode=ro")
		require.NoError(t, err)
		defer rdb.Close()
		have = map[int64]bool{}
		rows, err := rdb.Query("SELECT id FROM items")
		require.NoError(t, err)
		for rows.Next() {
			var id int64
			require.NoError(t, rows.Scan(&id))
			have[id] = true
		}
		require.NoError(t, rows.Err())
		lost = lost[:0]
		for _, id := range ids {
			if !have[id] {
				lost = append(lost, id)
			}
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if restoreOnce(); len(lost) == 0 || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("restore: %d rows, %d acknowledged writes lost", len(have), len(lost))
	assert.Empty(t, lost, "every acknowledged write is in the restore")
	assert.NotContains(t, out.String(), s3.SecretAccessKey)
	assert.NotContains(t, logs.String(), s3.SecretAccessKey)
	assert.False(t, strings.Contains(second.Labels[deploy.LabelFingerprint], s3.SecretAccessKey))
	t.Logf("session output:\n%s", out.String())
}
