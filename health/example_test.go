package health_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/health"
)

// Validate reports every problem at once, each naming its field.
func ExampleHTTP_Validate() {
	g := health.HTTP{Path: "up", Status: health.StatusRange{Min: 500, Max: 200}, Interval: -time.Second}
	fmt.Println(g.Validate())
	// Output:
	// health.http.path: must start with "/", got "up"
	// health.http.status: min 500 is above max 200
	// health.http.interval: must not be negative, got -1s
}

// ValidateAt nests a gate's fields under the caller's path.
func ExampleHTTP_ValidateAt() {
	for _, err := range (health.HTTP{Path: "/u p"}).ValidateAt("roles.web.proxy.health") {
		fmt.Println(err)
	}
	// Output: roles.web.proxy.health.path: must not contain spaces or control characters, got "/u p"
}

// Wait polls a gate against a plain URL until it passes.
func ExampleWait() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	defer app.Close()

	res, err := health.Wait(context.Background(), health.HTTP{Path: "/up", Deadline: 10 * time.Second}, health.URL(app.URL))
	fmt.Println(err, res.Passed(), res.Attempts, res.Last[0].Status)
	// Output: <nil> true 1 200 OK
}

// A GateError is what a deploy reports when a release never gets healthy:
// the last attempts, the container's state and the end of its log.
func ExampleGateError() {
	res := health.Result{
		Gate: "http GET /up (200-399)", Target: "container app-web-v2:3000 on 203.0.113.10",
		Outcome: health.OutcomeDeadline, Attempts: 30, Elapsed: 30 * time.Second, Deadline: 30 * time.Second,
		Last: []health.Attempt{
			{Number: 29, At: 28 * time.Second, Latency: 2 * time.Millisecond, Status: "503 Service Unavailable", Code: 503,
				Body: "unhealthy: sqlite\n", Err: errors.New("status 503 is outside 200-399")},
			{Number: 30, At: 29 * time.Second, Latency: 2 * time.Millisecond, Status: "503 Service Unavailable", Code: 503,
				Body: "unhealthy: sqlite\n", Err: errors.New("status 503 is outside 200-399")},
		},
	}
	diag := health.Diagnostics{
		Container: "app-web-v2",
		State:     engine.Container{State: engine.StateRunning, RestartCount: 0},
		Logs:      []string{"listening on :3000", "health check failed check=sqlite err=\"database file: stat /data/app.db: no such file or directory\""},
	}
	fmt.Println(&health.GateError{Result: res, Diagnostics: diag})
	// Output:
	// http GET /up (200-399) on container app-web-v2:3000 on 203.0.113.10: deadline 30s reached after 30 attempts
	// last 2 attempts:
	//   #29 +28s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite\n"
	//   #30 +29s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite\n"
	// container app-web-v2: running, 0 restarts
	// last 2 lines of the log:
	//   | listening on :3000
	//   | health check failed check=sqlite err="database file: stat /data/app.db: no such file or directory"
}
