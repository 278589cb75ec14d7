package up_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/slipwayhq/slipway/health/up"
)

// lagging is a Replicator whose changes have waited a minute; an app
// passes its *replicate.Replication instead.
type lagging struct{}

func (lagging) Lag() (time.Duration, error) { return time.Minute, nil }

// The app's /up reports replication: here the replica trails by more
// than the allowed lag, so /up answers 503 naming the check.
func ExampleReplication() {
	h := up.NewHandler(up.Replication(lagging{}, 30*time.Second))
	defer h.Close()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/up", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 503 unhealthy: replication
}
