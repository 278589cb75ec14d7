// Package replicate keeps SQLite databases safe with Litestream (v0.5):
// replicas as values (a database path and an S3 or local-directory
// target), a rendered litestream.yml and a sidecar spec for apps in any
// language, in-process replication and restore on boot for Go apps,
// freshness checks (Verify, daily, and CompareLive against the live
// database) and timed restore drills (Drill, weekly and monthly) that
// record RTO and RPO in a drill log.
//
// # One replicator per replica
//
// Two processes replicating to one replica path fork it, and a restore
// then mixes both histories. So every replicator Slipway starts holds the
// replica's lease: Start (and the sidecar program
// replicate/cmd/slipway-litestream, which DefaultImage runs and which
// replicates through the same code) takes LeaseFile beside the replica
// before it writes anything, renews it every third of DefaultLeaseTTL,
// and releases it on Close. On S3 the lease is Litestream's s3.Leaser, a
// lock.json written with If-None-Match/If-Match; right after taking it,
// Start proves the server honours those conditions and refuses with
// ErrNoConditionalWrites where it does not (Replica.Unguarded opts out,
// with a warning on every start). A local-directory replica is guarded by
// a lock file created with O_EXCL that holds the owner and the expiry.
//
// A second replicator waits up to StartOptions.LeaseWait
// (DefaultLeaseWait: enough for a deploy's handoff and for a crashed
// holder's lease to expire), then fails with a *LeaseHeldError
// (ErrLeaseHeld) naming the holder and when its lease expires, having
// written nothing to the replica. Every write and delete of the replica
// passes a guard that requires the lease; a replicator whose renewal
// fails stops, and Status, Lag and Sync report ErrLeaseLost.
//
// So an app that replicates in-process cannot deploy start-first: the
// new container's Start waits for the old container's lease. Its role
// deploys by handoff (the old container stops, its Close ships the last
// changes and releases the lease, then the new one starts and takes it
// at once).
//
// Replication reports its health: StartOptions.Logger receives
// Litestream's log and the lease's events, Status has the last successful
// sync, the last error, the positions and the lease, and Lag feeds
// up.Replication (package health/up) in the app's /up handler.
//
// Credentials are never values in this package's output: a Replica names
// the secrets that hold them (LITESTREAM_ACCESS_KEY_ID and
// LITESTREAM_SECRET_ACCESS_KEY by default), the rendered litestream.yml
// refers to them as ${VAR}, and errors and reports name targets as
// s3://bucket/path.
//
// Litestream v0.5.18's S3 client cannot load AWS_CA_BUNDLE. When the
// bundle holds only CAs the system already trusts, this package sets the
// variable aside (it removes it from the process environment) and goes
// on; any other bundle is refused with ErrCABundle and what to do.
//
// Embedded replication uses modernc.org/sqlite, as Litestream does; an
// app that replicates in-process must open its database with that driver.
//
// # Checks, drills and recovery
//
// Backups are only real if a restore works, so the package checks them
// at three cadences, each with one default:
//
//   - Daily, Verify: the replica's newest position must be younger than
//     DefaultMaxAge (a day) and, with the live database's position read
//     on its host (ReadLive), CompareLive must find it within
//     DefaultMaxLag of the host's newest write.
//   - Weekly, Drill: restore into a temporary place, CheckIntegrity, run
//     the critical Queries, record RTO and the data at risk (MeasureRisk)
//     in the drill log (AppendDrillLog, ReadDrillLog, PrintDrills).
//     deploy.Session.DrillOnHost runs the same drill on a host, through
//     the drill program (DrillPackage, DrillSpec).
//   - Monthly, deploy.Session.DrillApp boots the whole app on a restored
//     copy.
//
// CheckIntegrity is Slipway's one PRAGMA integrity_check: drills and
// deploy.Session.Recover run it on what they restored before anything
// trusts it, and ContinuationSeed gives a recovered database the
// Litestream state that lets replication continue the replica.
//
// # Example
//
// A Go app restores on boot, then replicates while it serves:
//
//	r := replicate.Replica{
//		DB: "/data/app.db",
//		S3: &replicate.S3{Bucket: "app-litestream", Endpoint: "https://s3.example.com"},
//	}
//	if _, err := replicate.RestoreIfMissing(ctx, r); err != nil {
//		log.Fatal(err)
//	}
//	rep, err := replicate.StartWith(ctx, r, replicate.StartOptions{Logger: logger}) // before the app writes
//	if err != nil {
//		log.Fatal(err) // errors.Is(err, replicate.ErrLeaseHeld): another replicator runs
//	}
//	defer rep.Close(context.Background()) // ships the last changes, releases the lease
//	health := up.NewHandler(up.SQLite(r.DB), up.Replication(rep, 0))
//
// A weekly drill from a Mage target restores into a temporary place and
// checks it:
//
//	report, err := replicate.Drill(ctx, r, replicate.DrillOptions{
//		Queries: []replicate.Query{{Name: "users", SQL: "SELECT id FROM users", MinRows: 1}},
//		Log:     "drills.jsonl",
//	})
//	replicate.PrintDrills(os.Stdout, report)
//
// The daily check fails when nothing arrived for a day (DefaultMaxAge):
//
//	if _, err := replicate.Verify(ctx, r, 0); errors.Is(err, replicate.ErrStale) { ... } // 0: DefaultMaxAge
//
// and, with the database's live position read on its host
// (deploy.Session.VerifyDatabases runs ReadLive there), when writes on
// the host are not reaching the replica:
//
//	if _, err := replicate.CompareLive(freshness, live, 0); errors.Is(err, replicate.ErrBehind) { ... } // 0: DefaultMaxLag
package replicate
