package up_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/slipwayhq/slipway/health/up"
)

// An app serves /up from a Handler; here one check fails.
func ExampleHandler() {
	h := up.NewHandler(
		up.Func("db", func(ctx context.Context) error { return nil }),
		up.Func("queue", func(ctx context.Context) error { return errors.New("not connected") }),
	)
	defer h.Close()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/up", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 503 unhealthy: queue
}

// Detail adds each failed check's error to the 503 body, for an /up that
// only the deploy's gate reaches.
func ExampleHandler_detail() {
	h := &up.Handler{Detail: true, Checks: []up.Check{
		up.Func("db", func(ctx context.Context) error { return nil }),
		up.Func("queue", func(ctx context.Context) error { return errors.New("dial 10.0.0.5:5672: connection refused") }),
	}}
	defer h.Close()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/up", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 503 unhealthy: queue
	// queue: dial 10.0.0.5:5672: connection refused
}

// Writable catches a full disk or a read-only mount of the data directory.
func ExampleWritable() {
	dir, err := os.MkdirTemp("", "data")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	fmt.Println(up.Writable(dir).Run(context.Background()))
	// Output: <nil>
}

// SQLite needs the app's SQLite driver registered (import _
// "modernc.org/sqlite", or mattn/ncruces go-sqlite3); up itself links none.
func ExampleSQLite() {
	h := up.NewHandler(up.SQLite("/data/app.db"), up.Writable("/data"))
	defer h.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /up", h)
	_ = http.ListenAndServe(":3000", mux)
}
