package replicate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/slipwayhq/slipway/replicate"
)

// A replica renders as the litestream.yml a sidecar or the CLI reads; the
// credentials stay references.
func ExampleConfig() {
	yml, err := replicate.Config(replicate.Replica{
		DB: "/data/app.db",
		S3: &replicate.S3{Bucket: "app-litestream", Endpoint: "https://s3.example.com"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(yml))
	// Output:
	// # litestream.yml rendered by Slipway (Litestream v0.5).
	// # Credentials are ${VAR} references Litestream expands from its environment.
	// snapshot:
	//   interval: 24h
	//   retention: 24h
	// dbs:
	//   - path: /data/app.db
	//     replica:
	//       type: s3
	//       bucket: app-litestream
	//       path: app.db
	//       region: us-east-1
	//       endpoint: "https://s3.example.com"
	//       force-path-style: true
	//       access-key-id: ${LITESTREAM_ACCESS_KEY_ID}
	//       secret-access-key: ${LITESTREAM_SECRET_ACCESS_KEY}
	//       sync-interval: 1s
}

// The sidecar spec is what the deploy layer runs next to the app.
func ExampleNewSidecar() {
	r := replicate.Replica{DB: "/data/app.db", S3: &replicate.S3{Bucket: "app-litestream"}}
	s, err := replicate.NewSidecar("hello", "", []string{"hello-data:/data"}, r)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Name, s.Image)
	fmt.Println(s.Cmd)
	fmt.Println(s.Volumes, s.Secrets)
	fmt.Println(s.RestoreCmd(r))
	// Output:
	// hello-litestream slipway/litestream:v0.5.18
	// [replicate -config /etc/litestream.yml]
	// [hello-data:/data] [LITESTREAM_ACCESS_KEY_ID LITESTREAM_SECRET_ACCESS_KEY]
	// [restore -config /etc/litestream.yml -if-db-not-exists -if-replica-exists /data/app.db]
}

// Development replicas go to a local directory; restore on boot, start
// replicating, then drill the replica.
func ExampleDrill() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	r := replicate.Replica{DB: filepath.Join(dir, "app.db")} // replica in app.db-replica

	restored, _ := replicate.RestoreIfMissing(ctx, r) // first boot: nothing to restore
	fmt.Println("restored:", restored)
	db := openApp(r.DB)
	rep, err := replicate.Start(ctx, r)
	if err != nil {
		fmt.Println(err)
		return
	}
	db.Exec("CREATE TABLE users (id INTEGER PRIMARY KEY)")
	db.Exec("INSERT INTO users DEFAULT VALUES")
	rep.Close(ctx)
	db.Close()

	report, err := replicate.Drill(ctx, r, replicate.DrillOptions{
		Queries: []replicate.Query{{Name: "users", SQL: "SELECT id FROM users", MinRows: 1, MaxRows: 1}},
	})
	fmt.Println(report.Passed, report.Integrity, err)
	f, err := replicate.Verify(ctx, r, time.Hour)
	fmt.Println(f.Newest.TXID > 0, err)
	// Output:
	// restored: false
	// true ok <nil>
	// true <nil>
}
