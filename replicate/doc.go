// Package replicate keeps SQLite databases safe with Litestream (v0.5):
// replicas as values (a database path and an S3 or local-directory
// target), a rendered litestream.yml and a sidecar spec for apps in any
// language, in-process replication and restore on boot for Go apps,
// freshness checks (Verify, daily) and timed restore drills (Drill,
// weekly and monthly) that record RTO and RPO in a drill log.
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
//	rep, err := replicate.Start(ctx, r) // before the app writes
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer rep.Close(context.Background())
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
// The daily check fails when nothing arrived for a day:
//
//	if _, err := replicate.Verify(ctx, r, 24*time.Hour); errors.Is(err, replicate.ErrStale) { ... }
package replicate
