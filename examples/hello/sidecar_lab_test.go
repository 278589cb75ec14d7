package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
)

// sidecarApp is hello replicated by a Litestream sidecar instead of the
// embedded library, declared so in App.Databases: Slipway derives the
// sidecar accessory (service-litestream-web), and hello gets no replica.
func sidecarApp(t testing.TB) (deploy.App, replicate.Replica, lab.Host) {
	app, r, h := recoveryApp(t)
	lab.RequireLitestreamImage(t, []lab.Host{h})
	app.Databases[0].Replication = deploy.ReplicateSidecar
	return app, r, h
}

func TestSidecarReplicatesTheAppsDatabase(t *testing.T) {
	app, replica, h := sidecarApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, out := deployed(t, ctx, app, "s1")

	v := &visits{}
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 25, 10*time.Second)
	require.Equal(t, 25, v.ok)

	// The sidecar ships the writes: the replica is fresh, and a drill of
	// it holds all 25 visits.
	require.Eventually(t, func() bool {
		_, err := replicate.Verify(ctx, replica, 30*time.Second)
		return err == nil
	}, 20*time.Second, 500*time.Millisecond, "the sidecar replicated the database")
	awaitReplicated(t, ctx, h, app, replica)
	rep, err := replicate.Drill(ctx, replica, replicate.DrillOptions{Queries: []replicate.Query{
		{Name: "all visits", SQL: "SELECT id FROM visits", MinRows: 25, MaxRows: 25}}})
	require.NoError(t, err)
	assert.True(t, rep.Passed)
	assert.NotContains(t, out.String(), lab.RequireS3(t).SecretAccessKey, "no secret in the deploy output")
}

// awaitReplicated waits until the replica holds every commit of the
// database on the host: its Litestream state shows nothing at risk (no
// commit unshipped, no WAL untaken), twice in a row.
func awaitReplicated(t *testing.T, ctx context.Context, h lab.Host, app deploy.App, replica replicate.Replica) replicate.Risk {
	t.Helper()
	var risk, last replicate.Risk
	require.Eventually(t, func() bool {
		f, err := replicate.Verify(ctx, replica, time.Hour)
		if err != nil {
			return false
		}
		prev := last
		risk, err = replicate.LocalRisk(hostDB(t, h, app), f.Newest.TXID, time.Now())
		last = risk
		return err == nil && risk.Commits == 0 && risk.PendingWAL == 0 && prev.PrimaryTXID == risk.PrimaryTXID && prev.PrimaryTXID > 0
	}, 45*time.Second, 1500*time.Millisecond, "every commit on the host reaches the replica (last: %+v)", last)
	return risk
}

// awaitRestorable waits until a restore of the replica answers every
// query within its bounds: all the writes they count were replicated.
func awaitRestorable(t testing.TB, ctx context.Context, replica replicate.Replica, queries ...replicate.Query) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, err := replicate.Drill(ctx, replica, replicate.DrillOptions{Queries: queries})
		return err == nil
	}, 90*time.Second, 2*time.Second, "the replica holds every write")
}

// Recover with the sidecar running: the sidecar is stopped with the app,
// so nothing holds the damaged file; the restore happens before the
// downtime; afterwards the sidecar replicates the restored database from
// where the replica stood, and a restore of the replica holds every
// acknowledged visit and the ones after the recovery.
func TestRecoverWithTheSidecarRunning(t *testing.T) {
	app, replica, h := sidecarApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, out := deployed(t, ctx, app, "rs1")
	sidecar := deploy.AccessoryName(app, deploy.SidecarAccessoryName("web"))

	v := &visits{}
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 30, 10*time.Second)
	require.Equal(t, 30, v.ok)
	ballast(t, hostDB(t, h, app), 128) // a database big enough that its restore takes a while
	awaitRestorable(t, ctx, replica,
		replicate.Query{Name: "acknowledged visits", SQL: "SELECT id FROM visits", MinRows: 30, MaxRows: 30},
		replicate.Query{Name: "ballast", SQL: "SELECT rowid FROM ballast", MinRows: 128 / 8 * 128, MaxRows: 128 / 8 * 128})

	damage(t, hostDB(t, h, app))
	rep, err := s.Recover(ctx, deploy.Recovery{}) // the database, replica and host from App.Databases
	require.NoError(t, err, out.String())
	t.Logf("recovery output:\n%s", out.String())
	t.Logf("recovery: %s in all; restore and integrity check %s (before the downtime); downtime %s; replica continued at txid %d (restored %d)",
		rep.Duration.Round(time.Millisecond), rep.Restore.Round(time.Millisecond), rep.Downtime.Round(time.Millisecond), rep.Continued.TXID, rep.Restored.TXID)
	assert.Contains(t, out.String(), "downtime", "the maintenance window is printed")
	// The restore is not in the downtime: it ran before the first step
	// that takes the app down, and no second restore ran inside it (the
	// replica held every write when the app stopped). The figures are
	// printed side by side above; they are not asserted, being timings.
	firstDown := slices.IndexFunc(rep.Plan.Steps, func(st deploy.RecoveryStep) bool { return st.Name == "maintenance" })
	restoreAt := slices.IndexFunc(rep.Plan.Steps, func(st deploy.RecoveryStep) bool { return st.Name == "restore" })
	assert.Less(t, restoreAt, firstDown, "the restore comes before the maintenance window")
	assert.False(t, rep.CaughtUp, "no restore ran inside the downtime")
	t.Logf("downtime %s against the restore's %s: %.2fx", rep.Downtime.Round(time.Millisecond), rep.Restore.Round(time.Millisecond), rep.Downtime.Seconds()/rep.Restore.Seconds())
	assert.Greater(t, rep.Continued.TXID, rep.Restored.TXID, "the replica moved on from the restored position")
	for _, st := range rep.Plan.Steps {
		if st.Name == "stop-accessory" {
			assert.Equal(t, sidecar, st.Container)
		}
	}
	c, err := h.Engine(t).Inspect(ctx, sidecar)
	require.NoError(t, err)
	assert.True(t, c.Running(), "the sidecar runs again")
	assert.FileExists(t, rep.Aside, "the damaged database is kept")
	assert.DirExists(t, strings.Replace(rep.Aside, "hello.db.", ".hello.db-litestream.", 1), "and its old replication state")

	// Every acknowledged visit is back, and the next ones replicate.
	after := &visits{}
	after.loop("http://"+h.Addr+"/", app.Service+".test", nil, 10, 10*time.Second)
	require.Equal(t, 10, after.ok, after.failures)
	assert.Equal(t, 40, after.newestSeen(), "visits 1..30 were back, so the next ten are 31..40")
	risk := awaitReplicated(t, ctx, h, app, replica)
	logs, err := h.Engine(t).Tail(ctx, sidecar, 50)
	require.NoError(t, err)
	t.Logf("sidecar's last log lines:\n%s", strings.Join(logs, "\n"))
	for _, l := range logs {
		assert.NotContains(t, l, "cannot verify wal state")
	}
	t.Logf("after the recovery and ten visits: %+v", risk)
	drill, err := replicate.Drill(ctx, replica, replicate.DrillOptions{Queries: []replicate.Query{
		{Name: "every visit", SQL: "SELECT id FROM visits", MinRows: 40, MaxRows: 40}}})
	require.NoError(t, err, "the replica restores cleanly after the recovery")
	assert.Equal(t, "ok", drill.Integrity)
}

// BenchmarkRecoverWithSidecar recovers a 128 MiB database replicated by
// a sidecar and reports, side by side, the restore (kept before the
// downtime) and the downtime itself (the maintenance window).
//
//	go test -run '^$' -bench RecoverWithSidecar -benchtime 3x ./examples/hello/
func BenchmarkRecoverWithSidecar(b *testing.B) {
	app, replica, h := sidecarApp(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, out := deployed(b, ctx, app, "bench1")
	ballast(b, hostDB(b, h, app), 128)
	awaitRestorable(b, ctx, replica, replicate.Query{Name: "ballast", SQL: "SELECT rowid FROM ballast", MinRows: 128 / 8 * 128})
	var restore, down time.Duration
	runs := 0
	for b.Loop() {
		rep, err := s.Recover(ctx, deploy.Recovery{Replica: replica})
		require.NoError(b, err, out.String())
		restore += rep.Restore
		down += rep.Downtime
		runs++
	}
	n := float64(runs)
	b.ReportMetric(restore.Seconds()/n, "restore-s/op")
	b.ReportMetric(down.Seconds()/n, "downtime-s/op")
	b.ReportMetric(down.Seconds()/restore.Seconds(), "downtime/restore")
}

// With the sidecar stopped while the app keeps writing, a drill reports
// those writes as data at risk (they are on the host, not in the
// replica), where the replica's age alone says nothing of them.
func TestDrillReportsTheDataAtRisk(t *testing.T) {
	app, replica, h := sidecarApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, out := deployed(t, ctx, app, "risk1")
	v := &visits{}
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 10, 10*time.Second)
	require.Equal(t, 10, v.ok)
	awaitReplicated(t, ctx, h, app, replica)
	sidecar := func() deploy.AccessoryDetails {
		d, err := s.Details(ctx)
		require.NoError(t, err)
		require.Len(t, d.Hosts[0].Accessories, 1, "details lists the sidecar:\n%s", d)
		t.Logf("details:\n%s", d)
		return d.Hosts[0].Accessories[0]
	}
	running := sidecar()
	assert.Equal(t, deploy.SidecarAccessoryName("web"), running.Name)
	assert.False(t, running.Failing(), "a replicating sidecar is well: %+v", running)

	require.NoError(t, h.Engine(t).Stop(ctx, deploy.AccessoryName(app, deploy.SidecarAccessoryName("web")), 10*time.Second), "the sidecar stops")
	stopped := time.Now()
	assert.True(t, sidecar().Failing(), "details shows the stopped sidecar as failing")
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 5, 10*time.Second)
	require.Equal(t, 15, v.ok, "the app keeps writing")

	// The host drill reads the host's state first, then builds and runs
	// its container (whose start is rep.Started): the risk is measured at
	// some moment after drillAt, so the RPO is at least drillAt-stopped.
	drillAt := time.Now()
	rep, err := s.DrillOnHost(ctx, h.Addr, replica, replicate.DrillOptions{Queries: []replicate.Query{
		{Name: "replicated visits", SQL: "SELECT id FROM visits", MinRows: 10, MaxRows: 10}}})
	require.NoError(t, err, out.String())
	t.Logf("drill with the sidecar stopped: data at risk %s (RPO %s), replica age %s", rep.Risk, rep.RPO, rep.Age)
	require.True(t, rep.PrimaryKnown, "the host's state was read")
	assert.Positive(t, rep.Risk.PendingWAL+int64(rep.Risk.Commits), "the five visits since are at risk")
	assert.Positive(t, rep.RPO)
	assert.GreaterOrEqual(t, rep.RPO, drillAt.Sub(stopped), "at least as old as the stop")
	var table strings.Builder
	require.NoError(t, replicate.PrintDrills(&table, rep))
	t.Logf("\n%s", table.String())
	assert.Contains(t, table.String(), "of WAL")
}
